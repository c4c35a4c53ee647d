import { Cron } from "croner";
import { appendEvents } from "../audit/ledger.js";
import { safeMessage } from "../notify/delivery-errors.js";
import { TenureError } from "../shared/errors.js";
import { redactUrl } from "../shared/redact.js";
import { newTraceId, withTraceId } from "../shared/trace-context.js";
import type { Store } from "../store/database.js";
import { type ScheduleRunRecord, scheduleRunRepository } from "../store/schedule-run-repository.js";
import type { SchedulerLeadership } from "./scheduler-leadership.js";

/** What a job is handed when it runs. */
export interface JobContext {
  /** When this run started: the `now` its work is done at. */
  now: Date;
  /** The slot it runs for (the first one missed, when it catches up). */
  due: Date;
  /** Aborted when the scheduler stops: a long job finishes what it started and stops early. */
  signal: AbortSignal;
}

/** One thing the scheduler does on the clock. */
export interface ScheduledJob {
  /** `lifecycle`, `notify`, `tasks`, `reconcile:<system>`: the key of its `schedule_runs` row. */
  name: string;
  /** A cron pattern (5 fields, or 6 with seconds first) read in the scheduler's time zone, or `off`. */
  pattern: string;
  description: string;
  /** Does the work; returns a few numbers for the record. A throw is a failed run (recorded, retried at the next slot). */
  run(ctx: JobContext): Promise<Record<string, unknown> | undefined>;
}

/** Logs in the shape of pino's (`app.log` of the server), so serve can pass its own. */
export interface SchedulerLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SchedulerDeps {
  store: Pick<Store, "db">;
  jobs: readonly ScheduledJob[];
  /** The clock (TENURE_NOW pins it); read for due times, run times and records. */
  now: () => Date;
  /** The IANA time zone patterns are read in (server.schedule.timeZone). */
  timeZone: string;
  leadership: SchedulerLeadership;
  /** The actor of `schedule.*` audit events. Default `scheduler`. */
  actor?: string;
  /** How often a process that is not the leader tries to become it, in ms. Default 30 000. */
  leaderRetryMs?: number;
  /**
   * A run that starts more than this many seconds after its slot is a catch-up (audited as such): the
   * slot fell due while no scheduler ran, or while the job was still busy. Default 60.
   */
  catchUpGraceSeconds?: number;
  /** Values masked wherever a job's error is recorded (the config's passwords, webhook URLs). */
  secrets?: readonly string[];
  log?: SchedulerLog;
}

/** What became of one job in one pass. */
export interface JobRunReport {
  job: string;
  /** The slot it ran for (ISO-8601): its first slot after `previousDue`, or now when run by name or for the first time. */
  due: string;
  /** The last slot handled before this run; null for a job's first run. */
  previousDue: string | null;
  /** When it started. */
  ran: string;
  finished: string;
  /** How long after `due` it started, in whole seconds. */
  lateSeconds: number;
  /**
   * It made up for slots that fell due while it could not run (no scheduler ran, another process led
   * and died, or the job was still busy): it started more than the grace after its slot.
   */
  caughtUp: boolean;
  status: "succeeded" | "failed";
  summary: Record<string, unknown> | null;
  /** Why it failed, free of secrets. */
  error: string | null;
  /** The code of a Tenure error (`mass_change` for a run stopped by mass-change protection), else null. */
  errorCode: string | null;
  /** The run's trace id: on the operations it queued (`operations.trace_id`) and its log lines. */
  traceId: string;
}

export interface PassResult {
  /** False: another process leads (PostgreSQL), so nothing ran here. */
  leader: boolean;
  runs: JobRunReport[];
  /** Jobs asked for by name that were already running here, so were not started again. */
  busy: string[];
}

/** A job as `schedule status` shows it. */
export interface JobStatus {
  job: string;
  pattern: string;
  description: string;
  last: ScheduleRunRecord | null;
  /** When it runs next (ISO-8601): its first slot after the last due time it handled; null when off. */
  nextDue: string | null;
  /** The next slot has passed: it runs at the next pass (at once, when a scheduler is running). */
  overdue: boolean;
}

