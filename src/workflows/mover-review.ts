import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import type { ReviewDefinition } from "../domain/review-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewNoticeRepository } from "../store/review-progress-repository.js";
import { startCampaign } from "./review-generation.js";

/**
 * Mover micro-reviews (`reviews.moverReview: true`): after a move, the new manager is asked about the
 * access kept from the old role, with the end of mover grace as the deadline — so what the grace keeps
 * is either confirmed (then requested properly) or ends early, never silently kept.
 */

const DAY_MS = 86_400_000;

/** The campaign definition of one mover's micro-review. */
export function moverDefinition(config: TenureConfig): ReviewDefinition {
  const days = Math.max(1, Math.ceil(config.lifecycle.moverGraceDays));
  return {
    name: "mover",
    description: "Access kept from the previous role after a move, for the new manager",
    scope: {
      systems: [],
      entitlements: [],
      roles: [],
      privilegedOnly: false,
      requestedOnly: false,
      keptAfterMove: true,
      nonHuman: false,
      where: null,
    },
    stages: [{ reviewer: { kind: "manager" } }],
    schedule: null,
    durationDays: days,
    remindDaysBefore: days > 1 ? [1] : [],
    escalateAfterDays: null,
    // Kept access is temporary by nature: what nobody confirms ends with the grace anyway.
    onNoResponse: { high: "revoke", medium: "keep", low: "keep" },
    bulkMaxRisk: "low",
    risk: { unusedDays: 90, peerPercent: 10 },
    location: { file: "(lifecycle)", line: 0, column: 0 },
  };
}

export interface MoverReviewResult {
  started: { identityId: string; campaignId: string; items: number }[];
  /** Movers with nothing kept from the old role: nothing to ask. */
  nothingKept: number;
}

/**
 * Starts a micro-review for each mover whose grace is running and who has none yet (once per move,
 * whoever runs it). Does nothing when `reviews.moverReview` is off or mover grace is 0 days.
 */
export async function startMoverReviews(
  store: Store,
  config: TenureConfig,
  options: { now: Date; actor: string },
): Promise<MoverReviewResult> {
  const result: MoverReviewResult = { started: [], nothingKept: 0 };
  const graceDays = config.lifecycle.moverGraceDays;
  if (!(config.reviews?.moverReview ?? false) || graceDays <= 0) return result;
  const { now } = options;
  const since = new Date(now.getTime() - graceDays * DAY_MS).toISOString();
  const movers = await identityRepository.attributesChangedSince(store.db, since);
  for (const mover of movers) {
    if (isGone(mover.state) || mover.attributesChangedAt === null) continue;
    const key = `mover:${mover.id}:${mover.attributesChangedAt}`;
    if (await reviewNoticeRepository.has(store.db, key)) continue;
    const until = new Date(Date.parse(mover.attributesChangedAt) + graceDays * DAY_MS);
    const started = await startOne(store, config, mover, until, options);
    await reviewNoticeRepository.claim(store.db, key, now.toISOString());
    if (started === null) result.nothingKept++;
    else result.started.push(started);
  }
  return result;
}

async function startOne(
  store: Store,
  config: TenureConfig,
  mover: Identity,
  until: Date,
  options: { now: Date; actor: string },
): Promise<MoverReviewResult["started"][number] | null> {
  const { campaign, items } = await startCampaign(store.db, config, moverDefinition(config), {
    now: options.now,
    startedBy: "lifecycle",
    kind: "mover",
    subjectIdentityId: mover.id,
    deadline: until,
    identityIds: [mover.id],
  });
  if (items === 0 || campaign === null) return null;
  return { identityId: mover.id, campaignId: campaign.id, items };
}
