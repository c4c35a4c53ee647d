import {
  decodeEvidenceValue,
  decodeReasonsValue,
  encodeEvidence,
  encodeReasons,
  encodeVerdictReasons,
  type ItemFacts,
} from "../domain/review-item-codec.js";
import type { RiskSignals, RiskVerdict } from "../domain/review-risk.js";
import type {
  ItemRisk,
  RerouteReason,
  ReviewAccess,
  ReviewItemEvidence,
  ReviewRisk,
  ReviewSource,
} from "../domain/review-types.js";
import type { ReviewItem } from "./review-item-types.js";
import type { ReviewItemPacksTable } from "./schema-types.js";

/**
 * How a pack (review_item_packs) keeps its items: `items` is a JSON array with one element per item, in
 * index order, each an array of what differs between the items of one (campaign, identity, reviewer):
 *
 *   [access, source, assignmentId, privileged (0/1), score, level, reasons, recommendation, evidence,
 *    ruleReviewerId, rerouteReason]
 *
 * `access` is a role's name (its key `role:NAME`), `[system, entitlement]` (its key
 * `entitlement:SYSTEM:KEY`), or `{access, accessKey}` when the key is not the one derived. Reasons and
 * evidence are domain/review-item-codec.ts's compact forms. A packed item is fresh: stage 0, pending,
 * version 0, reviewed by its pack's reviewer; its id is `CAMPAIGN.PACK.INDEX`.
 */

type PackAccess = string | [string, string] | { access: ReviewAccess; accessKey: string };
export type PackElement = [
  PackAccess,
  ReviewSource,
  string | null,
  0 | 1,
  number,
  ReviewRisk,
  unknown,
  ItemRisk["recommendation"],
  unknown,
  string | null,
  RerouteReason | null,
];

/** A pack as read: what its items share, and the items' array. */
export type PackRow = Pick<
  ReviewItemPacksTable,
  "campaign_id" | "pack" | "identity_id" | "reviewer_id" | "items" | "created_at"
>;

export function packItemId(campaignId: string, pack: number, index: number): string {
  return `${campaignId}.${pack}.${index}`;
}

