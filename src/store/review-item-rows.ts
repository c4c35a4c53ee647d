import { decodeEvidence, decodeReasons, encodeEvidence, encodeReasons } from "../domain/review-item-codec.js";
import type {
  ItemRisk,
  RemovalState,
  RerouteReason,
  ReviewAccess,
  ReviewItemState,
  ReviewRisk,
  ReviewSource,
} from "../domain/review-types.js";
import type { ItemChange, ReviewItem } from "./review-item-types.js";
import type { ReviewItemsTable } from "./schema-types.js";

/** A review item as a row of `review_items`, and back. */

export function itemFromRow(r: ReviewItemsTable): ReviewItem {
  const access: ReviewAccess =
    r.role !== null
      ? { kind: "role", role: r.role }
      : { kind: "entitlement", system: r.system ?? "", entitlement: r.entitlement ?? "" };
  // Kept compactly (review-item-codec.ts): the reasons' words come back from the evidence and the row.
  const facts = { access, assignmentId: r.assignment_id, createdAt: r.created_at };
  const evidence = decodeEvidence(r.evidence, facts);
  return {
    id: r.id,
    campaignId: r.campaign_id,
    identityId: r.identity_id,
    access,
    accessKey: r.access_key,
    source: r.source as ReviewSource,
    assignmentId: r.assignment_id,
    privileged: Number(r.privileged) === 1,
    risk: {
      score: Number(r.risk_score),
      level: r.risk_level as ReviewRisk,
      reasons: decodeReasons(r.reasons, evidence, facts),
      recommendation: r.recommendation as ItemRisk["recommendation"],
    },
    evidence,
    stage: Number(r.stage),
    reviewerId: r.reviewer_id,
    ruleReviewerId: r.rule_reviewer_id,
    rerouteReason: r.reroute_reason as RerouteReason | null,
    state: r.state as ReviewItemState,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    comment: r.comment,
    bulk: Number(r.bulk) === 1,
    removalState: r.removal_state as RemovalState | null,
    removalDetail: r.removal_detail,
    removalAttempts: Number(r.removal_attempts),
    removalNextAt: r.removal_next_at,
    confirmedAt: r.confirmed_at,
    version: Number(r.version),
    createdAt: r.created_at,
  };
}

export const ITEM_COLUMNS = [
  "id",
  "campaign_id",
  "identity_id",
  "access_key",
  "role",
  "system",
  "entitlement",
  "source",
  "assignment_id",
  "privileged",
  "risk_score",
  "risk_level",
  "reasons",
  "recommendation",
  "evidence",
  "stage",
  "reviewer_id",
  "rule_reviewer_id",
  "reroute_reason",
  "state",
  "created_at",
] as const;

export function itemValues(i: ReviewItem): unknown[] {
  const facts = { access: i.access, assignmentId: i.assignmentId, createdAt: i.createdAt };
  return [
    i.id,
    i.campaignId,
    i.identityId,
    i.accessKey,
    i.access.kind === "role" ? i.access.role : null,
    i.access.kind === "entitlement" ? i.access.system : null,
    i.access.kind === "entitlement" ? i.access.entitlement : null,
    i.source,
    i.assignmentId,
    i.privileged ? 1 : 0,
    i.risk.score,
    i.risk.level,
    encodeReasons(i.risk.reasons, i.evidence, facts),
    i.risk.recommendation,
    encodeEvidence(i.evidence, facts),
    i.stage,
    i.reviewerId,
    i.ruleReviewerId,
    i.rerouteReason,
    i.state,
    i.createdAt,
  ];
}

/** Every column of an item's row: an item of a pack written out once it changes (`pack` names its pack). */
export function itemToRow(i: ReviewItem, pack: number | null): ReviewItemsTable {
  const v = itemValues(i);
  const row = Object.fromEntries(ITEM_COLUMNS.map((c, n) => [c, v[n]])) as unknown as ReviewItemsTable;
  row.decided_by = i.decidedBy;
  row.decided_at = i.decidedAt;
  row.comment = i.comment;
  row.bulk = i.bulk ? 1 : 0;
  row.removal_state = i.removalState;
  row.removal_detail = i.removalDetail;
  row.removal_attempts = i.removalAttempts;
  row.removal_next_at = i.removalNextAt;
  row.confirmed_at = i.confirmedAt;
  row.version = i.version;
  row.pack = pack;
  return row;
}

export function changeToRow(change: ItemChange): Partial<ReviewItemsTable> {
  const row: Partial<ReviewItemsTable> = {};
  if (change.stage !== undefined) row.stage = change.stage;
  if (change.reviewerId !== undefined) row.reviewer_id = change.reviewerId;
  if (change.ruleReviewerId !== undefined) row.rule_reviewer_id = change.ruleReviewerId;
  if (change.rerouteReason !== undefined) row.reroute_reason = change.rerouteReason;
  if (change.state !== undefined) row.state = change.state;
  if (change.decidedBy !== undefined) row.decided_by = change.decidedBy;
  if (change.decidedAt !== undefined) row.decided_at = change.decidedAt;
  if (change.comment !== undefined) row.comment = change.comment;
  if (change.bulk !== undefined) row.bulk = change.bulk ? 1 : 0;
  if (change.removalState !== undefined) row.removal_state = change.removalState;
  if (change.removalDetail !== undefined) row.removal_detail = change.removalDetail;
  if (change.removalAttempts !== undefined) row.removal_attempts = change.removalAttempts;
  if (change.removalNextAt !== undefined) row.removal_next_at = change.removalNextAt;
  if (change.confirmedAt !== undefined) row.confirmed_at = change.confirmedAt;
  return row;
}
