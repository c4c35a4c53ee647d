/**
 * The scheduler against real stores (SQLite, and PostgreSQL when it answers), with a clock the test
 * moves by hand: catch-up after downtime (once per job, audited with how late), failures recorded and
 * retried at the next slot, no job overlapping itself, and one leader among schedulers sharing a
 * PostgreSQL database.
 */
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  freshPostgresUrl,
  POSTGRES_ADMIN_URL,
  storeFactories,
  type TestStore,
} from "../../test/helpers/databases.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import { openStore, type Store } from "../store/database.js";
import { scheduleRunRepository } from "../store/schedule-run-repository.js";
import { createScheduler, type ScheduledJob, type SchedulerDeps, scheduleStatus } from "./scheduler.js";
import { advisoryLockLeadership, schedulerLockKeys, soleLeadership } from "./scheduler-leadership.js";

const T = new Date("2026-12-01T09:00:00.000Z");
const plus = (minutes: number) => new Date(T.getTime() + minutes * 60_000);

/** A job that counts its runs and remembers what it was handed. */
function countingJob(name: string, pattern: string, body?: () => Promise<void>) {
  const runs: Array<{ now: string; due: string }> = [];
  const job: ScheduledJob = {
    name,
    pattern,
    description: `test job ${name}`,
    async run({ now, due }) {
      runs.push({ now: now.toISOString(), due: due.toISOString() });
      await body?.();
      return { run: runs.length };
    },
  };
  return { job, runs };
}

