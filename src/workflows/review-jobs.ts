import type { JobDeps } from "../engine/scheduled-jobs.js";
import type { ScheduledJob } from "../engine/scheduler.js";
import { runDormantCheck } from "./dormant-accounts.js";
import { startMoverReviews } from "./mover-review.js";
import { reviewTick } from "./review-closing.js";
import { startCampaign } from "./review-generation.js";

/**
 * The scheduled jobs of access reviews, beside the engine's:
 * - `review:<name>` — starts a campaign of each definition with a `schedule`;
 * - `reviews` — at server.schedule.reviews: reminders, escalations, closing at the deadline, mover
 *   micro-reviews, dormant-account notices and disables (only when `reviews:` configures any of them).
 * Revocations are applied by the access timer (within seconds), not here.
 */
export function reviewJobs(deps: JobDeps): ScheduledJob[] {
  const { store, config, actor } = deps;
  const reviews = config.reviews;
  if (reviews === undefined) return [];
  const jobs: ScheduledJob[] = [];
  for (const definition of Object.values(reviews.campaigns)) {
    if (definition.schedule === null) continue;
    jobs.push({
      name: `review:${definition.name}`,
      pattern: definition.schedule,
      description: `start the access review ${definition.name}${definition.description === null ? "" : `: ${definition.description}`}`,
      async run({ now }) {
        const started = await startCampaign(store.db, config, definition.name, {
          now,
          startedBy: actor,
          kind: "scheduled",
        });
        return { campaign: started.campaign?.id ?? null, items: started.items };
      },
    });
  }
  const any =
    Object.keys(reviews.campaigns).length > 0 ||
    reviews.moverReview ||
    Object.keys(reviews.dormant).length > 0;
  if (any) {
    jobs.push({
      name: "reviews",
      pattern: config.server.schedule.reviews,
      description:
        "access reviews: reminders, escalations, closing at the deadline, mover micro-reviews, dormant accounts",
      async run({ now }) {
        const tick = await reviewTick(store, config, { now, actor });
        const movers = await startMoverReviews(store, config, { now, actor });
        const dormant = await runDormantCheck({ db: store.db, config, now, actor });
        return {
          dormantNoticed: dormant.noticed.length,
          dormantDisabled: dormant.disabled.length,
          dormantCleared: dormant.cleared.length,
          reminded: tick.reminded,
          escalated: tick.escalated,
          closed: tick.closed.length,
          extended: tick.extended.length,
          moverReviews: movers.started.length,
        };
      },
    });
  }
  return jobs;
}
