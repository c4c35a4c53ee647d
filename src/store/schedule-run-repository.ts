import type { Selectable } from "kysely";
import type { Db, ScheduleRunsTable } from "./schema-types.js";

export type ScheduleRunStatus = "succeeded" | "failed";

/** The last run of one scheduled job, as `schedule_runs` keeps it. */
export interface ScheduleRunRecord {
  job: string;
  /** The cron pattern the job had when it last ran. */
  pattern: string;
  /** The latest due time (ISO-8601) that run handled: the next run is the pattern's first slot after it. */
  lastDue: string;
  startedAt: string;
  finishedAt: string;
  status: ScheduleRunStatus;
  /** How long after its due time the run started. */
  lateSeconds: number;
  /** The run made up for slots that fell due while no scheduler ran (the process was down, or not leader). */
  caughtUp: boolean;
  /** What the job reported (counts), or null. */
  summary: Record<string, unknown> | null;
  /** Why it failed, free of secrets; null when it succeeded. */
  error: string | null;
  /** Runs recorded so far, and how many of them failed. */
  runs: number;
  failures: number;
}

export type NewScheduleRun = Omit<ScheduleRunRecord, "runs" | "failures">;

function fromRow(r: Selectable<ScheduleRunsTable>): ScheduleRunRecord {
  return {
    job: r.job,
    pattern: r.pattern,
    lastDue: r.last_due,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status as ScheduleRunStatus,
    lateSeconds: Number(r.late_seconds),
    caughtUp: Number(r.caught_up) === 1,
    summary: r.summary === null ? null : (JSON.parse(r.summary) as Record<string, unknown>),
    error: r.error,
    runs: Number(r.runs),
    failures: Number(r.failures),
  };
}

/** The scheduler's memory, one row per job. Functions take a db or a transaction. */
export const scheduleRunRepository = {
  async list(db: Db): Promise<ScheduleRunRecord[]> {
    const rows = await db.selectFrom("schedule_runs").selectAll().orderBy("job").execute();
    return rows.map(fromRow);
  },

  async find(db: Db, job: string): Promise<ScheduleRunRecord | undefined> {
    const row = await db.selectFrom("schedule_runs").selectAll().where("job", "=", job).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** Records a finished run: replaces the job's last run and counts it (and its failure). */
  async record(db: Db, run: NewScheduleRun): Promise<void> {
    const failed = run.status === "failed" ? 1 : 0;
    const values = {
      pattern: run.pattern,
      last_due: run.lastDue,
      started_at: run.startedAt,
      finished_at: run.finishedAt,
      status: run.status,
      late_seconds: Math.round(run.lateSeconds),
      caught_up: run.caughtUp ? 1 : 0,
      summary: run.summary === null ? null : JSON.stringify(run.summary),
      error: run.error,
    };
    await db
      .insertInto("schedule_runs")
      .values({ job: run.job, ...values, runs: 1, failures: failed })
      .onConflict((oc) =>
        oc.column("job").doUpdateSet((eb) => ({
          ...values,
          runs: eb(eb.ref("schedule_runs.runs"), "+", 1),
          failures: eb(eb.ref("schedule_runs.failures"), "+", failed),
        })),
      )
      .execute();
  },
};
