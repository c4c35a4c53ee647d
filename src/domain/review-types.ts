import type { Lineage } from "./access-types.js";
import type { RoleRule, SourceLocation } from "./rule-types.js";

/**
 * Access recertification (tenure.yaml `reviews:`): campaigns that ask a reviewer to confirm or revoke
 * each piece of access in scope, riskiest first, with the evidence behind the risk. Compiled by the
 * config loader (policy/sections/reviews-section.ts); generation, decisions and closing are state
 * machines in workflows/review-*.ts.
 */

/** Who reviews an item. */
export type ReviewerRule =
  /** The identity's manager (HR `managerKey`). */
  | { kind: "manager" }
  /** The entitlement's owner (`entitlements.*.owner`), or the role's for a role item. */
  | { kind: "access-owner" }
  /** The system's owner (`systems.*.owner`). */
  | { kind: "system-owner" }
  /** The owner of a non-human identity (its `owner` attribute). */
  | { kind: "nhi-owner" }
  /** One named person: an email address, HR key or identity id. */
  | { kind: "person"; person: string };

/** What happens to an item nobody decided by the deadline. */
export type NoResponseAction = "keep" | "revoke" | "escalate";

export type ReviewRisk = "high" | "medium" | "low";

/** Which access a campaign reviews; every listed filter must hold (an empty filter holds for all). */
export interface ReviewScope {
  /** Only access in these systems; empty: every system. */
  systems: readonly string[];
  /** Only these entitlements (`system` + `entitlement`); empty: every entitlement. */
  entitlements: readonly { system: string; entitlement: string }[];
  /** Review these roles (one item per role held) instead of entitlements; empty: entitlement items. */
  roles: readonly string[];
  /** Only entitlements marked `privileged`. */
  privilegedOnly: boolean;
  /** Only access granted by a request or an elevation (not birthright, not found in the target). */
  requestedOnly: boolean;
  /** Only access kept from a previous role after a move (mover grace). */
  keptAfterMove: boolean;
  /** Only non-human identities (`kind` attribute other than `person`), reviewed by their owner. */
  nonHuman: boolean;
  /** CEL over the identity's attributes: only identities where it holds; null: everyone. */
  where: RoleRule | null;
}

/** The signals that raise an item's risk, with the thresholds tenure.yaml sets. */
export interface RiskSettings {
  /** An account not used for this many days makes its access `unused` (where last use is known). */
  unusedDays: number;
  /** Access held by fewer than this share (percent) of peers with the same department and title is `rare`. */
  peerPercent: number;
}

export interface ReviewStage {
  reviewer: ReviewerRule;
}

/** `reviews.campaigns.NAME` compiled. */
export interface ReviewDefinition {
  name: string;
  description: string | null;
  scope: ReviewScope;
  /** The first stage, then an optional second (e.g. the owner after the manager). */
  stages: readonly ReviewStage[];
  /** Cron pattern; null: started by hand (`tenure review start NAME`). */
  schedule: string | null;
  durationDays: number;
  /** Days before the deadline on which undecided reviewers are reminded, e.g. [7, 3, 1]. */
  remindDaysBefore: readonly number[];
  /** Days after the start on which undecided items move to the reviewer's manager; null: never. */
  escalateAfterDays: number | null;
  /** At the deadline, per item risk: keep, revoke or escalate (to the reviewer's manager, a week more). */
  onNoResponse: Readonly<Record<ReviewRisk, NoResponseAction>>;
  /** The riskiest level a bulk decision may cover; privileged items are always decided one at a time. */
  bulkMaxRisk: ReviewRisk;
  risk: RiskSettings;
  location: SourceLocation;
}

/** `reviews.dormant.SYSTEM`: disable accounts unused for `afterDays`, after telling the owner. */
export interface DormantPolicy {
  system: string;
  afterDays: number;
  /** Days between the notice and the disable. */
  noticeDays: number;
  location: SourceLocation;
}

/** `reviews:` compiled. */
export interface ReviewPolicy {
  campaigns: Readonly<Record<string, ReviewDefinition>>;
  /** Mover micro-reviews: the new manager reviews access kept from the old role, due at the grace's end. */
  moverReview: boolean;
  dormant: Readonly<Record<string, DormantPolicy>>;
}

/** The piece of access an item is about. */
export type ReviewAccess =
  | { kind: "role"; role: string }
  | { kind: "entitlement"; system: string; entitlement: string };

/** How the identity came to hold it: what a revocation has to undo. */
export type ReviewSource =
  /** Birthright (a role rule): revoking records an exclusion for this identity. */
  | "birthright"
  /** An assignment (request, elevation, admin): revoking ends it. */
  | "assignment"
  /** Kept from a previous role after a move: revoking ends the grace for it (an exclusion). */
  | "mover-grace"
  /** Found in the target only (added there directly): revoking removes it there. */
  | "found";

export type RiskReasonCode =
  | "privileged"
  | "sod-violation"
  | "unused"
  | "never-used"
  | "rare-among-peers"
  | "requested"
  | "kept-after-move"
  | "never-reviewed"
  | "found-in-target-only";

/** One reason behind an item's risk, in words a reviewer reads. */
export interface RiskReason {
  code: RiskReasonCode;
  /** e.g. `no login for 143 days (last 2026-07-14)`, `held by 2 of 57 peers (3.5%)`. */
  detail: string;
  /** The points it adds to the score. */
  weight: number;
}

export interface ItemRisk {
  /** 0–100. */
  score: number;
  level: ReviewRisk;
  reasons: readonly RiskReason[];
  recommendation: "keep" | "revoke";
}

export type CampaignStatus = "open" | "closed";

export type ReviewDecisionKind = "certify" | "revoke";

/**
 * Where an item stands. `pending`: nobody decided yet; `certified`; `revoked` (its removal then runs
 * through `removal`); `kept` / `revoked-no-response` at the deadline; `void`: the access or the
 * identity went away before a decision (nothing to decide).
 */
export type ReviewItemState =
  | "pending"
  | "certified"
  | "revoked"
  | "kept-no-response"
  | "revoked-no-response"
  | "void";

/**
 * A revocation's closed loop: `pending` (decided, not yet applied), `applied` (the operation ran),
 * `confirmed` (the target read back without it), `failed` (will be retried; visible), `not-needed`
 * (already gone when decided).
 */
export type RemovalState = "pending" | "applied" | "confirmed" | "failed" | "not-needed";

/** Why the person who reviews an item is not the one the stage's rule named. */
export type RerouteReason = "self-review" | "no-reviewer" | "delegated" | "escalated";

export interface ReviewItemEvidence {
  /** Every reason the identity holds the access, as the plan's explanation prints it. */
  lineage: readonly Lineage[];
  /** Last use of the account in the access's system, where the connector reports it. */
  lastUsedAt: string | null;
  /** Peers (same department and title) and how many of them hold the same access. */
  peers: { total: number; holding: number } | null;
  /** The last decision on the same access for the same identity, in an earlier campaign. */
  lastReview: { campaignId: string; decision: ReviewDecisionKind; at: string } | null;
  /** Open SoD violations the access is part of (rule names). */
  sodRules: readonly string[];
}
