import type { Command } from "commander";
import { configuredScheduler } from "../../engine/scheduled-jobs.js";
import {
  type JobRunReport,
  type PassResult,
  type ScheduledJob,
  scheduleStatus,
} from "../../engine/scheduler.js";
import { UsageError } from "../../shared/errors.js";
import { allJobs } from "../../workflows/all-jobs.js";
import { cliActor, globalOptions, now, outputFor, parsePlanHash, withStore } from "../context.js";
import { type Output, printJson, println, printTable } from "../output.js";
import { serverClock } from "./serve-command.js";

/** "3h 5m late", "on time": a lateness in words. */
function lateness(seconds: number): string {
  if (seconds < 60) return "on time";
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${[d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : ""].filter(Boolean).join(" ")} late`;
}

function printRuns(o: Output, result: PassResult): void {
  if (o.json) {
    printJson(o, result);
    return;
  }
  if (!result.leader) {
    println(o, "another process leads the scheduler (PostgreSQL advisory lock): nothing ran here");
    return;
  }
  if (result.runs.length === 0 && result.busy.length === 0) println(o, "nothing is due");
  for (const r of result.runs) println(o, describeRun(r));
  for (const job of result.busy) println(o, `${job}: already running here, not started again`);
}

function describeRun(r: JobRunReport): string {
  const when = `due ${r.due}, ${lateness(r.lateSeconds)}${r.caughtUp ? ", caught up" : ""}`;
  if (r.status === "failed") return `${r.job}: FAILED (${when}): ${r.error ?? ""}`;
  const summary = r.summary === null ? "" : `: ${JSON.stringify(r.summary)}`;
  return `${r.job}: done (${when})${summary}`;
}

/** The job names a selector picks (the job itself, or `reconcile` for every `reconcile:<system>`). */
function checkSelector(selector: string, jobs: readonly ScheduledJob[]): void {
  if (jobs.some((j) => j.name === selector || j.name.startsWith(`${selector}:`))) return;
  throw new UsageError(`no scheduled job "${selector}" (jobs: ${jobs.map((j) => j.name).join(", ")})`);
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command("schedule")
    .description("what runs on the clock without a push (server.schedule): run due jobs, show their state");

  schedule
    .command("run")
    .description(
      "run every job that is due (catching up on missed slots) once and exit — for cron when tenure serve is " +
        "not running; with JOB, run that job now, due or not (`reconcile` runs every reconcile job)",
    )
    .argument("[job]", "lifecycle, notify, tasks, reconcile or reconcile:SYSTEM")
    .option(
      "--confirm-mass-change <planHash>",
      "let the lifecycle sweep stopped by mass-change protection through — exactly the plan with this hash " +
        "(printed by the stop); audited",
      parsePlanHash,
    )
    .action(async (job: string | undefined, opts: { confirmMassChange?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const result = await withStore(g, async ({ config, store }) => {
        const clock = serverClock();
        const deps = {
          store,
          config,
          now: clock,
          actor: cliActor(),
          ...(opts.confirmMassChange !== undefined ? { confirmMassChange: opts.confirmMassChange } : {}),
        };
        const jobs = allJobs(deps);
        if (job !== undefined) checkSelector(job, jobs);
        const scheduler = configuredScheduler({ ...deps, jobs });
        try {
          return await scheduler.runDue(job === undefined ? {} : { only: [job] });
        } finally {
          await scheduler.stop();
        }
      });
      printRuns(o, result);
      const failed = result.runs.filter((r) => r.status === "failed");
      if (failed.some((r) => r.errorCode === "mass_change")) process.exitCode = 3;
      else if (failed.length > 0) process.exitCode = 1;
    });

  schedule
    .command("status")
    .description("every scheduled job: its pattern, its last run (late? failed?) and when it is due next")
    .action(async (_opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const at = now();
      const { jobs, settings } = await withStore(g, async ({ config, store }) => ({
        settings: config.server.schedule,
        jobs: await scheduleStatus(
          store,
          allJobs({ store, config, now: () => at, actor: cliActor() }),
          config.server.schedule.timeZone,
          at,
        ),
      }));
      if (o.json) {
        printJson(o, { enabled: settings.enabled, timeZone: settings.timeZone, jobs });
        return;
      }
      println(
        o,
        `scheduler ${settings.enabled ? "on" : "off"} in tenure serve (server.schedule.enabled); patterns in ${settings.timeZone}`,
      );
      printTable(
        o,
        ["JOB", "PATTERN", "LAST RUN", "STATUS", "NEXT DUE"],
        jobs.map((j) => [
          j.job,
          j.pattern,
          j.last === null ? "never" : `${j.last.startedAt} (${lateness(j.last.lateSeconds)})`,
          j.last === null ? "" : j.last.status === "failed" ? `failed: ${j.last.error ?? ""}` : j.last.status,
          j.nextDue === null ? "off" : `${j.nextDue}${j.overdue ? " (due now)" : ""}`,
        ]),
      );
    });
}
