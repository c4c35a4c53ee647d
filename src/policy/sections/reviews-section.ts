import { z } from "zod";
import { percent, strictObject } from "../../config/schema-helpers.js";
import type { NodePath, PolicyContext } from "../../config/section-types.js";
import type { Policy } from "../../domain/access-types.js";
import type {
  DormantPolicy,
  NoResponseAction,
  ReviewDefinition,
  ReviewerRule,
  ReviewPolicy,
  ReviewRisk,
  ReviewScope,
  ReviewStage,
} from "../../domain/review-types.js";
import { unknownSystemMessage } from "./entitlements-section.js";
import { celRule } from "./requestable-schema.js";
import { unknownEntitlementMessage, unknownRoleMessage } from "./roles-section.js";
import { cronPattern } from "./schedule-section.js";

/** The most campaigns `reviews.campaigns` may hold, and the most entries one list of a campaign may have. */
export const REVIEWS_MAX_CAMPAIGNS = 200;
export const REVIEWS_MAX_ITEMS = 500;
export const REVIEWS_MAX_DESCRIPTION = 500;
/** A campaign lasts at most a year (a leap year's worth). */
export const REVIEWS_MAX_DURATION_DAYS = 366;
/** The longest day count a threshold takes (ten years): `dormant.*.afterDays`, `risk.unusedDays`. */
export const REVIEWS_MAX_DAYS = 3650;

const CAMPAIGN_NAME = /^[a-z][a-z0-9_-]*$/;
const RISKS = ["high", "medium", "low"] as const satisfies readonly ReviewRisk[];
const NO_RESPONSE = ["keep", "revoke", "escalate"] as const satisfies readonly NoResponseAction[];
const REVIEWER_KINDS = [
  "manager",
  "access-owner",
  "system-owner",
  "nhi-owner",
] as const satisfies readonly ReviewerRule["kind"][];
/** Reminders when `remindDaysBefore` is not written: those of these that fall inside the campaign. */
const DEFAULT_REMINDERS = [3, 1] as const;

/** A whole number of days from `min` to `max`. */
function daysBetween(min: number, max: number) {
  const expected = `expected a whole number of days from ${min} to ${max}`;
  return z
    .number({ error: expected })
    .int({ error: expected })
    .min(min, { error: expected })
    .max(max, { error: expected });
}

/** A list of at most {@link REVIEWS_MAX_ITEMS} entries, none twice (each repeat reported at its place). */
function uniqueList<T extends z.ZodType<string | number>>(item: T, what: string) {
  return z
    .array(item, { error: `expected a list of ${what}` })
    .max(REVIEWS_MAX_ITEMS, { error: `expected at most ${REVIEWS_MAX_ITEMS} ${what}` })
    .superRefine((list, ctx) => {
      const seen = new Set<unknown>();
      list.forEach((entry, i) => {
        if (seen.has(entry))
          ctx.addIssue({ code: "custom", path: [i], message: "listed twice in this list" });
        seen.add(entry);
      });
    });
}

/**
 * A setting written as one word of `words`, or as a mapping `mapping` parses. A word not in `words`
 * gets the nearest one suggested (the loader does so for `invalid_value`); the mapping's own issues
 * keep their paths.
 */
function wordOrMapping<const W extends string, M extends z.ZodType>(
  words: readonly W[],
  mapping: M,
  expected: string,
) {
  return z
    .custom<W | z.input<M>>()
    .superRefine((value, ctx) => {
      if (typeof value === "string") {
        if (!(words as readonly string[]).includes(value)) {
          ctx.addIssue({ code: "invalid_value", values: [...words], input: value, message: expected });
        }
        return;
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        ctx.addIssue({ code: "custom", message: expected });
        return;
      }
      const result = mapping.safeParse(value);
      if (result.success) return;
      for (const issue of result.error.issues) {
        ctx.addIssue({ ...(issue as z.core.$ZodIssueCustom), code: "custom", path: [...issue.path] });
      }
    })
    .transform((value): W | z.output<M> => (typeof value === "string" ? (value as W) : mapping.parse(value)));
}

