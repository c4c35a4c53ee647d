import { appendEvents } from "../audit/ledger.js";
import type { Policy } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import type { ReviewDecisionKind, ReviewItemState, ReviewRisk } from "../domain/review-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { delegationRepository } from "../store/delegation-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import {
  type ItemChange,
  type ReviewCampaign,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";
import { accessChanged } from "./access-clock.js";
import { notifyReviewers } from "./review-notices.js";
import { chooseReviewer, peopleCache } from "./review-reviewers.js";

/**
 * Decisions on review items: certify, revoke (a reason required), delegate. Every refusal changes
 * nothing and says why. Two reviewers deciding one item at once: exactly one decision is kept (the
 * item's version). A revocation is only recorded here (removal `pending`); review-removal.ts removes
 * the access at its source and confirms it in the target.
 */

export const MAX_REVIEW_COMMENT = 2_000;
/** The most items one bulk decision may cover. */
export const MAX_BULK_ITEMS = 1_000;

export class ReviewRefusedError extends TenureError {
  constructor(code: string, message: string, httpStatus = 422) {
    super(code, `${message}; nothing was changed`, { httpStatus });
  }
}

/** Who is acting: a person (their identity), and whether their platform role is admin. */
export interface ReviewActor {
  person: Identity | null;
  asAdmin: boolean;
  /** As the ledger records the actor: `identity:ID`, `token:NAME`. */
  label: string;
}

const RISK_ORDER: Record<ReviewRisk, number> = { low: 0, medium: 1, high: 2 };

function name(i: Identity | undefined, fallback: string): string {
  return i?.attributes.displayName ?? fallback;
}

/** `entitlement erp:payment-approve` / `role ap-clerk`. */
export function describeAccess(item: Pick<ReviewItem, "access">): string {
  const a = item.access;
  return a.kind === "role" ? `role ${a.role}` : `${a.system}:${a.entitlement}`;
}

/** Whether the configuration still knows the access (an item found only in the target needs no definition). */
function stillConfigured(policy: Policy, item: ReviewItem): boolean {
  if (item.source === "found") return true;
  const a = item.access;
  return a.kind === "role"
    ? policy.roles[a.role] !== undefined
    : policy.entitlements[a.system]?.[a.entitlement] !== undefined;
}

interface Loaded {
  item: ReviewItem;
  campaign: ReviewCampaign;
  holder: Identity | undefined;
}

async function load(db: Db, itemId: string): Promise<Loaded> {
  const item = await reviewItemRepository.find(db, itemId);
  if (item === undefined) throw new NotFoundError(`no review item has the id "${itemId}"`);
  const campaign = await reviewCampaignRepository.find(db, item.campaignId);
  if (campaign === undefined) throw new NotFoundError(`review item ${itemId} belongs to no campaign`);
  const holder = await identityRepository.findById(db, item.identityId);
  return { item, campaign, holder };
}

/** Whether `person` may decide `item` now: its reviewer, or someone the reviewer delegated to now. */
async function mayDecide(db: Db, item: ReviewItem, person: Identity, now: Date): Promise<boolean> {
  if (item.reviewerId === null) return false;
  if (item.reviewerId === person.id) return true;
  const delegators = await delegationRepository.delegatorsOf(db, person.id, now.toISOString());
  return delegators.includes(item.reviewerId);
}

function decidedWords(item: ReviewItem): string {
  return `${describeAccess(item)} was already decided (${item.state}${item.decidedAt === null ? "" : ` at ${item.decidedAt}`})`;
}

/**
 * The checks every decision passes, in order; the first failing one refuses. Items whose holder left
 * or whose access is no longer configured are made void first (there is nothing left to decide).
 */
async function checkDecidable(
  store: Store,
  config: TenureConfig,
  loaded: Loaded,
  actor: ReviewActor,
  now: Date,
): Promise<Identity> {
  const { item, campaign, holder } = loaded;
  const person = actor.person;
  if (person === null) {
    throw new ReviewRefusedError(
      "no_person",
      "a review decision is a person's: use a token bound to an identity (tenure token create --identity) or --as",
      403,
    );
  }
  if (campaign.status === "closed") {
    throw new ReviewRefusedError(
      "campaign_closed",
      `campaign ${campaign.definition} closed at ${campaign.closedAt}: decisions are no longer taken`,
      409,
    );
  }
  if (item.state !== "pending") throw new ReviewRefusedError("already_decided", decidedWords(item), 409);
  if (person.id === item.identityId) {
    throw new ReviewRefusedError(
      "self_review",
      `${person.attributes.displayName} holds ${describeAccess(item)}: nobody reviews their own access`,
      403,
    );
  }
  if (!(await mayDecide(store.db, item, person, now))) {
    throw new ReviewRefusedError(
      "not_your_item",
      `item ${item.id} is not for ${person.attributes.displayName} to review`,
      403,
    );
  }
  if (holder === undefined || isGone(holder.state)) {
    await voidItem(store, item, "the holder left", actor.label, now);
    throw new ReviewRefusedError(
      "holder_left",
      `${name(holder, item.identityId)} left: their access is removed by the lifecycle, the item is void`,
      409,
    );
  }
  if (!stillConfigured(config.policy, item)) {
    await voidItem(store, item, "the access is no longer configured", actor.label, now);
    throw new ReviewRefusedError(
      "access_gone",
      `${describeAccess(item)} is no longer in the configuration: the next plan removes it, the item is void`,
      409,
    );
  }
  return holder;
}

/** Makes an undecided item void (nothing left to decide), recorded in the ledger. */
export async function voidItem(
  store: Store,
  item: ReviewItem,
  why: string,
  actor: string,
  now: Date,
): Promise<boolean> {
  return store.db.transaction().execute(async (trx) => {
    const ok = await reviewItemRepository.update(
      trx,
      item.id,
      item.version,
      { state: "void", decidedAt: now.toISOString(), comment: why },
      ["pending"],
    );
    if (ok) await appendEvents(trx, [itemEvent(item, "review.item_voided", actor, now, { why })]);
    return ok;
  });
}

function itemEvent(
  item: ReviewItem,
  action: string,
  actor: string,
  now: Date,
  details: Record<string, unknown> = {},
) {
  return {
    time: now.toISOString(),
    actor,
    action,
    subject: `identity:${item.identityId}`,
    details: {
      campaign: item.campaignId,
      item: item.id,
      access: describeAccess(item),
      source: item.source,
      risk: item.risk.level,
      score: item.risk.score,
      stage: item.stage,
      ...details,
    },
  };
}

function checkComment(decision: ReviewDecisionKind, comment: string | undefined): string | null {
  const text = (comment ?? "").trim();
  if (text.length > MAX_REVIEW_COMMENT) {
    throw new ReviewRefusedError(
      "comment_too_long",
      `a comment has at most ${MAX_REVIEW_COMMENT} characters`,
    );
  }
  if (decision === "revoke" && text === "") {
    throw new ReviewRefusedError(
      "reason_required",
      "a revocation needs a reason: say why the access should go",
    );
  }
  return text === "" ? null : text;
}

/**
 * The change a decision makes: a certification moves the item to the next stage when the campaign has
 * one (a new reviewer, still pending), else certifies; a revocation is final at any stage.
 */
async function decisionChange(
  store: Store,
  config: TenureConfig,
  loaded: Loaded,
  holder: Identity,
  decision: ReviewDecisionKind,
  by: Identity,
  comment: string | null,
  now: Date,
  bulk: boolean,
): Promise<{ change: ItemChange; final: boolean }> {
  const { item, campaign } = loaded;
  const at = now.toISOString();
  if (decision === "revoke") {
    return {
      change: { state: "revoked", decidedBy: by.id, decidedAt: at, comment, bulk, removalState: "pending" },
      final: true,
    };
  }
  const next = campaign.settings.stages[item.stage + 1];
  if (next !== undefined) {
    const choice = await chooseReviewer(
      next.reviewer,
      holder,
      item.access,
      config.policy,
      peopleCache(store.db),
    );
    // The first stage's reviewer does not confirm their own certification in the second.
    const reviewerId = choice.reviewerId === by.id ? null : choice.reviewerId;
    return {
      change: {
        stage: item.stage + 1,
        reviewerId,
        ruleReviewerId: choice.ruleReviewerId,
        rerouteReason: reviewerId === null ? "no-reviewer" : choice.rerouteReason,
        comment,
      },
      final: false,
    };
  }
  return { change: { state: "certified", decidedBy: by.id, decidedAt: at, comment, bulk }, final: true };
}

/** Tells second-stage reviewers they have items (once a day per campaign and reviewer). */
async function notifySecondStage(
  trx: Db,
  config: TenureConfig,
  campaign: ReviewCampaign,
  reviewers: readonly string[],
  now: Date,
): Promise<void> {
  await notifyReviewers(
    trx,
    config,
    campaign,
    "second stage",
    now,
    new Set(reviewers),
    now.toISOString().slice(0, 10),
  );
}

export interface DecideInput {
  itemId: string;
  decision: ReviewDecisionKind;
  comment?: string;
}

/** One decision on one item. Refused (nothing written) when any check fails. */
export async function decideItem(
  store: Store,
  config: TenureConfig,
  input: DecideInput,
  actor: ReviewActor,
  now: Date,
): Promise<ReviewItem> {
  const comment = checkComment(input.decision, input.comment);
  const loaded = await load(store.db, input.itemId);
  const holder = await checkDecidable(store, config, loaded, actor, now);
  const by = actor.person!;
  const { change, final } = await decisionChange(
    store,
    config,
    loaded,
    holder,
    input.decision,
    by,
    comment,
    now,
    false,
  );
  await store.db.transaction().execute(async (trx) => {
    await writeDecision(trx, loaded.item, change, input.decision, final, by, actor.label, now);
    if (!final && change.reviewerId)
      await notifySecondStage(trx, config, loaded.campaign, [change.reviewerId], now);
  });
  // The access timer removes what was revoked within seconds, not at its next poll.
  if (input.decision === "revoke") accessChanged();
  return (await reviewItemRepository.find(store.db, loaded.item.id))!;
}

/** Writes one decision in `trx` if the item is still as it was read; refuses otherwise. */
async function writeDecision(
  trx: Db,
  item: ReviewItem,
  change: ItemChange,
  decision: ReviewDecisionKind,
  final: boolean,
  by: Identity,
  actor: string,
  now: Date,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const ok = await reviewItemRepository.update(trx, item.id, item.version, change, ["pending"]);
  if (!ok) {
    const current = await reviewItemRepository.find(trx, item.id);
    throw new ReviewRefusedError(
      "decided_concurrently",
      current === undefined || current.state === "pending"
        ? `item ${item.id} changed while it was being decided (another reviewer or a delegation): reload it`
        : decidedWords(current),
      409,
    );
  }
  const action =
    decision === "revoke" ? "review.item_revoked" : final ? "review.item_certified" : "review.item_advanced";
  await appendEvents(trx, [
    itemEvent(item, action, actor, now, {
      decidedBy: by.id,
      ...(change.comment ? { comment: change.comment } : {}),
      ...(final ? {} : { nextStage: change.stage, nextReviewer: change.reviewerId }),
      ...extra,
    }),
  ]);
}

export interface BulkInput {
  itemIds: readonly string[];
  decision: ReviewDecisionKind;
  comment: string;
}

export interface BulkResult {
  decided: ReviewItem[];
}

/**
 * One decision on many items with one comment: allowed only on items at or below the campaign's
 * `bulkMaxRisk` and never on privileged ones (those are decided one at a time, read one at a time).
 * All or nothing: one item that may not be bulk-decided refuses the whole batch, naming it.
 */
export async function decideBulk(
  store: Store,
  config: TenureConfig,
  input: BulkInput,
  actor: ReviewActor,
  now: Date,
): Promise<BulkResult> {
  const ids = [...new Set(input.itemIds)];
  if (ids.length === 0) throw new ReviewRefusedError("no_items", "name at least one item");
  if (ids.length > MAX_BULK_ITEMS) {
    throw new ReviewRefusedError("too_many_items", `a bulk decision covers at most ${MAX_BULK_ITEMS} items`);
  }
  const text = (input.comment ?? "").trim();
  if (text === "") {
    throw new ReviewRefusedError(
      "comment_required",
      "a bulk decision needs one comment saying what was checked",
    );
  }
  const comment = checkComment(input.decision, text);
  const items = await reviewItemRepository.findMany(store.db, ids);
  const found = new Set(items.map((i) => i.id));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw new NotFoundError(`no review item has the id "${missing[0]}"`);
  const campaigns = new Map<string, ReviewCampaign>();
  for (const item of items) {
    if (!campaigns.has(item.campaignId)) {
      const c = await reviewCampaignRepository.find(store.db, item.campaignId);
      if (c !== undefined) campaigns.set(c.id, c);
    }
    const campaign = campaigns.get(item.campaignId)!;
    if (item.privileged) {
      throw new ReviewRefusedError(
        "privileged_item",
        `${describeAccess(item)} (item ${item.id}) is privileged: decide it on its own`,
      );
    }
    if (RISK_ORDER[item.risk.level] > RISK_ORDER[campaign.settings.bulkMaxRisk]) {
      throw new ReviewRefusedError(
        "risk_too_high",
        `${describeAccess(item)} (item ${item.id}) is ${item.risk.level} risk: bulk decisions cover ${campaign.settings.bulkMaxRisk} risk at most, decide it on its own`,
      );
    }
  }
  // Every check first, so a refusal changes nothing.
  const prepared: { loaded: Loaded; change: ItemChange; final: boolean }[] = [];
  for (const item of items) {
    const loaded: Loaded = {
      item,
      campaign: campaigns.get(item.campaignId)!,
      holder: await identityRepository.findById(store.db, item.identityId),
    };
    const holder = await checkDecidable(store, config, loaded, actor, now);
    const { change, final } = await decisionChange(
      store,
      config,
      loaded,
      holder,
      input.decision,
      actor.person!,
      comment,
      now,
      true,
    );
    prepared.push({ loaded, change, final });
  }
  await store.db.transaction().execute(async (trx) => {
    const next = new Map<string, Set<string>>();
    for (const p of prepared) {
      if (p.final || !p.change.reviewerId) continue;
      const reviewers = next.get(p.loaded.campaign.id) ?? new Set<string>();
      reviewers.add(p.change.reviewerId);
      next.set(p.loaded.campaign.id, reviewers);
    }
    for (const [id, reviewers] of next)
      await notifySecondStage(trx, config, campaigns.get(id)!, [...reviewers], now);
    for (const p of prepared) {
      await writeDecision(
        trx,
        p.loaded.item,
        p.change,
        input.decision,
        p.final,
        actor.person!,
        actor.label,
        now,
        {
          bulk: prepared.length,
        },
      );
    }
  });
  if (input.decision === "revoke") accessChanged();
  return { decided: await reviewItemRepository.findMany(store.db, ids) };
}

export interface DelegateInput {
  itemId: string;
  /** An email address, HR key or identity id. */
  to: string;
  comment?: string;
}

/**
 * Hands an undecided item to another reviewer: by its reviewer, or by an admin (who assigns items
 * nobody could review). Never to the holder, never to oneself.
 */
export async function delegateItem(
  store: Store,
  config: TenureConfig,
  input: DelegateInput,
  actor: ReviewActor,
  now: Date,
): Promise<ReviewItem> {
  const loaded = await load(store.db, input.itemId);
  const { item, campaign } = loaded;
  if (campaign.status === "closed") {
    throw new ReviewRefusedError(
      "campaign_closed",
      `campaign ${campaign.definition} closed at ${campaign.closedAt}`,
      409,
    );
  }
  if (item.state !== "pending") throw new ReviewRefusedError("already_decided", decidedWords(item), 409);
  const person = actor.person;
  const isReviewer = person !== null && (await mayDecide(store.db, item, person, now));
  if (!isReviewer && !actor.asAdmin) {
    throw new ReviewRefusedError("not_your_item", `item ${item.id} is not yours to delegate`, 403);
  }
  const to = await identityRepository.resolve(store.db, input.to);
  if (to === undefined || isGone(to.state)) {
    throw new NotFoundError(`no active identity is "${input.to}"`);
  }
  if (to.id === item.identityId) {
    throw new ReviewRefusedError(
      "self_review",
      `${to.attributes.displayName} holds ${describeAccess(item)}: nobody reviews their own access`,
      403,
    );
  }
  if (to.id === item.reviewerId) {
    throw new ReviewRefusedError(
      "same_reviewer",
      `${to.attributes.displayName} already reviews item ${item.id}`,
      409,
    );
  }
  const comment = checkComment("certify", input.comment);
  const change: ItemChange = {
    reviewerId: to.id,
    ruleReviewerId: item.ruleReviewerId ?? item.reviewerId,
    rerouteReason: "delegated",
  };
  await store.db.transaction().execute(async (trx) => {
    const ok = await reviewItemRepository.update(trx, item.id, item.version, change, ["pending"]);
    if (!ok) {
      throw new ReviewRefusedError(
        "decided_concurrently",
        `item ${item.id} changed meanwhile: reload it`,
        409,
      );
    }
    await appendEvents(trx, [
      itemEvent(item, "review.item_delegated", actor.label, now, {
        from: item.reviewerId,
        to: to.id,
        ...(comment === null ? {} : { comment }),
      }),
    ]);
    await notifyReviewers(
      trx,
      config,
      campaign,
      "delegated",
      now,
      new Set([to.id]),
      now.toISOString().slice(0, 10),
    );
  });
  return (await reviewItemRepository.find(store.db, item.id))!;
}

/** The states in which an item needs nothing more from a reviewer. */
export const DECIDED_STATES: readonly ReviewItemState[] = [
  "certified",
  "revoked",
  "kept-no-response",
  "revoked-no-response",
  "void",
];
