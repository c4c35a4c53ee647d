import { z } from "zod";
import { DURATION_FORMS, parseDuration } from "../../domain/duration.js";
import { MAX_JUSTIFICATION } from "../../workflows/request-submission.js";
import { pageOf, pageQuery } from "./common-schemas.js";

const person = z.object({ id: z.string(), name: z.string() });

export const requestItemSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("role"), role: z.string().min(1).max(200) }),
    z.object({
      kind: z.literal("entitlement"),
      system: z.string().min(1).max(200),
      entitlement: z.string().min(1).max(500),
    }),
  ])
  .meta({ id: "RequestItem" });

export const requestSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["request", "elevation", "break-glass", "workflow", "review", "extension"]),
    state: z.enum(["pending", "approved", "denied", "cancelled", "expired"]),
    autoApproved: z.boolean(),
    requester: person,
    beneficiary: person,
    items: z.array(requestItemSchema),
    justification: z.string(),
    ticket: z.string().nullable(),
    durationMs: z.number().int(),
    submittedAt: z.string(),
    expiresAt: z.string(),
    closedAt: z.string().nullable(),
    currentStep: z.number().int(),
    steps: z.array(
      z.object({
        name: z.string(),
        required: z.number().int(),
        approvers: z.array(person),
        approvedBy: z.array(person),
      }),
    ),
    decisions: z.array(
      z.object({
        step: z.number().int(),
        by: person,
        onBehalfOf: person.nullable(),
        verdict: z.string(),
        at: z.string(),
        comment: z.string().nullable(),
      }),
    ),
    grants: z.array(
      z.object({
        assignment: z.string(),
        target: z.string(),
        validFrom: z.string(),
        validUntil: z.string().nullable(),
        revokedAt: z.string().nullable(),
        endedAt: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: "AccessRequest" });

export const requestOutcomeSchema = z.object({
  request: requestSchema,
  provisioning: z
    .object({
      queued: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      error: z.string().nullable(),
    })
    .nullable()
    .describe("what the grant queued and applied at once; null when nothing was granted"),
});

const duration = z
  .string()
  .max(20)
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `expected a duration: ${DURATION_FORMS}` });
      return z.NEVER;
    }
    return ms;
  });

export const newRequestBody = z.object({
  items: z.array(requestItemSchema).min(1).max(20),
  beneficiary: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("a direct report (id, HR key or email); default: yourself"),
  justification: z.string().max(MAX_JUSTIFICATION),
  ticket: z.string().max(200).optional(),
  duration: duration.optional().describe(`how long from the grant: ${DURATION_FORMS}`),
});

export const elevationBody = z.object({
  role: z.string().min(1).max(200),
  duration,
  justification: z.string().max(MAX_JUSTIFICATION),
  ticket: z.string().max(200).optional(),
  breakGlass: z.boolean().default(false),
});

export const extensionBody = z.object({
  duration: duration.describe(`how much longer: ${DURATION_FORMS}`),
  justification: z.string().max(MAX_JUSTIFICATION),
  ticket: z.string().max(200).optional(),
});

export const delegationSchema = z
  .object({
    id: z.string(),
    delegatorId: z.string(),
    delegateId: z.string(),
    validFrom: z.string(),
    validUntil: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "Delegation" });

export const delegationBody = z.object({
  to: z.string().min(1).max(200).describe("who decides for you (id, HR key or email)"),
  from: z.iso.datetime({ offset: true }).optional().describe("default: now"),
  until: z.iso.datetime({ offset: true }),
});

export const decisionBody = z.object({ comment: z.string().max(MAX_JUSTIFICATION).optional() }).default({});

export const requestListQuery = z.object({
  view: z
    .enum(["mine", "waiting", "all"])
    .optional()
    .describe(
      "mine: asked by or for you; waiting: waiting for your decision; all: every request (admin, auditor)",
    ),
  state: z
    .enum(["pending", "approved", "denied", "cancelled", "expired"])
    .optional()
    .describe("only requests in this state (view=waiting lists pending ones only)"),
  ...pageQuery,
});

export const requestPage = pageOf(requestSchema);
export const requestCursor = z.object({ id: z.string() });
export const requestIdParams = z.object({ id: z.string().min(1).max(100) });

export const requestableSchema = z.object({
  items: z.array(
    z.object({
      item: requestItemSchema,
      label: z.string(),
      displayName: z
        .string()
        .nullable()
        .describe("the role's description, or the entitlement's display name"),
      grants: z
        .array(z.object({ system: z.string(), entitlements: z.array(z.string()) }))
        .describe("what holding it gives, by system (entitlements named by attribute are not listed)"),
      autoApproveWhen: z.string().nullable().describe("the CEL condition that approves at once, or null"),
      autoApproveQuota: z
        .object({ max: z.number().int(), periodMs: z.number().int() })
        .nullable()
        .describe("at most max auto-approvals per person per period; past it the steps decide"),
      elevation: z.boolean(),
      defaultDurationMs: z.number().int(),
      maxDurationMs: z.number().int(),
      approval: z.array(z.string()).describe("the approval steps, by name"),
      autoApprove: z.boolean(),
      eligible: z
        .boolean()
        .nullable()
        .describe("whether you are eligible; null for a token that acts for nobody"),
    }),
  ),
});