const personText = "expected an email address, HR key or identity id";
const reviewerSchema = wordOrMapping(
  REVIEWER_KINDS,
  strictObject({ person: z.string({ error: personText }).regex(/\S/, { error: personText }) }),
  `expected ${REVIEWER_KINDS.join(", ")}, or { person: EMAIL-OR-KEY }`,
).transform(
  (value): ReviewerRule =>
    typeof value === "string" ? { kind: value } : { kind: "person", person: value.person.trim() },
);

const actionSchema = z.enum(NO_RESPONSE, { error: `expected ${NO_RESPONSE.join(", ")}` });
const onNoResponseSchema = wordOrMapping(
  NO_RESPONSE,
  strictObject({
    high: actionSchema.default("keep"),
    medium: actionSchema.default("keep"),
    low: actionSchema.default("keep"),
  }),
  `expected ${NO_RESPONSE.join(", ")}, or one per risk: { high: …, medium: …, low: … }`,
).transform(
  (value): Record<ReviewRisk, NoResponseAction> =>
    typeof value === "string" ? { high: value, medium: value, low: value } : value,
);

/** `SYSTEM:KEY`, split at the first ':' (a key may hold ':' itself), as in `sod:`. */
const entitlementRef = z
  .string({ error: "expected SYSTEM:KEY, e.g. erp:payment-approve" })
  .regex(/^[^:\s][^:]*:[\s\S]+$/, { error: "expected SYSTEM:KEY, e.g. erp:payment-approve" });

const flag = () => z.boolean({ error: "expected true or false" }).default(false);

const scopeSchema = strictObject({
  systems: uniqueList(
    z.string({ error: "expected a system name" }).min(1, { error: "expected a system name" }),
    "system names",
  ).default([]),
  entitlements: uniqueList(entitlementRef, "SYSTEM:KEY entitlements").default([]),
  roles: uniqueList(
    z.string({ error: "expected a role name" }).min(1, { error: "expected a role name" }),
    "role names",
  ).default([]),
  privilegedOnly: flag(),
  requestedOnly: flag(),
  keptAfterMove: flag(),
  nonHuman: flag(),
  where: celRule().optional(),
}).prefault({});

const descriptionText = `expected the campaign's purpose in words, 1 to ${REVIEWS_MAX_DESCRIPTION} characters`;

const campaignSchema = strictObject({
  description: z
    .string({ error: descriptionText })
    .regex(/\S/, { error: descriptionText })
    .max(REVIEWS_MAX_DESCRIPTION, { error: descriptionText })
    .optional(),
  scope: scopeSchema,
  reviewer: reviewerSchema,
  secondStage: strictObject({ reviewer: reviewerSchema }).optional(),
  schedule: cronPattern().optional(),
  durationDays: daysBetween(1, REVIEWS_MAX_DURATION_DAYS).default(14),
  remindDaysBefore: uniqueList(
    daysBetween(1, REVIEWS_MAX_DURATION_DAYS),
    "days before the deadline",
  ).optional(),
  escalateAfterDays: daysBetween(1, REVIEWS_MAX_DURATION_DAYS).optional(),
  onNoResponse: onNoResponseSchema.optional(),
  bulkMaxRisk: z.enum(RISKS, { error: `expected ${RISKS.join(", ")}` }).default("low"),
  risk: strictObject({
    unusedDays: daysBetween(1, REVIEWS_MAX_DAYS).default(90),
    peerPercent: percent().default(10),
  }).prefault({}),
});

const campaignsSchema = z
  // Counted before any campaign is parsed, so an oversized file costs no compilation.
  .record(z.string(), z.unknown(), { error: "expected a mapping of campaign name → campaign" })
  .refine((campaigns) => Object.keys(campaigns).length <= REVIEWS_MAX_CAMPAIGNS, {
    error: `expected at most ${REVIEWS_MAX_CAMPAIGNS} campaigns`,
  })
  .pipe(
    z.record(
      z.string().regex(CAMPAIGN_NAME, {
        error: "a campaign name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
      }),
      campaignSchema,
    ),
  );

const dormantSchema = z.record(
  z.string(),
  strictObject({
    afterDays: daysBetween(1, REVIEWS_MAX_DAYS),
    noticeDays: daysBetween(0, REVIEWS_MAX_DAYS - 1).optional(),
  }),
  { error: "expected a mapping of system name → { afterDays, noticeDays }" },
);

