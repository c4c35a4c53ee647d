import { appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import type { NoResponseAction, ReviewItemState } from "../domain/review-types.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewNoticeRepository, reviewProgressRepository } from "../store/review-progress-repository.js";
import {
  type ItemChange,
  type ReviewCampaign,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";
import { accessChanged } from "./access-clock.js";
import { describeAccess, ReviewRefusedError } from "./review-decisions.js";
import { notifyReviewers, reviewLink } from "./review-notices.js";
import { escalationTarget, peopleCache } from "./review-reviewers.js";

/**
 * The clock of a campaign: reminders before the deadline, escalation after `escalateAfterDays`, and at
 * the deadline `onNoResponse` per item risk (keep, revoke, or escalate once to the reviewer's manager
 * for {@link ESCALATION_DAYS} more days, then keep). Every step is recorded and runs once, whoever runs
 * the timer and however often.
 */

const DAY_MS = 86_400_000;
/** Days an `onNoResponse: escalate` item gets with its new reviewer before the campaign closes. */
export const ESCALATION_DAYS = 7;
/** Items written per transaction when a campaign closes. */
const CLOSE_BATCH = 500;

export interface TickResult {
  reminded: number;
  escalated: number;
  closed: string[];
  extended: string[];
}

/** One pass over every open campaign: reminders, escalations, and closing those past their deadline. */
export async function reviewTick(
  store: Store,
  config: TenureConfig,
  options: { now: Date; actor: string },
): Promise<TickResult> {
  const { now } = options;
  const result: TickResult = { reminded: 0, escalated: 0, closed: [], extended: [] };
  for (const campaign of await reviewCampaignRepository.list(store.db, { status: "open" })) {
    if (Date.parse(campaign.deadline) <= now.getTime()) {
      const closed = await closeCampaign(store, config, campaign.id, { ...options, by: null });
      if (closed.status === "closed") result.closed.push(campaign.id);
      else result.extended.push(campaign.id);
      continue;
    }
    result.reminded += await remind(store.db, config, campaign, now);
    result.escalated += await escalate(store, config, campaign, options);
  }
  return result;
}

async function remind(db: Db, config: TenureConfig, campaign: ReviewCampaign, now: Date): Promise<number> {
  const left = Date.parse(campaign.deadline) - now.getTime();
  // Only the nearest reminder day that has come: a timer that was down does not send three at once.
  const due = [...campaign.settings.remindDaysBefore].sort((a, b) => a - b).find((d) => left <= d * DAY_MS);
  if (due === undefined) return 0;
  let sent = 0;
  for (const load of await reviewProgressRepository.byReviewer(db, campaign.id)) {
    if (load.reviewerId === null) continue;
    if (
      !(await reviewNoticeRepository.claim(
        db,
        `remind:${campaign.id}:${load.reviewerId}:${due}`,
        now.toISOString(),
      ))
    )
      continue;
    const reviewer = await identityRepository.findById(db, load.reviewerId);
    if (reviewer === undefined) continue;
    await enqueueNotifications(
      db,
      {
        name: "review.reminder",
        data: {
          campaignId: campaign.id,
          campaign: campaign.definition,
          to: reviewer.attributes.email,
          reviewer: reviewer.attributes.displayName,
          pending: load.pending,
          daysLeft: Math.max(0, Math.ceil(left / DAY_MS)),
          deadline: campaign.deadline,
          link: reviewLink(config, campaign.id),
        },
      },
      config,
      now,
    );
    sent++;
  }
  return sent;
}

/** Moves every undecided item to its reviewer's manager, once, `escalateAfterDays` after the start. */
async function escalate(
  store: Store,
  config: TenureConfig,
  campaign: ReviewCampaign,
  options: { now: Date; actor: string },
): Promise<number> {
  const after = campaign.settings.escalateAfterDays;
  if (after === null || options.now.getTime() < Date.parse(campaign.startedAt) + after * DAY_MS) return 0;
  if (await reviewNoticeRepository.has(store.db, `escalate:${campaign.id}`)) return 0;
  const moved = await moveToManagers(store, config, campaign, options);
  await reviewNoticeRepository.claim(store.db, `escalate:${campaign.id}`, options.now.toISOString());
  return moved;
}

/** Every pending item of `campaign` to its reviewer's manager (items nobody reviews stay as they are). */
async function moveToManagers(
  store: Store,
  config: TenureConfig,
  campaign: ReviewCampaign,
  options: { now: Date; actor: string },
): Promise<number> {
  const people = peopleCache(store.db);
  const reviewers = new Map<string, Identity | undefined>();
  const holders = new Map<string, Identity | undefined>();
  const touched = new Set<string>();
  let moved = 0;
  for (const item of await reviewItemRepository.all(store.db, {
    campaignId: campaign.id,
    states: ["pending"],
  })) {
    if (item.reviewerId === null) continue;
    if (!reviewers.has(item.reviewerId))
      reviewers.set(item.reviewerId, await identityRepository.findById(store.db, item.reviewerId));
    if (!holders.has(item.identityId))
      holders.set(item.identityId, await identityRepository.findById(store.db, item.identityId));
    const current = reviewers.get(item.reviewerId);
    const holder = holders.get(item.identityId);
    if (current === undefined || holder === undefined) continue;
    const target = await escalationTarget(current, holder, people);
    if (target === undefined) continue;
    const change: ItemChange = {
      reviewerId: target.id,
      ruleReviewerId: item.ruleReviewerId ?? item.reviewerId,
      rerouteReason: "escalated",
    };
    await store.db.transaction().execute(async (trx) => {
      if (!(await reviewItemRepository.update(trx, item.id, item.version, change, ["pending"]))) return;
      await appendEvents(trx, [
        {
          time: options.now.toISOString(),
          actor: options.actor,
          action: "review.item_escalated",
          subject: `identity:${item.identityId}`,
          details: {
            campaign: campaign.id,
            item: item.id,
            access: describeAccess(item),
            from: item.reviewerId,
            to: target.id,
          },
        },
      ]);
      moved++;
      touched.add(target.id);
    });
  }
  if (touched.size > 0) await notifyReviewers(store.db, config, campaign, "escalated", options.now, touched);
  return moved;
}

async function hasEscalationTarget(
  db: Db,
  item: ReviewItem,
  holder: Identity,
  people: ReturnType<typeof peopleCache>,
): Promise<boolean> {
  if (item.reviewerId === null) return false;
  const reviewer = await identityRepository.findById(db, item.reviewerId);
  return reviewer !== undefined && (await escalationTarget(reviewer, holder, people)) !== undefined;
}

/**
 * Closes a campaign (at its deadline, or earlier by an admin, `by` then being who): each undecided item
 * follows `onNoResponse` for its risk. `escalate` moves it to the reviewer's manager and gives the
 * campaign {@link ESCALATION_DAYS} more days, once; at the second deadline what is still undecided is
 * kept and reported as such. Items whose holder left are void. Returns the campaign as it is after.
 */
export async function closeCampaign(
  store: Store,
  config: TenureConfig,
  campaignId: string,
  options: { now: Date; actor: string; by: Identity | null },
): Promise<ReviewCampaign> {
  const { now, actor } = options;
  const campaign = await reviewCampaignRepository.find(store.db, campaignId);
  if (campaign === undefined) throw new NotFoundError(`no campaign has the id "${campaignId}"`);
  if (campaign.status === "closed") {
    throw new ReviewRefusedError(
      "campaign_closed",
      `campaign ${campaign.definition} already closed at ${campaign.closedAt}`,
      409,
    );
  }
  const pending = await reviewItemRepository.all(store.db, { campaignId: campaign.id, states: ["pending"] });
  const escalatedOnce = await reviewNoticeRepository.has(store.db, `final-escalation:${campaign.id}`);
  const toEscalate: ReviewItem[] = [];
  const changes: { item: ReviewItem; change: ItemChange; action: NoResponseAction | "void" }[] = [];
  const holders = await identityRepository.findByIds(store.db, [
    ...new Set(pending.map((i) => i.identityId)),
  ]);
  const people = peopleCache(store.db);
  for (const item of pending) {
    const holder = holders.get(item.identityId);
    if (holder === undefined || isGone(holder.state)) {
      changes.push({
        item,
        action: "void",
        change: { state: "void", decidedAt: now.toISOString(), comment: "the holder left" },
      });
      continue;
    }
    let action = campaign.settings.onNoResponse[item.risk.level];
    if (action === "escalate" && (escalatedOnce || item.rerouteReason === "escalated")) action = "keep";
    // Escalation needs someone above the reviewer (not the holder); without one the item is kept.
    if (action === "escalate" && !(await hasEscalationTarget(store.db, item, holder, people)))
      action = "keep";
    if (action === "escalate") {
      toEscalate.push(item);
      continue;
    }
    const state: ReviewItemState = action === "revoke" ? "revoked-no-response" : "kept-no-response";
    changes.push({
      item,
      action,
      change: {
        state,
        decidedAt: now.toISOString(),
        comment: `no response by the deadline: ${action === "revoke" ? "revoked" : "kept"} (onNoResponse for ${item.risk.level} risk)`,
        ...(action === "revoke" ? { removalState: "pending" as const } : {}),
      },
    });
  }
  for (let i = 0; i < changes.length; i += CLOSE_BATCH) {
    const batch = changes.slice(i, i + CLOSE_BATCH);
    await store.db.transaction().execute(async (trx) => {
      const events = [];
      for (const { item, change, action } of batch) {
        if (!(await reviewItemRepository.update(trx, item.id, item.version, change, ["pending"]))) continue;
        events.push({
          time: now.toISOString(),
          actor,
          action: action === "void" ? "review.item_voided" : "review.no_response",
          subject: `identity:${item.identityId}`,
          details: {
            campaign: campaign.id,
            item: item.id,
            access: describeAccess(item),
            risk: item.risk.level,
            ...(action === "void"
              ? { why: "the holder left" }
              : { outcome: action, reviewer: item.reviewerId }),
          },
        });
      }
      if (events.length > 0) await appendEvents(trx, events);
    });
  }
  if (changes.some((c) => c.action === "revoke")) accessChanged();
  if (toEscalate.length > 0) {
    const deadline = new Date(now.getTime() + ESCALATION_DAYS * DAY_MS).toISOString();
    await reviewNoticeRepository.claim(store.db, `final-escalation:${campaign.id}`, now.toISOString());
    await reviewCampaignRepository.extendDeadline(store.db, campaign.id, deadline);
    await appendEvents(store.db, [
      {
        time: now.toISOString(),
        actor,
        action: "review.campaign_extended",
        subject: `campaign:${campaign.id}`,
        details: {
          campaign: campaign.id,
          definition: campaign.definition,
          deadline,
          escalated: toEscalate.length,
        },
      },
    ]);
    await moveToManagers(store, config, { ...campaign, deadline }, { now, actor });
    return (await reviewCampaignRepository.find(store.db, campaign.id))!;
  }
  await store.db.transaction().execute(async (trx) => {
    if (
      !(await reviewCampaignRepository.close(trx, campaign.id, now.toISOString(), options.by?.id ?? actor))
    ) {
      throw new ReviewRefusedError(
        "campaign_closed",
        `campaign ${campaign.definition} was closed meanwhile`,
        409,
      );
    }
    const counts = await reviewItemRepository.countByState(trx, campaign.id);
    await appendEvents(trx, [
      {
        time: now.toISOString(),
        actor,
        action: "review.campaign_closed",
        subject: `campaign:${campaign.id}`,
        details: {
          campaign: campaign.id,
          definition: campaign.definition,
          early: now.getTime() < Date.parse(campaign.deadline),
          ...counts,
        },
      },
    ]);
  });
  return (await reviewCampaignRepository.find(store.db, campaign.id))!;
}
