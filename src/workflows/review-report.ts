import type { Identity } from "../domain/identity-types.js";
import { NotFoundError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { type DecisionTime, reviewProgressRepository } from "../store/review-progress-repository.js";
import {
  type ReviewCampaign,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";
import { describeAccess } from "./review-decisions.js";

/**
 * What a campaign shows an auditor: completion, decisions, revocations applied and confirmed in the
 * target, who is overdue, and how long reviewers spent per item — the rubber-stamp signal.
 */

/** A pause longer than this between two decisions starts a new sitting: it is not time spent on an item. */
const SITTING_GAP_MS = 30 * 60_000;
/** Median seconds per item under which a reviewer's decisions look like a rubber stamp… */
export const RUBBER_STAMP_SECONDS = 5;
/** …once they decided at least this many items one by one. */
const RUBBER_STAMP_MIN_ITEMS = 10;

export interface ReviewerStats {
  reviewerId: string;
  reviewer: string;
  decided: number;
  certified: number;
  revoked: number;
  /** Items decided in bulk decisions. */
  bulk: number;
  /** Median seconds between two decisions of one sitting; null with fewer than two one-by-one decisions. */
  medianSecondsPerItem: number | null;
  rubberStamp: boolean;
}

export interface CampaignReport {
  campaign: Omit<ReviewCampaign, "settings"> & { description: string | null };
  total: number;
  decided: number;
  /** Share of items decided by a person (not by the deadline), in percent, one decimal. */
  completion: number;
  byState: Record<string, number>;
  revocations: { pending: number; applied: number; confirmed: number; failed: number; notNeeded: number };
  overdueReviewers: { reviewerId: string | null; reviewer: string; pending: number }[];
  reviewers: ReviewerStats[];
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per reviewer: the gaps between consecutive one-by-one decisions within a sitting. */
export function reviewerTimes(
  times: readonly DecisionTime[],
): Map<string, { gaps: number[]; list: DecisionTime[] }> {
  const out = new Map<string, { gaps: number[]; list: DecisionTime[] }>();
  for (const t of times) {
    let entry = out.get(t.decidedBy);
    if (entry === undefined) {
      entry = { gaps: [], list: [] };
      out.set(t.decidedBy, entry);
    }
    entry.list.push(t);
  }
  for (const entry of out.values()) {
    const single = entry.list
      .filter((t) => !t.bulk)
      .map((t) => Date.parse(t.decidedAt))
      .sort((a, b) => a - b);
    for (let i = 1; i < single.length; i++) {
      const gap = single[i]! - single[i - 1]!;
      if (gap <= SITTING_GAP_MS) entry.gaps.push(gap / 1000);
    }
  }
  return out;
}

async function names(store: Store, ids: Iterable<string>): Promise<Map<string, Identity>> {
  return identityRepository.findByIds(store.db, [...new Set(ids)]);
}

/**
 * The campaign's report at `now`. Overdue reviewers: while open and past a reminder, those with items
 * still undecided; once closed, those whose items the deadline decided.
 */
export async function campaignReport(store: Store, campaignId: string, now: Date): Promise<CampaignReport> {
  const campaign = await reviewCampaignRepository.find(store.db, campaignId);
  if (campaign === undefined) throw new NotFoundError(`no campaign has the id "${campaignId}"`);
  const [byState, removals, loads, times] = await Promise.all([
    reviewItemRepository.countByState(store.db, campaign.id),
    reviewProgressRepository.removalCounts(store.db, campaign.id),
    campaign.status === "closed"
      ? reviewProgressRepository.byReviewer(store.db, campaign.id, [
          "kept-no-response",
          "revoked-no-response",
        ])
      : reviewProgressRepository.byReviewer(store.db, campaign.id),
    reviewProgressRepository.decisionTimes(store.db, campaign.id),
  ]);
  const total = Object.values(byState).reduce((a, b) => a + b, 0);
  const decided = (byState.certified ?? 0) + (byState.revoked ?? 0);
  const perReviewer = reviewerTimes(times);
  const people = await names(store, [
    ...perReviewer.keys(),
    ...loads.flatMap((l) => (l.reviewerId === null ? [] : [l.reviewerId])),
  ]);
  const reviewers: ReviewerStats[] = [...perReviewer.entries()]
    .map(([id, { gaps, list }]) => {
      const m = median(gaps);
      const single = list.filter((t) => !t.bulk).length;
      return {
        reviewerId: id,
        reviewer: people.get(id)?.attributes.displayName ?? id,
        decided: list.length,
        certified: list.filter((t) => t.state === "certified").length,
        revoked: list.filter((t) => t.state === "revoked").length,
        bulk: list.length - single,
        medianSecondsPerItem: m === null ? null : Math.round(m * 10) / 10,
        rubberStamp: m !== null && single >= RUBBER_STAMP_MIN_ITEMS && m < RUBBER_STAMP_SECONDS,
      };
    })
    .sort((a, b) => b.decided - a.decided || a.reviewer.localeCompare(b.reviewer));
  const { settings, ...rest } = campaign;
  return {
    campaign: { ...rest, description: settings.description },
    total,
    decided,
    completion: total === 0 ? 100 : Math.round((decided / total) * 1000) / 10,
    byState,
    revocations: {
      pending: removals.pending ?? 0,
      applied: removals.applied ?? 0,
      confirmed: removals.confirmed ?? 0,
      failed: removals.failed ?? 0,
      notNeeded: removals["not-needed"] ?? 0,
    },
    overdueReviewers:
      campaign.status === "closed" || remindersStarted(campaign, now)
        ? loads.map((l) => ({
            reviewerId: l.reviewerId,
            reviewer:
              l.reviewerId === null
                ? "(nobody)"
                : (people.get(l.reviewerId)?.attributes.displayName ?? l.reviewerId),
            pending: l.pending,
          }))
        : [],
    reviewers,
  };
}

function remindersStarted(campaign: ReviewCampaign, now: Date): boolean {
  const first = Math.max(0, ...campaign.settings.remindDaysBefore);
  return now.getTime() >= Date.parse(campaign.deadline) - first * 86_400_000;
}

export const ITEM_COLUMNS: readonly string[] = [
  "item",
  "campaign",
  "employeeId",
  "holder",
  "access",
  "source",
  "privileged",
  "risk",
  "score",
  "reasons",
  "recommendation",
  "reviewer",
  "reroute",
  "state",
  "decidedBy",
  "decidedAt",
  "bulk",
  "comment",
  "removal",
  "confirmedAt",
];

/** Every item of a campaign as a row for CSV and JSON exports, riskiest first. */
export async function itemRows(
  store: Store,
  campaignId: string,
): Promise<Record<string, string | number | null>[]> {
  const campaign = await reviewCampaignRepository.find(store.db, campaignId);
  if (campaign === undefined) throw new NotFoundError(`no campaign has the id "${campaignId}"`);
  const items = await reviewItemRepository.all(store.db, { campaignId }, 5000);
  const people = await names(store, [
    ...items.map((i) => i.identityId),
    ...items.flatMap((i) => [i.reviewerId, i.decidedBy].filter((x): x is string => x !== null)),
  ]);
  const who = (id: string | null) => (id === null ? null : (people.get(id)?.attributes.displayName ?? id));
  return items.map((i) => ({
    item: i.id,
    campaign: campaign.definition,
    employeeId: people.get(i.identityId)?.sourceKey ?? null,
    holder: who(i.identityId),
    access: describeAccess(i),
    source: i.source,
    privileged: i.privileged ? "yes" : "no",
    risk: i.risk.level,
    score: i.risk.score,
    reasons: i.risk.reasons.map((r) => r.detail).join("; "),
    recommendation: i.risk.recommendation,
    reviewer: who(i.reviewerId),
    reroute: i.rerouteReason,
    state: i.state,
    decidedBy: who(i.decidedBy),
    decidedAt: i.decidedAt,
    bulk: i.bulk ? "yes" : "no",
    comment: i.comment,
    removal: i.removalState,
    confirmedAt: i.confirmedAt,
  }));
}
