import type { Lineage } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import type {
  ItemRisk,
  RemovalState,
  RerouteReason,
  ReviewAccess,
  ReviewItemEvidence,
  ReviewItemState,
  ReviewRisk,
  ReviewSource,
  RiskReason,
} from "../domain/review-types.js";
import type { Store } from "../store/database.js";
import { delegationRepository } from "../store/delegation-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewProgressRepository } from "../store/review-progress-repository.js";
import {
  type CampaignKind,
  type ReviewCampaign,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";
import { DECIDED_STATES, describeAccess } from "./review-decisions.js";

/**
 * What the CLI, the API and the console show of access reviews: a reviewer's inbox (their own items
 * and those of whoever delegated to them, riskiest first), an item with its people named and its
 * evidence, campaigns with their counts. Reads only; decisions are in review-decisions.ts.
 */

/** Every state of an item, undecided first. */
export const REVIEW_ITEM_STATES = [
  "pending",
  "certified",
  "revoked",
  "kept-no-response",
  "revoked-no-response",
  "void",
] as const satisfies readonly ReviewItemState[];

/** A person as a review shows them. */
export interface ReviewPersonRef {
  id: string;
  name: string;
  employeeId: string | null;
}

/** An item as a reviewer reads it: the access in words, the people named, risk and evidence. */
export interface ReviewItemView {
  id: string;
  campaign: {
    id: string;
    definition: string;
    status: ReviewCampaign["status"];
    deadline: string;
    /** The riskiest level a bulk decision may cover in this campaign (privileged items never). */
    bulkMaxRisk: ReviewRisk;
  };
  holder: ReviewPersonRef;
  access: ReviewAccess;
  /** `app:deployers`, `role engineer`. */
  label: string;
  source: ReviewSource;
  privileged: boolean;
  risk: Omit<ItemRisk, "reasons"> & { reasons: RiskReason[] };
  evidence: Omit<ReviewItemEvidence, "lineage" | "sodRules"> & { lineage: Lineage[]; sodRules: string[] };
  stage: number;
  reviewer: ReviewPersonRef | null;
  /** Who the stage's rule named when someone else reviews (rerouted, delegated, escalated). */
  ruleReviewer: ReviewPersonRef | null;
  rerouteReason: RerouteReason | null;
  state: ReviewItemState;
  decidedBy: ReviewPersonRef | null;
  decidedAt: string | null;
  comment: string | null;
  bulk: boolean;
  removalState: RemovalState | null;
  removalDetail: string | null;
  confirmedAt: string | null;
  createdAt: string;
}

/** Counts of a campaign's items; `mine` the caller's own undecided ones (null when nobody asks). */
export interface CampaignView {
  id: string;
  definition: string;
  description: string | null;
  kind: CampaignKind;
  status: ReviewCampaign["status"];
  subjectIdentityId: string | null;
  startedAt: string;
  startedBy: string;
  deadline: string;
  closedAt: string | null;
  closedBy: string | null;
  total: number;
  pending: number;
  decided: number;
  byState: Record<string, number>;
  mine: { pending: number } | null;
}

/**
 * Whose items `personId` reviews at `now`: their own, and those of each person who delegated their
 * decisions to them (a delegation in force). The person's own id comes first.
 */
export async function reviewerIdsFor(
  store: Pick<Store, "db">,
  personId: string,
  now: Date,
): Promise<string[]> {
  const delegators = await delegationRepository.delegatorsOf(store.db, personId, now.toISOString());
  return [personId, ...delegators.filter((d) => d !== personId)];
}

/** Who may see an item when not every item: one of the reviewers it is for now, or who decided it. */
export interface ItemScope {
  personId: string;
  reviewerIds: readonly string[];
}

export function itemVisibleTo(item: ReviewItem, scope: ItemScope): boolean {
  return (
    (item.reviewerId !== null && scope.reviewerIds.includes(item.reviewerId)) ||
    item.decidedBy === scope.personId
  );
}

export interface InboxFilter {
  /** Only items these people review; absent: every item (an admin's or auditor's view). */
  reviewerIds?: readonly string[];
  campaignId?: string;
  states?: readonly ReviewItemState[];
  /** The (score, id) of the last item of the previous page. */
  after?: { score: number; id: string };
  limit: number;
}

const riskiestFirst = (a: ReviewItem, b: ReviewItem): number =>
  b.risk.score - a.risk.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Items riskiest first, keyset-paged. For several reviewers (a delegate's inbox) each one's page is
 * read and the pages merged: the first `limit` of the union are among the first `limit` of each.
 */
export async function listReviewItems(store: Pick<Store, "db">, filter: InboxFilter): Promise<ReviewItem[]> {
  const base = {
    limit: filter.limit,
    ...(filter.campaignId !== undefined ? { campaignId: filter.campaignId } : {}),
    ...(filter.states !== undefined ? { states: filter.states } : {}),
    ...(filter.after !== undefined ? { after: filter.after } : {}),
  };
  if (filter.reviewerIds === undefined) return reviewItemRepository.list(store.db, base);
  const pages = await Promise.all(
    [...new Set(filter.reviewerIds)].map((reviewerId) =>
      reviewItemRepository.list(store.db, { ...base, reviewerId }),
    ),
  );
  return pages.flat().sort(riskiestFirst).slice(0, filter.limit);
}

function personRef(people: Map<string, Identity>, id: string): ReviewPersonRef {
  const i = people.get(id);
  return { id, name: i?.attributes.displayName ?? id, employeeId: i?.attributes.employeeId ?? null };
}

/** The views of `items`, reading each person and campaign once. */
export async function viewReviewItems(
  store: Pick<Store, "db">,
  items: readonly ReviewItem[],
): Promise<ReviewItemView[]> {
  const ids = new Set<string>();
  for (const i of items) {
    ids.add(i.identityId);
    for (const p of [i.reviewerId, i.ruleReviewerId, i.decidedBy]) if (p !== null) ids.add(p);
  }
  const people = await identityRepository.findByIds(store.db, [...ids]);
  const campaigns = new Map<string, ReviewCampaign | undefined>();
  for (const id of new Set(items.map((i) => i.campaignId))) {
    campaigns.set(id, await reviewCampaignRepository.find(store.db, id));
  }
  const ref = (id: string | null) => (id === null ? null : personRef(people, id));
  return items.map((i) => {
    const c = campaigns.get(i.campaignId);
    return {
      id: i.id,
      campaign: {
        id: i.campaignId,
        definition: c?.definition ?? i.campaignId,
        status: c?.status ?? "open",
        deadline: c?.deadline ?? "",
        bulkMaxRisk: c?.settings.bulkMaxRisk ?? "low",
      },
      holder: personRef(people, i.identityId),
      access: i.access,
      label: describeAccess(i),
      source: i.source,
      privileged: i.privileged,
      risk: { ...i.risk, reasons: [...i.risk.reasons] },
      evidence: { ...i.evidence, lineage: [...i.evidence.lineage], sodRules: [...i.evidence.sodRules] },
      stage: i.stage,
      reviewer: ref(i.reviewerId),
      ruleReviewer: i.ruleReviewerId === i.reviewerId ? null : ref(i.ruleReviewerId),
      rerouteReason: i.rerouteReason,
      state: i.state,
      decidedBy: ref(i.decidedBy),
      decidedAt: i.decidedAt,
      comment: i.comment,
      bulk: i.bulk,
      removalState: i.removalState,
      removalDetail: i.removalDetail,
      confirmedAt: i.confirmedAt,
      createdAt: i.createdAt,
    };
  });
}

/**
 * Campaigns with their counts; with `reviewerIds` (the caller's own and their delegators'), how many
 * undecided items are theirs in each.
 */
export async function viewCampaigns(
  store: Pick<Store, "db">,
  campaigns: readonly ReviewCampaign[],
  reviewerIds?: readonly string[],
): Promise<CampaignView[]> {
  const out: CampaignView[] = [];
  for (const c of campaigns) {
    const byState = await reviewItemRepository.countByState(store.db, c.id);
    const total = Object.values(byState).reduce((a, b) => a + b, 0);
    let mine: CampaignView["mine"] = null;
    if (reviewerIds !== undefined) {
      const loads = await reviewProgressRepository.byReviewer(store.db, c.id);
      const ids = new Set(reviewerIds);
      mine = {
        pending: loads.reduce(
          (n, l) => n + (l.reviewerId !== null && ids.has(l.reviewerId) ? l.pending : 0),
          0,
        ),
      };
    }
    const { settings, items: _items, ...rest } = c;
    out.push({
      ...rest,
      description: settings.description,
      total,
      pending: byState.pending ?? 0,
      decided: DECIDED_STATES.reduce((n, s) => n + (byState[s] ?? 0), 0),
      byState,
      mine,
    });
  }
  return out;
}

/** Every item of a campaign `scope` may see (all when `scope` is absent), riskiest first. */
export async function campaignItems(
  store: Pick<Store, "db">,
  campaignId: string,
  scope?: ItemScope,
): Promise<ReviewItem[]> {
  // Read as a stream (packs a page at a time), not page by page of the list: a campaign may hold a million.
  const items = await reviewItemRepository.all(store.db, { campaignId }, 1000);
  return scope === undefined ? items : items.filter((i) => itemVisibleTo(i, scope));
}