describe.each(await storeFactories())("scheduler on %s", (_kind, makeStore) => {
  let store: TestStore;
  let clock: Date;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    store = await makeStore();
    clock = T;
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await store.dispose();
  });

  function scheduler(jobs: ScheduledJob[], extra: Partial<SchedulerDeps> = {}) {
    const s = createScheduler({
      store,
      jobs,
      now: () => clock,
      timeZone: "UTC",
      leadership: soleLeadership(),
      ...extra,
    });
    stops.push(() => s.stop());
    return s;
  }

  it("runs a new job at once, then at its slots; after 3 hours down each due job runs once, audited as late", async () => {
    const often = countingJob("often", "*/5 * * * *");
    const hourly = countingJob("hourly", "0 * * * *");
    const first = await scheduler([often.job, hourly.job]).runDue();
    expect(first.runs.map((r) => [r.job, r.due, r.lateSeconds, r.caughtUp])).toEqual([
      ["often", T.toISOString(), 0, false],
      ["hourly", T.toISOString(), 0, false],
    ]);
    // Routine runs are recorded, not audited.
    expect(await queryEvents(store.db, { action: "schedule.ran" })).toEqual([]);

    // The process is down from 09:00 to 12:00. A new one starts: both jobs are due, each runs once.
    clock = plus(180);
    const restarted = scheduler([often.job, hourly.job]);
    const caughtUp = await restarted.runDue();
    expect(caughtUp.runs.map((r) => [r.job, r.due, r.previousDue, r.lateSeconds, r.caughtUp])).toEqual([
      ["often", plus(5).toISOString(), T.toISOString(), 175 * 60, true],
      ["hourly", plus(60).toISOString(), T.toISOString(), 120 * 60, true],
    ]);
    expect(often.runs).toHaveLength(2);
    expect(hourly.runs).toHaveLength(2);
    const events = await queryEvents(store.db, { action: "schedule.ran" });
    // The jobs ran side by side: their events are in the order they finished.
    const bySubject = events.sort((x, y) => y.subject.localeCompare(x.subject));
    expect(bySubject.map((e) => [e.subject, e.actor, e.details])).toEqual([
      [
        "schedule:often",
        "scheduler",
        {
          job: "often",
          due: plus(5).toISOString(),
          previousDue: T.toISOString(),
          ran: plus(180).toISOString(),
          lateSeconds: 10_500,
          caughtUp: true,
        },
      ],
      [
        "schedule:hourly",
        "scheduler",
        {
          job: "hourly",
          due: plus(60).toISOString(),
          previousDue: T.toISOString(),
          ran: plus(180).toISOString(),
          lateSeconds: 7200,
          caughtUp: true,
        },
      ],
    ]);

    // The run covered every missed slot: nothing is due again until the next one.
    expect((await restarted.runDue()).runs).toEqual([]);
    clock = new Date(plus(185).getTime() - 1);
    expect((await restarted.runDue()).runs).toEqual([]);
    clock = plus(185);
    const onTime = await restarted.runDue();
    expect(onTime.runs.map((r) => [r.job, r.due, r.lateSeconds, r.caughtUp])).toEqual([
      ["often", plus(185).toISOString(), 0, false],
    ]);
    expect(await scheduleRunRepository.find(store.db, "often")).toMatchObject({
      lastDue: plus(185).toISOString(),
      status: "succeeded",
      runs: 3,
      failures: 0,
      summary: { run: 3 },
    });
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("records a failure without its secrets and tries again at the next slot, not before", async () => {
    let fail = true;
    const flaky = countingJob("flaky", "*/10 * * * *", async () => {
      if (fail) {
        throw new Error("could not reach postgres://tenure:hunter2-secret@10.0.0.9/app (token tok-XYZ-123)");
      }
    });
    const s = scheduler([flaky.job], { secrets: ["tok-XYZ-123"] });
    const failed = await s.runDue();
    expect(failed.runs[0]).toMatchObject({ job: "flaky", status: "failed" });
    const [event, ...more] = await queryEvents(store.db, { action: "schedule.failed" });
    expect(more).toEqual([]);
    expect(event?.details).toMatchObject({ job: "flaky", due: T.toISOString(), caughtUp: false });
    const text = JSON.stringify([event, await scheduleRunRepository.list(store.db), failed]);
    expect(text).toContain("could not reach");
    expect(text).not.toContain("hunter2-secret");
    expect(text).not.toContain("tok-XYZ-123");

    // Not retried in a loop: the next attempt is the next slot.
    clock = plus(9);
    expect((await s.runDue()).runs).toEqual([]);
    fail = false;
    clock = plus(10);
    expect((await s.runDue()).runs.map((r) => r.status)).toEqual(["succeeded"]);
    expect(await scheduleRunRepository.find(store.db, "flaky")).toMatchObject({
      status: "succeeded",
      error: null,
      runs: 2,
      failures: 1,
    });
  });

  it("never overlaps a job with itself; a run that outlasts its slot is followed by one more run", async () => {
    let release: () => void = () => {};
    let blocked = true;
    const slow = countingJob("slow", "* * * * *", async () => {
      if (blocked) await new Promise<void>((resolve) => (release = resolve));
    });
    const s = scheduler([slow.job]);
    s.start();
    await vi.waitFor(() => expect(slow.runs).toHaveLength(1));

    // Three slots pass while it runs; asking for it by name does not start a second copy.
    clock = plus(3);
    const asked = await s.runDue({ only: ["slow"] });
    expect(asked).toEqual({ leader: true, runs: [], busy: ["slow"] });
    expect(slow.runs).toHaveLength(1);

    blocked = false;
    release();
    // It finished late: the loop looks at once and runs it once more, for the three missed slots.
    await vi.waitFor(() => expect(slow.runs).toHaveLength(2));
    expect(slow.runs[1]).toEqual({ now: plus(3).toISOString(), due: plus(1).toISOString() });
    await vi.waitFor(async () =>
      expect(await scheduleRunRepository.find(store.db, "slow")).toMatchObject({
        lastDue: plus(3).toISOString(),
        runs: 2,
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(slow.runs).toHaveLength(2);
  });

  it("does not run a job twice for one slot when its run ends while a pass reads the schedule", async () => {
    let release: () => void = () => {};
    let started = 0;
    // The first run waits to be let go; a second one (the bug) would end at once.
    const slow = countingJob("slow", "0 0 1 1 *", async () => {
      if (++started === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const s = scheduler([slow.job]);
    s.start();
    await vi.waitFor(() => expect(slow.runs).toHaveLength(1));

    // The next pass reads the schedule while the run is still going; the run ends and records its slot
    // before the pass goes on with what it read. The pass may not take the run's slot as still due.
    const read = scheduleRunRepository.list.bind(scheduleRunRepository);
    let armed = true;
    const spy = vi.spyOn(scheduleRunRepository, "list").mockImplementation(async (db) => {
      const rows = await read(db);
      if (!armed) return rows;
      armed = false;
      release();
      await vi.waitFor(async () => expect(await scheduleRunRepository.find(store.db, "slow")).toBeDefined());
      await new Promise((resolve) => setTimeout(resolve, 10));
      return rows;
    });
    try {
      await s.runDue();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(slow.runs).toHaveLength(1);
      expect(await scheduleRunRepository.find(store.db, "slow")).toMatchObject({ runs: 1 });
    } finally {
      spy.mockRestore();
    }
  });

  it("runs a job by name when it is not due, and a prefix selects every job it starts", async () => {
    const a = countingJob("reconcile:a", "0 3 * * *");
    const b = countingJob("reconcile:b", "off");
    const other = countingJob("lifecycle", "*/5 * * * *");
    const s = scheduler([a.job, b.job, other.job]);
    await s.runDue();
    // `off` never runs by itself.
    expect([a.runs.length, b.runs.length, other.runs.length]).toEqual([1, 0, 1]);
    clock = plus(1);
    const forced = await s.runDue({ only: ["reconcile"] });
    expect(forced.runs.map((r) => [r.job, r.due])).toEqual([
      ["reconcile:a", plus(1).toISOString()],
      ["reconcile:b", plus(1).toISOString()],
    ]);
    expect(other.runs).toHaveLength(1);

    const status = await scheduleStatus(store, [a.job, b.job, other.job], "UTC", plus(6));
    expect(status.map((j) => [j.job, j.nextDue, j.overdue, j.last?.runs ?? 0])).toEqual([
      ["reconcile:a", "2026-12-02T03:00:00.000Z", false, 2],
      ["reconcile:b", null, false, 1],
      ["lifecycle", plus(5).toISOString(), true, 1],
    ]);
  });

  it("reads patterns in the configured time zone", async () => {
    const nightly = countingJob("nightly", "0 3 * * *");
    const s = scheduler([nightly.job], { timeZone: "America/New_York" });
    await s.runDue();
    // 03:00 in New York on 2 December is 08:00 UTC.
    const [status] = await scheduleStatus(store, [nightly.job], "America/New_York", clock);
    expect(status?.nextDue).toBe("2026-12-02T08:00:00.000Z");
  });
});

describe.each((await storeFactories()).filter(([kind]) => kind === "postgres"))(
  "scheduler leadership on %s",
  () => {
    let url: string;
    let drop: () => Promise<void>;
    const stores: Store[] = [];
    const stops: Array<() => Promise<void>> = [];

    beforeEach(async () => {
      ({ url, drop } = await freshPostgresUrl());
    });
    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
      for (const s of stores.splice(0)) await s.close();
      await drop();
    });

    async function process_(jobs: ScheduledJob[]) {
      const store = await openStore(url);
      stores.push(store);
      const leadership = advisoryLockLeadership(store, url);
      const s = createScheduler({ store, jobs, now: () => T, timeZone: "UTC", leadership });
      stops.push(() => s.stop());
      return { s, leadership, store };
    }

    it("lets one of two processes on one database run the jobs; the other takes over when it stops", async () => {
      const one = countingJob("lifecycle", "*/5 * * * *");
      const two = countingJob("lifecycle", "*/5 * * * *");
      const a = await process_([one.job]);
      const b = await process_([two.job]);
      expect((await a.s.runDue()).leader).toBe(true);
      expect(await b.s.runDue()).toEqual({ leader: false, runs: [], busy: [] });
      expect(await b.s.runDue({ only: ["lifecycle"] })).toEqual({ leader: false, runs: [], busy: [] });
      expect([one.runs.length, two.runs.length]).toEqual([1, 0]);

      await a.s.stop();
      const taken = await b.s.runDue({ only: ["lifecycle"] });
      expect(taken.leader).toBe(true);
      expect(two.runs).toHaveLength(1);
      expect((await scheduleRunRepository.find(b.store.db, "lifecycle"))?.runs).toBe(2);
    });

    it("loses the lead with its connection, and another process takes it", async () => {
      const a = await process_([]);
      const b = await process_([]);
      expect(await a.leadership.ensure()).toBe(true);
      expect(await b.leadership.ensure()).toBe(false);
      // The leader's session ends (a restart, a network cut): PostgreSQL drops its lock with it.
      const [classid, objid] = schedulerLockKeys(a.store.schema ?? "");
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      try {
        const { rows } = await admin.query(
          `select pg_terminate_backend(pid) as ended from pg_locks
            where locktype = 'advisory' and granted and classid = $1 and objid = $2 and objsubid = 2`,
          [classid, objid],
        );
        expect(rows).toEqual([{ ended: true }]);
      } finally {
        await admin.end();
      }
      await vi.waitFor(async () => expect(await b.leadership.ensure()).toBe(true));
      expect(await a.leadership.ensure()).toBe(false);
    });

    it("gives every schema of one database its own leader", async () => {
      const other = await freshPostgresUrl();
      try {
        const a = await process_([]);
        const elsewhere = await openStore(other.url);
        stores.push(elsewhere);
        const c = advisoryLockLeadership(elsewhere, other.url);
        stops.push(() => c.release());
        expect(await a.leadership.ensure()).toBe(true);
        expect(await c.ensure()).toBe(true);
      } finally {
        for (const stop of stops.splice(0)) await stop();
        await other.drop();
      }
    });
  },
);