/**
 * `reviews:` — access recertification (docs/configuration.md): `campaigns` that ask a reviewer to
 * confirm or revoke each piece of access in scope, mover micro-reviews, and dormant-account checks per
 * system. References to systems, entitlements and roles, and the settings that depend on each other,
 * are checked by {@link resolveReviews}.
 */
export const reviewsSection = strictObject({
  moverReview: z.boolean({ error: "expected true or false" }).default(false),
  dormant: dormantSchema.default({}),
  campaigns: campaignsSchema.default({}),
}).prefault({});

export type ReviewsFile = z.output<typeof reviewsSection>;
type CampaignFile = z.output<typeof campaignSchema>;
type ScopeFile = z.output<typeof scopeSchema>;

/** Days between a dormant account's notice and its disabling, when `noticeDays` is not written. */
export const DEFAULT_NOTICE_DAYS = 7;

/**
 * Compiles `reviews:` (every key has a default: no campaigns, no mover reviews, no dormant checks) and
 * reports, through `ctx`, what only the rest of the policy or the whole campaign shows: a system,
 * entitlement or role that is not defined; filters that no access could pass together; an `nhi-owner`
 * reviewer of a campaign not limited to non-human identities; the same reviewer twice; a reminder or
 * an escalation at or past the deadline; a dormant check of an unknown system, or a notice not before
 * the disabling. `policy` is the compiled systems, entitlements and roles.
 */
export function resolveReviews(file: ReviewsFile, policy: Policy, ctx: PolicyContext): ReviewPolicy {
  const campaigns: Record<string, ReviewDefinition> = {};
  for (const [name, campaign] of Object.entries(file.campaigns)) {
    campaigns[name] = resolveCampaign(name, campaign, policy, ctx);
  }
  const systemNames = Object.keys(policy.systems);
  const dormant: Record<string, DormantPolicy> = {};
  for (const [system, check] of Object.entries(file.dormant)) {
    const path = ["reviews", "dormant", system];
    if (!Object.hasOwn(policy.systems, system)) {
      ctx.report(path, unknownSystemMessage(system, systemNames), "key");
    }
    const noticeDays = check.noticeDays ?? DEFAULT_NOTICE_DAYS;
    if (noticeDays >= check.afterDays) {
      ctx.report(
        [...path, check.noticeDays === undefined ? "afterDays" : "noticeDays"],
        check.noticeDays === undefined
          ? `expected more than ${DEFAULT_NOTICE_DAYS} days, the notice period when noticeDays is not written (or write a shorter noticeDays)`
          : `expected fewer than afterDays (${check.afterDays}): the notice goes out noticeDays before the account is disabled, after it was unused for afterDays`,
      );
    }
    dormant[system] = {
      system,
      afterDays: check.afterDays,
      noticeDays,
      location: ctx.locate(path),
    };
  }
  return { campaigns, moverReview: file.moverReview, dormant };
}

function resolveCampaign(
  name: string,
  campaign: CampaignFile,
  policy: Policy,
  ctx: PolicyContext,
): ReviewDefinition {
  const path = ["reviews", "campaigns", name];
  const scope = resolveScope(campaign.scope, [...path, "scope"], policy, ctx);

  const stages: ReviewStage[] = [{ reviewer: campaign.reviewer }];
  if (campaign.secondStage !== undefined) stages.push({ reviewer: campaign.secondStage.reviewer });
  const reviewerPaths: NodePath[] = [
    [...path, "reviewer"],
    [...path, "secondStage", "reviewer"],
  ];
  stages.forEach((stage, i) => {
    if (stage.reviewer.kind === "nhi-owner" && !scope.nonHuman) {
      ctx.report(
        reviewerPaths[i] as NodePath,
        "nhi-owner reviews the access of non-human identities only: set scope.nonHuman: true, or choose another reviewer",
      );
    }
  });
  const [first, second] = stages;
  if (first !== undefined && second !== undefined && sameReviewer(first.reviewer, second.reviewer)) {
    ctx.report(
      reviewerPaths[1] as NodePath,
      "the second stage has the same reviewer as the first: it would ask the same person twice",
    );
  }

  const { durationDays } = campaign;
  const written = campaign.remindDaysBefore;
  written?.forEach((days, i) => {
    if (days >= durationDays) {
      ctx.report(
        [...path, "remindDaysBefore", i],
        `expected fewer than durationDays (${durationDays}): a reminder ${days} days before the deadline would come at or before the campaign's start`,
      );
    }
  });
  const reminders = (written ?? DEFAULT_REMINDERS.filter((days) => days < durationDays)).toSorted(
    (a, b) => b - a,
  );
  const escalate = campaign.escalateAfterDays ?? null;
  if (escalate !== null && escalate >= durationDays) {
    ctx.report(
      [...path, "escalateAfterDays"],
      `expected fewer than durationDays (${durationDays}): an escalation ${escalate} days after the start would come at or after the deadline`,
    );
  }

  return {
    name,
    description: campaign.description ?? null,
    scope,
    stages,
    schedule: campaign.schedule === undefined || campaign.schedule === "off" ? null : campaign.schedule,
    durationDays,
    remindDaysBefore: reminders,
    escalateAfterDays: escalate,
    onNoResponse: campaign.onNoResponse ?? { high: "keep", medium: "keep", low: "keep" },
    bulkMaxRisk: campaign.bulkMaxRisk,
    risk: { unusedDays: campaign.risk.unusedDays, peerPercent: campaign.risk.peerPercent },
    location: ctx.locate(path),
  };
}