/** The place of a packed item's id; null for any other id (a row's UUID). */
export function parsePackItemId(id: string): { campaignId: string; pack: number; index: number } | null {
  const m = /^(.+)\.(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$/.exec(id);
  if (m === null) return null;
  return { campaignId: m[1]!, pack: Number(m[2]), index: Number(m[3]) };
}

function packAccess(access: ReviewAccess, accessKey: string): PackAccess {
  if (access.kind === "role") {
    if (accessKey === `role:${access.role}`) return access.role;
  } else if (accessKey === `entitlement:${access.system}:${access.entitlement}`) {
    return [access.system, access.entitlement];
  }
  return { access, accessKey };
}

function accessOf(a: PackAccess): { access: ReviewAccess; accessKey: string } {
  if (typeof a === "string") return { access: { kind: "role", role: a }, accessKey: `role:${a}` };
  if (Array.isArray(a))
    return {
      access: { kind: "entitlement", system: a[0], entitlement: a[1] },
      accessKey: `entitlement:${a[0]}:${a[1]}`,
    };
  return a;
}

/** What one item of a pack holds besides its risk. */
export interface PackItemFacts {
  access: ReviewAccess;
  accessKey: string;
  source: ReviewSource;
  assignmentId: string | null;
  privileged: boolean;
  evidence: ReviewItemEvidence;
  ruleReviewerId: string | null;
  rerouteReason: RerouteReason | null;
}

/** What one item of a pack holds, as the JSON text of its element. */
export interface PackItemInput extends PackItemFacts {
  risk: ItemRisk;
}

/**
 * The JSON of a pack's access by entitlement key: a campaign has a few hundred distinct keys over up to
 * a million items. Checked against the access each time (two accesses may share a key text); emptied
 * when it holds too many.
 */
const accessJson = new Map<string, { access: ReviewAccess; json: string }>();
const ACCESS_JSON_MAX = 10_000;

function packAccessJson(access: ReviewAccess, accessKey: string): string {
  const cached = accessJson.get(accessKey);
  if (cached !== undefined) {
    const a = cached.access;
    if (
      a.kind === "role"
        ? access.kind === "role" && a.role === access.role
        : access.kind === "entitlement" && a.system === access.system && a.entitlement === access.entitlement
    )
      return cached.json;
  }
  const json = JSON.stringify(packAccess(access, accessKey));
  if (accessJson.size >= ACCESS_JSON_MAX) accessJson.clear();
  accessJson.set(accessKey, { access, json });
  return json;
}

/** The element of one item, as JSON text (a pack's `items` is `[` + elements joined by `,` + `]`). */
export function encodePackItem(i: PackItemInput, createdAt: string): string {
  const facts: ItemFacts = { access: i.access, assignmentId: i.assignmentId, createdAt };
  return elementText(i, i.risk, encodeReasons(i.risk.reasons, i.evidence, facts), facts);
}

/**
 * What `encodePackItem` writes for the item scored `scoreItem(signals, settings, now)`, from the
 * verdict `judgeRisk(signals, settings, nowMs)` (`nowMs` is `now`; `createdAt` the campaign's start):
 * the reasons' words are never built (domain/review-item-codec.ts, `encodeVerdictReasons`).
 */
export function encodeScoredPackItem(
  i: PackItemFacts,
  verdict: RiskVerdict,
  signals: RiskSignals,
  createdAt: string,
  nowMs: number,
): string {
  const facts: ItemFacts = { access: i.access, assignmentId: i.assignmentId, createdAt };
  return elementText(i, verdict, encodeVerdictReasons(verdict, signals, i.evidence, facts, nowMs), facts);
}

function elementText(
  i: PackItemFacts,
  risk: Pick<ItemRisk, "score" | "level" | "recommendation">,
  reasons: string,
  facts: ItemFacts,
): string {
  // Source, level and recommendation are plain words: quoted as JSON.stringify would.
  return `[${packAccessJson(i.access, i.accessKey)},"${i.source}",${JSON.stringify(i.assignmentId)},${
    i.privileged ? 1 : 0
  },${risk.score},"${risk.level}",${reasons},"${risk.recommendation}",${encodeEvidence(i.evidence, facts)},${JSON.stringify(
    i.ruleReviewerId,
  )},${JSON.stringify(i.rerouteReason)}]`;
}

export function packElements(row: Pick<PackRow, "items">): PackElement[] {
  return JSON.parse(row.items) as PackElement[];
}

export function elementScore(e: PackElement): number {
  return e[4];
}

/** The item at `index` of `row`, whose element is `e`, as it is while nobody changed it. */
export function decodePackItem(row: PackRow, index: number, e: PackElement): ReviewItem {
  const { access, accessKey } = accessOf(e[0]);
  const assignmentId = e[2];
  const facts: ItemFacts = { access, assignmentId, createdAt: row.created_at };
  const evidence = decodeEvidenceValue(e[8], facts);
  return {
    id: packItemId(row.campaign_id, Number(row.pack), index),
    campaignId: row.campaign_id,
    identityId: row.identity_id,
    access,
    accessKey,
    source: e[1],
    assignmentId,
    privileged: e[3] === 1,
    risk: {
      score: e[4],
      level: e[5],
      reasons: decodeReasonsValue(e[6], evidence, facts),
      recommendation: e[7],
    },
    evidence,
    stage: 0,
    reviewerId: row.reviewer_id,
    ruleReviewerId: e[9],
    rerouteReason: e[10],
    state: "pending",
    decidedBy: null,
    decidedAt: null,
    comment: null,
    bulk: false,
    removalState: null,
    removalDetail: null,
    removalAttempts: 0,
    removalNextAt: null,
    confirmedAt: null,
    version: 0,
    createdAt: row.created_at,
  };
}
