import { z } from "zod";
import { MAX_CONTROL, MAX_EXCEPTION_JUSTIFICATION } from "../../workflows/sod-exceptions.js";
import { REPORT_KINDS } from "../../workflows/sod-reports.js";
import { instantQuery } from "./common-schemas.js";

const person = z.object({ id: z.string(), name: z.string(), employeeId: z.string().nullable() });
const severity = z.enum(["high", "medium", "low"]);

export const sodItemSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("role"), role: z.string() }),
    z.object({ kind: z.literal("entitlement"), system: z.string(), entitlement: z.string() }),
  ])
  .meta({ id: "SodItem" });

export const sodExceptionSchema = z
  .object({
    id: z.string(),
    identityId: z.string(),
    rule: z.string(),
    violationId: z.string().nullable(),
    requestId: z.string().nullable(),
    control: z.string(),
    justification: z.string(),
    approvedBy: z.string(),
    approvedAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    revokedBy: z.string().nullable(),
    endedAt: z.string().nullable(),
    holder: person,
    approver: person,
    state: z.enum(["in force", "expired", "revoked"]),
  })
  .meta({ id: "SodException" });

export const sodViolationSchema = z
  .object({
    id: z.string(),
    identityId: z.string(),
    rule: z.string(),
    severity,
    withheld: z.boolean(),
    status: z.enum(["open", "withheld", "excepted", "closed"]),
    sides: z.array(z.object({ item: sodItemSchema, label: z.string(), why: z.array(z.string()) })),
    heldFrom: z.string(),
    heldUntil: z.string().nullable(),
    openedAt: z.string(),
    lastSeenAt: z.string(),
    closedAt: z.string().nullable(),
    closeReason: z.string().nullable(),
    holder: person,
    description: z.string().nullable(),
    owner: z.string().nullable(),
    exception: sodExceptionSchema.nullable(),
  })
  .meta({ id: "SodViolation" });

export const sodRuleSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    severity,
    owner: z.string().nullable(),
    kind: z.enum(["pair", "atMost"]),
    sideA: z.array(z.string()),
    sideB: z.array(z.string()),
    max: z.number().int().nullable(),
    scope: z.string().nullable(),
    mitigations: z.array(z.object({ control: z.string(), owner: z.string().nullable() })),
    location: z.string(),
    openViolations: z.number().int(),
  })
  .meta({ id: "SodRule" });

export const sodScanSchema = z
  .object({
    id: z.string(),
    at: z.string(),
    kind: z.enum(["full", "incremental"]),
    identities: z.number().int(),
    open: z.number().int(),
    opened: z.number().int(),
    closed: z.number().int(),
    bySeverity: z.object({ high: z.number().int(), medium: z.number().int(), low: z.number().int() }),
    durationMs: z.number(),
  })
  .meta({ id: "SodScan" });

export const violationQuery = z.object({
  rule: z.string().max(200).optional(),
  identity: z.string().max(200).optional(),
  severity: severity.optional(),
});

export const exceptionQuery = z.object({
  state: z.enum(["in-force", "ended"]).optional(),
  identity: z.string().max(200).optional(),
  rule: z.string().max(200).optional(),
});

export const idParams = z.object({ id: z.string().min(1).max(200) });

export const scanBody = z
  .object({ identity: z.string().min(1).max(200).optional() })
  .strict()
  .default({});

export const scanOutcome = z.object({
  scan: sodScanSchema,
  opened: z.number().int(),
  closed: z.number().int(),
  open: z.number().int(),
  upcoming: z.number().int(),
});

export const exceptionBody = z
  .object({
    control: z.string().max(MAX_CONTROL).optional(),
    justification: z.string().max(MAX_EXCEPTION_JUSTIFICATION),
    expiresAt: instantQuery,
  })
  .strict();

export const reportParams = z.object({ kind: z.enum(REPORT_KINDS) });

export const reportQuery = z.object({
  format: z.enum(["csv", "json"]).default("json"),
  from: instantQuery.optional(),
  to: instantQuery.optional(),
});