/**
 * The scope with its references checked, each problem where it is written: systems, entitlements and
 * roles that are not defined, and filters that together would leave nothing to review.
 */
function resolveScope(scope: ScopeFile, path: NodePath, policy: Policy, ctx: PolicyContext): ReviewScope {
  const systemNames = Object.keys(policy.systems);
  scope.systems.forEach((system, i) => {
    if (!Object.hasOwn(policy.systems, system)) {
      ctx.report([...path, "systems", i], unknownSystemMessage(system, systemNames));
    }
  });
  const entitlements = scope.entitlements.map((ref, i) => {
    const colon = ref.indexOf(":");
    const system = ref.slice(0, colon);
    const entitlement = ref.slice(colon + 1);
    const at = [...path, "entitlements", i];
    if (!Object.hasOwn(policy.systems, system)) {
      ctx.report(at, unknownSystemMessage(system, systemNames));
    } else {
      const declared = policy.entitlements[system] ?? {};
      if (!Object.hasOwn(declared, entitlement)) {
        ctx.report(at, unknownEntitlementMessage(system, entitlement, Object.keys(declared)));
      } else if (scope.systems.length > 0 && !scope.systems.includes(system)) {
        ctx.report(
          at,
          `${ref} is in none of this scope's systems (${scope.systems.join(", ")}): every filter must hold, so it would never be reviewed`,
        );
      }
    }
    return { system, entitlement };
  });
  const roleNames = Object.keys(policy.roles);
  scope.roles.forEach((role, i) => {
    if (!Object.hasOwn(policy.roles, role)) {
      ctx.report([...path, "roles", i], unknownRoleMessage(role, roleNames));
    }
  });
  if (scope.roles.length > 0) {
    // A role item is the role itself: filters of entitlement items cannot apply to it.
    const entitlementFilters = [
      ["entitlements", scope.entitlements.length > 0],
      ["systems", scope.systems.length > 0],
      ["privilegedOnly", scope.privilegedOnly],
    ] as const;
    for (const [key, set] of entitlementFilters) {
      if (set) {
        ctx.report(
          [...path, key],
          `${key} selects entitlement items, and this campaign reviews roles: review roles or entitlements in one campaign, not both`,
          "key",
        );
      }
    }
  }
  if (scope.requestedOnly && scope.keptAfterMove) {
    ctx.report(
      [...path, "keptAfterMove"],
      "requestedOnly and keptAfterMove select different access (granted by a request or elevation, or kept from a previous role after a move): together they would leave nothing to review",
      "key",
    );
  }
  return {
    systems: scope.systems,
    entitlements,
    roles: scope.roles,
    privilegedOnly: scope.privilegedOnly,
    requestedOnly: scope.requestedOnly,
    keptAfterMove: scope.keptAfterMove,
    nonHuman: scope.nonHuman,
    where:
      scope.where === undefined
        ? null
        : { ...scope.where, location: ctx.locate([...path, "where"], "value") },
  };
}

function sameReviewer(a: ReviewerRule, b: ReviewerRule): boolean {
  if (a.kind === "person" && b.kind === "person") return a.person.toLowerCase() === b.person.toLowerCase();
  return a.kind === b.kind;
}
