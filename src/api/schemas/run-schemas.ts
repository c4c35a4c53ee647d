import { z } from "zod";
import type { ApplySummary } from "../../engine/apply.js";
import { instantQuery, openObject, planHashSchema } from "./common-schemas.js";
import { plannedOperationSchema, queueCountsSchema } from "./operation-schemas.js";

const planProblemSchema = openObject({
  kind: z.string(),
  identityId: z.string().nullable(),
  system: z.string(),
  message: z.string(),
});

const planTotalsSchema = z.object({
  operations: z.number().int(),
  byKind: z.record(z.string(), z.number().int()),
  bySystem: z.record(z.string(), z.number().int()),
  drift: z.number().int(),
});

export const planQuery = z.strictObject({
  at: instantQuery
    .optional()
    .describe("preview the lifecycle on this future date (starts, end dates, expiries)"),
  system: z.string().min(1).optional().describe("only this system"),
});

export const planPreviewSchema = z
  .object({
    at: z.string(),
    totals: planTotalsSchema,
    operations: z.array(plannedOperationSchema),
    problems: z.array(planProblemSchema),
    queue: queueCountsSchema.describe("operations queued by earlier runs, by state"),
  })
  .meta({ id: "PlanPreview" });

export const syncBody = z
  .strictObject({
    dryRun: z.boolean().default(false).describe("plan only: what would change, changing nothing"),
    source: z.string().min(1).optional().describe("only this source"),
    confirmMassChange: planHashSchema
      .optional()
      .describe(
        "the plan hash of a run stopped by mass-change protection (409 `mass_change` error.planHash, or a dry " +
          "run's massChange.planHash): applies exactly that plan, 409 `plan_changed` with the new hash when the " +
          "plan computed now differs; the audit records the token's name",
      ),
  })
  .default({ dryRun: false });

// Declared keys only: a sync's result also holds every changed identity, which the answer leaves out.
const sourceResultSchema = z.object({
  source: z.string(),
  dryRun: z.boolean(),
  rowsRead: z.number().int(),
  recordsValid: z.number().int(),
  rowsSkipped: z.number().int(),
  findings: z.array(
    openObject({ row: z.number().int(), severity: z.string(), code: z.string(), message: z.string() }),
  ),
  created: z.number().int(),
  updated: z.number().int(),
  rehired: z.number().int(),
  terminated: z.number().int(),
  unchanged: z.number().int(),
  auditEvents: z.number().int(),
  transitions: z.record(z.string(), z.number().int()),
  changes: z.array(
    z.object({
      id: z.string(),
      key: z.string(),
      name: z.string(),
      from: z.string().nullable(),
      to: z.string(),
      actions: z.array(z.string()),
    }),
  ),
});

// `satisfies`: a field added to the engine's summary that this schema lacks fails the build rather
// than being dropped from every answer.
const applySummarySchema = z.object({
  claimed: z.number().int(),
  succeeded: z.number().int(),
  changed: z.number().int(),
  awaiting: z.number().int(),
  failed: z.number().int(),
  dead: z.number().int(),
  skipped: z.number().int(),
  released: z.number().int(),
}) satisfies z.ZodType<ApplySummary>;

export const massChangeSchema = z
  .object({
    planHash: planHashSchema.describe("the run's plan hash: what confirmMassChange takes"),
    exceeded: z
      .array(
        z.object({
          kind: z.enum(["source", "system"]),
          name: z.string(),
          disable: z.number().int().describe("source: identities terminated; system: accounts disabled"),
          delete: z.number().int().describe("system: accounts deleted; source: 0"),
          total: z.number().int().describe("source: identities not gone; system: accounts"),
        }),
      )
      .describe("what is past lifecycle.massChangeThreshold (a real run stops unless confirmed)"),
  })
  .meta({ id: "MassChange" });

export const syncResultSchema = z
  .object({
    massChange: massChangeSchema,
    sources: z.array(sourceResultSchema),
    plan: z
      .object({
        totals: planTotalsSchema,
        operations: z.array(plannedOperationSchema),
        problems: z.array(planProblemSchema),
      })
      .nullable()
      .describe("dry run: the provisioning plan"),
    provisioning: z
      .object({
        planned: z.number().int(),
        queued: z.number().int(),
        problems: z.array(planProblemSchema),
        applied: applySummarySchema.nullable(),
        dead: z.array(openObject({ id: z.string(), system: z.string(), error: z.string().optional() })),
      })
      .nullable()
      .describe("a real run: what was queued and applied"),
  })
  .meta({ id: "SyncResult" });

export const reconcileBody = z
  .strictObject({ system: z.string().min(1).optional().describe("only this system") })
  .default({});

const usernameEntitlement = z.object({ username: z.string(), entitlement: z.string() });

const reconciledSystemSchema = z.object({
  system: z.string(),
  outcome: z.literal("reconciled"),
  /** False for a system whose connector cannot read accounts (manual): nothing was read. */
  read: z.boolean(),
  accounts: z.number().int(),
  correlated: z.number().int(),
  orphans: z.array(
    z.object({ username: z.string(), enabled: z.boolean(), entitlements: z.array(z.string()) }),
  ),
  adopted: z.array(z.object({ username: z.string(), identityId: z.string() })),
  vanished: z.array(z.string()),
  unmanagedEntitlements: z.array(usernameEntitlement),
  missingEntitlements: z.array(usernameEntitlement),
  policy: z.object({ drift: z.string(), orphans: z.string() }),
});

const failedSystemSchema = z.object({
  system: z.string(),
  outcome: z.literal("failed"),
  error: z.string().describe("why the system could not be read; nothing of it was changed"),
});

export const reconcileResultSchema = z
  .object({
    systems: z.array(z.discriminatedUnion("outcome", [reconciledSystemSchema, failedSystemSchema])),
    failed: z.number().int().describe("how many systems failed (the answer is 207 when this is not 0)"),
  })
  .meta({ id: "ReconcileResult" });
