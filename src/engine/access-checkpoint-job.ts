import { takeAccessCheckpoint } from "../audit/access-checkpoints.js";
import type { JobDeps } from "./scheduled-jobs.js";
import type { ScheduledJob } from "./scheduler.js";

/** Daily at 03:15 in the schedule's time zone, unless `server.schedule.checkpoint` says otherwise. */
const DEFAULT_PATTERN = "15 3 * * *";

/**
 * `audit-checkpoint`: an access checkpoint (audit/access-checkpoints.ts), so a point-in-time question
 * replays at most the ledger since the last one. Only when a system is configured: without one there
 * are no accounts to hold.
 */
export function accessCheckpointJobs(deps: Pick<JobDeps, "store" | "config" | "actor">): ScheduledJob[] {
  const { store, config, actor } = deps;
  if (Object.keys(config.policy.systems).length === 0) return [];
  return [
    {
      name: "audit-checkpoint",
      pattern: config.server.schedule.checkpoint ?? DEFAULT_PATTERN,
      description: "record the access state at the ledger's head, for fast point-in-time questions",
      async run({ now }) {
        const result = await takeAccessCheckpoint(store.db, { now, actor });
        return { seq: result.seq, accounts: result.accounts, caughtUp: result.caughtUp };
      },
    },
  ];
}