export interface Scheduler {
  /**
   * Starts: at once a pass runs every job that is due — catching up on what fell due while no scheduler
   * ran — then each job follows its pattern until `stop()`. Resolves once started (not when jobs finish).
   */
  start(): void;
  /**
   * One pass, awaited: becomes leader if it can, then runs the jobs that are due (or, with `only`, the
   * named jobs whether due or not) and waits for them. What `tenure schedule run` does.
   */
  runDue(options?: { only?: readonly string[] }): Promise<PassResult>;
  /** Stops: no job starts any more; running ones are signalled and awaited; leadership is given up. */
  stop(): Promise<void>;
}

const MAX_SLEEP_MS = 60_000;

/** Croner as a calculator of slots: paused and without a function, it never schedules anything itself. */
function cronOf(pattern: string, timeZone: string): Cron | null {
  return pattern === "off"
    ? null
    : new Cron(pattern, { paused: true, timezone: timeZone, mode: "5-or-6-parts" });
}

/** The latest slot at or before `at`, if the pattern has one. */
function latestSlot(cron: Cron, at: Date): Date | null {
  return cron.previousRuns(1, new Date(at.getTime() + 1))[0] ?? null;
}

/** What one run is for: the slot it is due for, the latest slot it covers, and the last slot handled before. */
interface Slot {
  due: Date;
  covers: Date;
  previous: Date | null;
}

/** The slot a job is due for at `now`, and the latest slot the run covers; null when not due. */
function dueSlot(
  cron: Cron | null,
  last: ScheduleRunRecord | undefined,
  now: Date,
  forced: boolean,
): Slot | null {
  const lastDue = last === undefined ? null : new Date(last.lastDue);
  const latest = cron === null ? null : latestSlot(cron, now);
  // A run covers every slot up to now, once: a process down for a day runs a 5-minute job once, not
  // 288 times. The next run is the first slot after the one covered.
  const covers = lastDue !== null && (latest === null || lastDue > latest) ? lastDue : (latest ?? now);
  if (forced || lastDue === null) {
    // Asked for by name, or never run before: it runs now, for now.
    return forced || cron !== null ? { due: now, covers, previous: lastDue } : null;
  }
  if (cron === null) return null;
  const next = cron.nextRun(lastDue);
  return next !== null && next <= now ? { due: next, covers, previous: lastDue } : null;
}

/**
 * A failure in words, for the record, the audit and the log: its code and message, with the known
 * secrets and any URL's password masked, control characters removed, bounded (see safeMessage).
 */
function describeError(err: unknown, secrets: readonly string[]): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof TenureError ? `${err.code}: ` : "";
  return safeMessage(redactUrl(`${code}${message}`), secrets);
}

/** Whether `name` is what `selector` asks for: the job itself, or `reconcile` for every `reconcile:*`. */
function selects(selector: string, name: string): boolean {
  return selector === name || name.startsWith(`${selector}:`);
}

/**
 * Reads the jobs' state: each job's last run and when it runs next, against `now`. Reads only.
 */
export async function scheduleStatus(
  store: Pick<Store, "db">,
  jobs: readonly ScheduledJob[],
  timeZone: string,
  now: Date,
): Promise<JobStatus[]> {
  const rows = new Map((await scheduleRunRepository.list(store.db)).map((r) => [r.job, r]));
  return jobs.map((job) => {
    const cron = cronOf(job.pattern, timeZone);
    const last = rows.get(job.name) ?? null;
    const next = cron === null ? null : last === null ? now : cron.nextRun(new Date(last.lastDue));
    return {
      job: job.name,
      pattern: job.pattern,
      description: job.description,
      last,
      nextDue: next?.toISOString() ?? null,
      overdue: next !== null && next <= now,
    };
  });
}

