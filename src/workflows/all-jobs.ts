import { accessCheckpointJobs } from "../engine/access-checkpoint-job.js";
import { type JobDeps, scheduledJobs } from "../engine/scheduled-jobs.js";
import type { ScheduledJob } from "../engine/scheduler.js";
import { evidenceJobs } from "./evidence-alerts.js";
import { nhiJobs } from "./nhi-jobs.js";
import { reviewJobs } from "./review-jobs.js";

/**
 * Every scheduled job `tenure serve`, `tenure schedule` and the demo run: the engine's, then the
 * workflows' — access reviews, evidence alerts, non-human identities. A workflow adds its jobs here.
 */
export function allJobs(deps: JobDeps): ScheduledJob[] {
  return [
    ...scheduledJobs(deps),
    ...reviewJobs(deps),
    ...evidenceJobs(deps),
    ...nhiJobs(deps),
    ...accessCheckpointJobs(deps),
  ];
}
