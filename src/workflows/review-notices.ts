import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewNoticeRepository, reviewProgressRepository } from "../store/review-progress-repository.js";
import type { ReviewCampaign } from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";

/**
 * Telling reviewers they have items: at a campaign's start, and whenever items move to them (second
 * stage, delegation, escalation) — each reviewer once per campaign, reason and `once` key.
 */

/** Where a reviewer reviews: the console's inbox, or the command. */
export function reviewLink(config: TenureConfig, campaignId: string): string {
  const base = config.server.console.publicUrl;
  return base === undefined
    ? `tenure review list --campaign ${campaignId}`
    : `${base.replace(/\/$/, "")}/reviews/${encodeURIComponent(campaignId)}`;
}

/** Tells each reviewer with items in `campaign` how many they have (once per reviewer and reason). */
export async function notifyReviewers(
  db: Db,
  config: TenureConfig,
  campaign: ReviewCampaign,
  why: string,
  now: Date,
  only?: ReadonlySet<string>,
  /** Distinguishes repeated moves of the same kind (e.g. the day): absent, once per reason. */
  once = "",
): Promise<number> {
  let sent = 0;
  for (const load of await reviewProgressRepository.byReviewer(db, campaign.id)) {
    if (load.reviewerId === null || (only !== undefined && !only.has(load.reviewerId))) continue;
    const reviewer = await identityRepository.findById(db, load.reviewerId);
    if (reviewer === undefined) continue;
    const fresh = await reviewNoticeRepository.claim(
      db,
      `assigned:${campaign.id}:${reviewer.id}:${why}:${once}`,
      now.toISOString(),
    );
    if (!fresh) continue;
    await enqueueNotifications(
      db,
      {
        name: "review.assigned",
        data: {
          campaignId: campaign.id,
          campaign: campaign.definition,
          to: reviewer.attributes.email,
          reviewer: reviewer.attributes.displayName,
          items: load.pending,
          highRisk: load.high,
          deadline: campaign.deadline,
          why,
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