/**
 * The scheduler (issue 5, item 6): runs `jobs` at the slots of their cron patterns, computed by croner
 * on the injected clock — so TENURE_NOW pins it like everything else — and remembers in `schedule_runs`
 * the last slot each job handled.
 *
 * Catch-up: a job whose next slot after the last one it handled has passed is due. It runs once, however
 * many slots were missed, and its record covers them all; the `schedule.ran` audit event of a run that
 * makes up for slots missed while no scheduler ran says how late it was (`due`, `ran`, `lateSeconds`,
 * `caughtUp: true`). Routine runs are recorded in `schedule_runs` only: a job every minute would
 * otherwise fill the ledger with nothing; what jobs change is audited by the jobs themselves.
 *
 * A failed job records `schedule.failed` (with the error, free of secrets) and is tried at its next slot.
 * A job never overlaps itself: one still running when its next slot comes runs again after it finishes
 * (once, for every slot it missed meanwhile). Different jobs run side by side.
 *
 * Leadership: a pass runs jobs only while `leadership.ensure()` says this process leads; one that does
 * not lead tries again every `leaderRetryMs`. A job already started when leadership is lost finishes.
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store, jobs, now, timeZone, leadership } = deps;
  const actor = deps.actor ?? "scheduler";
  const leaderRetryMs = deps.leaderRetryMs ?? 30_000;
  const crons = new Map(jobs.map((j) => [j.name, cronOf(j.pattern, timeZone)]));
  const running = new Map<string, Promise<JobRunReport>>();
  const controller = new AbortController();
  const graceMs = (deps.catchUpGraceSeconds ?? 60) * 1000;
  const secrets = deps.secrets ?? [];
  let timer: NodeJS.Timeout | undefined;
  let loop = false;
  let passing: Promise<unknown> = Promise.resolve();

  async function execute(job: ScheduledJob, slot: Slot): Promise<JobRunReport> {
    const ran = now();
    const traceId = newTraceId();
    let status: JobRunReport["status"] = "succeeded";
    let summary: Record<string, unknown> | null = null;
    let error: string | null = null;
    let errorCode: string | null = null;
    try {
      // Operations the job queues, and its log lines, carry the run's trace id (shared/trace-context.ts).
      summary =
        (await withTraceId(traceId, () => job.run({ now: ran, due: slot.due, signal: controller.signal }))) ??
        null;
    } catch (err) {
      status = "failed";
      error = describeError(err, secrets);
      errorCode = err instanceof TenureError ? err.code : null;
    }
    const finished = now();
    const report: JobRunReport = {
      job: job.name,
      due: slot.due.toISOString(),
      previousDue: slot.previous?.toISOString() ?? null,
      ran: ran.toISOString(),
      finished: finished.toISOString(),
      lateSeconds: Math.max(0, Math.round((ran.getTime() - slot.due.getTime()) / 1000)),
      caughtUp: ran.getTime() - slot.due.getTime() > graceMs,
      status,
      summary,
      error,
      errorCode,
      traceId,
    };
    await store.db.transaction().execute(async (trx) => {
      await scheduleRunRepository.record(trx, {
        job: job.name,
        pattern: job.pattern,
        lastDue: slot.covers.toISOString(),
        startedAt: report.ran,
        finishedAt: report.finished,
        status,
        lateSeconds: report.lateSeconds,
        caughtUp: report.caughtUp,
        summary,
        error,
      });
      if (status === "succeeded" && !report.caughtUp) return;
      const { job: name, due, lateSeconds, caughtUp } = report;
      await appendEvents(trx, [
        {
          time: report.finished,
          actor,
          action: status === "failed" ? "schedule.failed" : "schedule.ran",
          subject: `schedule:${name}`,
          details: {
            job: name,
            due,
            previousDue: report.previousDue,
            ran: report.ran,
            lateSeconds,
            caughtUp,
            ...(error === null ? {} : { error }),
          },
        },
      ]);
    });
    const log = status === "failed" ? deps.log?.error : deps.log?.info;
    log?.call(deps.log, report, status === "failed" ? `scheduled job ${job.name} failed` : `ran ${job.name}`);
    return report;
  }

  function launch(job: ScheduledJob, slot: Slot): Promise<JobRunReport> {
    const run = execute(job, slot).finally(() => {
      running.delete(job.name);
      // It may have been due again while it ran: look at once.
      if (loop) wake(0);
    });
    running.set(job.name, run);
    return run;
  }

  /** What is due at this pass (with `only`: those jobs, due or not). Nothing when another process leads. */
  async function collect(only?: readonly string[]): Promise<{
    leader: boolean;
    due: Array<{ job: ScheduledJob; slot: Slot }>;
    busy: string[];
  }> {
    // What runs now, taken before the reads below: a run that ends while they wait has recorded its slot
    // after they read, so its row would say it is still due and it would run again for the same slot.
    // Its end wakes another pass, which reads its record.
    const runningAtStart = new Set(running.keys());
    if (!(await leadership.ensure())) return { leader: false, due: [], busy: [] };
    const at = now();
    const rows = new Map((await scheduleRunRepository.list(store.db)).map((r) => [r.job, r]));
    const due: Array<{ job: ScheduledJob; slot: Slot }> = [];
    const busy: string[] = [];
    for (const job of jobs) {
      const forced = only?.some((s) => selects(s, job.name)) === true;
      if (only !== undefined && !forced) continue;
      if (running.has(job.name) || runningAtStart.has(job.name)) {
        if (forced) busy.push(job.name);
        continue;
      }
      const slot = dueSlot(crons.get(job.name) ?? null, rows.get(job.name), at, forced);
      if (slot !== null) due.push({ job, slot });
    }
    return { leader: true, due, busy };
  }

  /** The time until the earliest next slot of a job not running, bounded so a changed clock is noticed. */
  async function sleepMs(): Promise<number> {
    const at = now();
    const rows = new Map((await scheduleRunRepository.list(store.db)).map((r) => [r.job, r]));
    let soonest = MAX_SLEEP_MS;
    for (const job of jobs) {
      const cron = crons.get(job.name);
      const last = rows.get(job.name);
      if (cron == null || last === undefined || running.has(job.name)) continue;
      const next = cron.nextRun(new Date(last.lastDue));
      if (next !== null) soonest = Math.min(soonest, Math.max(0, next.getTime() - at.getTime()));
    }
    return soonest;
  }

  function wake(delayMs: number): void {
    if (!loop) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      // Passes never run side by side: one reads what the previous one launched.
      passing = passing.then(async () => {
        if (!loop) return;
        let delay = MAX_SLEEP_MS;
        try {
          // Jobs are launched, not awaited: the loop goes on while they run.
          const started = await launchDue();
          delay = started ? await sleepMs() : leaderRetryMs;
        } catch (err) {
          // The database went away for a moment (a restart, a dropped connection): look again soon.
          delay = leaderRetryMs;
          deps.log?.error(
            { err: describeError(err, secrets) },
            "the scheduler could not read its state; trying again",
          );
        }
        wake(delay);
      });
    }, delayMs);
  }

  /** A pass of the loop: launches what is due without waiting for it. False when not the leader. */
  async function launchDue(): Promise<boolean> {
    const { leader, due } = await collect();
    for (const { job, slot } of due) void launch(job, slot).catch((err) => reportLost(job.name, err));
    return leader;
  }

  function reportLost(job: string, err: unknown): void {
    // Only recording can fail here (a job's own failure is a result): the run is not recorded, so it runs again.
    deps.log?.error(
      { job, err: describeError(err, secrets) },
      `could not record the run of ${job}; it runs again`,
    );
  }

  return {
    start() {
      if (loop || controller.signal.aborted) return;
      loop = true;
      wake(0);
    },
    runDue(options = {}) {
      const result = passing.then(async (): Promise<PassResult> => {
        const { leader, due, busy } = await collect(options.only);
        return { leader, runs: await Promise.all(due.map(({ job, slot }) => launch(job, slot))), busy };
      });
      passing = result.catch(() => {});
      return result;
    },
    async stop() {
      loop = false;
      clearTimeout(timer);
      controller.abort();
      await passing;
      await Promise.allSettled([...running.values()]);
      await leadership.release();
    },
  };
}
