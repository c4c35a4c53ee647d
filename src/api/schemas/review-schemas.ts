import { z } from "zod";
import { MAX_BULK_ITEMS, MAX_REVIEW_COMMENT } from "../../workflows/review-decisions.js";
import { MAX_LIFT_REASON } from "../../workflows/review-exclusions.js";
import { REVIEW_ITEM_STATES } from "../../workflows/review-view.js";
import { lineageSchema } from "./common-schemas.js";

const person = z.object({ id: z.string(), name: z.string(), employeeId: z.string().nullable() });
const risk = z.enum(["high", "medium", "low"]);
const campaignStatus = z.enum(["open", "closed"]);
const campaignKind = z.enum(["scheduled", "ad-hoc", "mover"]);

const itemState = z.enum(REVIEW_ITEM_STATES);

export const reviewAccessSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("role"), role: z.string() }),
    z.object({ kind: z.literal("entitlement"), system: z.string(), entitlement: z.string() }),
  ])
  .meta({ id: "ReviewAccess" });

export const reviewItemSchema = z
  .object({
    id: z.string(),
    campaign: z.object({
      id: z.string(),
      definition: z.string(),
      status: campaignStatus,
      deadline: z.string(),
      bulkMaxRisk: z.enum(["low", "medium", "high"]).describe("the riskiest level a bulk decision may cover"),
    }),
    holder: person,
    access: reviewAccessSchema,
    label: z.string().describe("the access in words: `app:deployers`, `role engineer`"),
    source: z.enum(["birthright", "assignment", "mover-grace", "found"]),
    privileged: z.boolean(),
    risk: z.object({
      score: z.number(),
      level: risk,
      reasons: z.array(z.object({ code: z.string(), detail: z.string(), weight: z.number() })),
      recommendation: z.enum(["keep", "revoke"]),
    }),
    evidence: z.object({
      lineage: z.array(lineageSchema).describe("every reason the holder has the access"),
      lastUsedAt: z.string().nullable(),
      peers: z.object({ total: z.number().int(), holding: z.number().int() }).nullable(),
      lastReview: z
        .object({ campaignId: z.string(), decision: z.enum(["certify", "revoke"]), at: z.string() })
        .nullable(),
      sodRules: z.array(z.string()),
    }),
    stage: z.number().int(),
    reviewer: person.nullable(),
    ruleReviewer: person.nullable(),
    rerouteReason: z.enum(["self-review", "no-reviewer", "delegated", "escalated"]).nullable(),
    state: itemState,
    decidedBy: person.nullable(),
    decidedAt: z.string().nullable(),
    comment: z.string().nullable(),
    bulk: z.boolean(),
    removalState: z.enum(["pending", "applied", "confirmed", "failed", "not-needed"]).nullable(),
    removalDetail: z.string().nullable(),
    confirmedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: "ReviewItem" });

export const reviewCampaignSchema = z
  .object({
    id: z.string(),
    definition: z.string(),
    description: z.string().nullable(),
    kind: campaignKind,
    status: campaignStatus,
    subjectIdentityId: z.string().nullable(),
    startedAt: z.string(),
    startedBy: z.string(),
    deadline: z.string(),
    closedAt: z.string().nullable(),
    closedBy: z.string().nullable(),
    total: z.number().int(),
    pending: z.number().int(),
    decided: z.number().int(),
    byState: z.record(z.string(), z.number().int()),
    mine: z
      .object({ pending: z.number().int() })
      .nullable()
      .describe("your undecided items (and those of whoever delegated to you); null for a token of nobody"),
  })
  .meta({ id: "ReviewCampaign" });

export const reviewReportSchema = z
  .object({
    campaign: z.object({
      id: z.string(),
      definition: z.string(),
      description: z.string().nullable(),
      kind: campaignKind,
      status: campaignStatus,
      subjectIdentityId: z.string().nullable(),
      startedAt: z.string(),
      startedBy: z.string(),
      deadline: z.string(),
      closedAt: z.string().nullable(),
      closedBy: z.string().nullable(),
      items: z.number().int(),
    }),
    total: z.number().int(),
    decided: z.number().int(),
    completion: z.number().describe("share of items decided by a person, in percent"),
    byState: z.record(z.string(), z.number().int()),
    revocations: z.object({
      pending: z.number().int(),
      applied: z.number().int(),
      confirmed: z.number().int(),
      failed: z.number().int(),
      notNeeded: z.number().int(),
    }),
    overdueReviewers: z.array(
      z.object({ reviewerId: z.string().nullable(), reviewer: z.string(), pending: z.number().int() }),
    ),
    reviewers: z.array(
      z.object({
        reviewerId: z.string(),
        reviewer: z.string(),
        decided: z.number().int(),
        certified: z.number().int(),
        revoked: z.number().int(),
        bulk: z.number().int(),
        medianSecondsPerItem: z.number().nullable(),
        rubberStamp: z.boolean(),
      }),
    ),
  })
  .meta({ id: "ReviewReport" });

export const campaignDetailSchema = z.object({
  campaign: reviewCampaignSchema,
  report: reviewReportSchema
    .nullable()
    .describe("completion, revocations, overdue and per-reviewer figures: for admin and auditor, else null"),
});

export const campaignListQuery = z.object({
  status: campaignStatus.optional(),
  definition: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100).describe("at most this many, newest first"),
});

export const startBody = z
  .object({
    definition: z.string().min(1).max(200).describe("a campaign of tenure.yaml `reviews.campaigns`"),
  })
  .strict();

export const startOutcome = z.object({
  campaign: reviewCampaignSchema.nullable().describe("null when nothing is in the campaign's scope"),
  items: z.number().int(),
});

export const itemListQuery = z.object({
  view: z
    .enum(["mine", "all"])
    .optional()
    .describe(
      "mine (default for a person): items you review, or review for someone who delegated to you; all: every item (admin, auditor)",
    ),
  campaign: z.string().min(1).max(200).optional(),
  state: itemState.optional(),
  reviewer: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("view=all: only this reviewer's (id, HR key or email)"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .describe("items per page (1 to 200, default 50)"),
  cursor: z.string().min(1).max(512).optional().describe("the nextCursor of the previous page"),
});

export const itemPage = z.object({ items: z.array(reviewItemSchema), nextCursor: z.string().nullable() });
export const itemCursor = z.object({ score: z.number(), id: z.string() });

export const idParams = z.object({ id: z.string().min(1).max(200) });

const decision = z.enum(["certify", "revoke"]);

export const decisionBody = z
  .object({
    decision,
    comment: z.string().max(MAX_REVIEW_COMMENT).optional().describe("required to revoke"),
  })
  .strict();

export const bulkBody = z
  .object({
    itemIds: z.array(z.string().min(1).max(200)).min(1).max(MAX_BULK_ITEMS),
    decision,
    comment: z.string().max(MAX_REVIEW_COMMENT).describe("one comment for all: what was checked"),
  })
  .strict();

export const delegateBody = z
  .object({
    to: z.string().min(1).max(200).describe("the new reviewer: id, HR key or email"),
    comment: z.string().max(MAX_REVIEW_COMMENT).optional(),
  })
  .strict();

export const reportQuery = z.object({ format: z.enum(["csv", "json"]).default("json") });

export const exclusionSchema = z.object({
  id: z.string(),
  identityId: z.string(),
  holder: z.string(),
  access: z.string().describe("`role NAME` or `SYSTEM:KEY`"),
  employment: z.number().int(),
  itemId: z.string().describe("the review item whose revocation recorded it"),
  campaignId: z.string(),
  campaign: z.string().optional(),
  createdAt: z.string(),
  createdBy: z.string(),
  liftedAt: z.string().nullable(),
  liftedBy: z.string().nullable(),
});

export const exclusionListQuery = z.object({ identity: z.string().min(1).max(200).optional() });

export const liftBody = z
  .object({
    reason: z.string().min(1).max(MAX_LIFT_REASON).describe("why the reviewer's refusal is overruled"),
  })
  .strict();
