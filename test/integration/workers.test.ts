/**
 * Issue 19, items 1 and 2: `tenure worker` processes sharing one PostgreSQL store, tested as real
 * processes (the CLI through tsx):
 * - a worker killed with SIGKILL in the middle of its work — its writes held by a lock on the target's
 *   tables, so some have reached the target and some not — and the work finished by two other workers:
 *   every operation succeeds exactly once (one `operation.succeeded` each), the target holds each
 *   account and membership once;
 * - two workers never have more writes under way in a system than its `concurrency`, counted at the
 *   target (system-slots.ts), while each keeps its claims ahead;
 * - two workers competing for scheduler leadership: one runs the jobs, and when it is killed with
 *   SIGKILL the other takes over within seconds; the job's runs in `schedule_runs` never overlap;
 * - a worker whose database connections are all ended (pg_terminate_backend) goes on applying and
 *   leading.
 * Not on SQLite: `tenure worker` refuses it (checked here too). Under CI=true PostgreSQL must answer.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import { enqueuePlan } from "../../src/engine/enqueue.js";
import { schedulerLockKeys } from "../../src/engine/scheduler-leadership.js";
import { openStore, type Store } from "../../src/store/database.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { createAppDatabase, joiner, readApp } from "../fixtures/app-database.js";
import { type AppDatabase, appDatabaseFactories, sqlSystemConfigYaml } from "../helpers/app-databases.js";
import { runCli } from "../helpers/cli.js";
import { freshPostgresUrl, POSTGRES_ADMIN_URL, postgresAvailable } from "../helpers/databases.js";
import { startWorker, type TenureProcess, until } from "../helpers/worker-process.js";
import { tempDir } from "../helpers/workspace.js";

const RETRY = { maxAttempts: 10, baseDelaySeconds: 1, maxDelaySeconds: 2 };
const CONCURRENCY = 4;
const GROUPS = ["staff"] as const;

/** The YAML of a store shared by workers, one `sql` system and the scheduler's settings. */
function configYaml(database: string, appConfig: string, schedule: string): string {
  return `database: "${database}"
sources:
  hr: { type: push }
systems:
  app:
    connector: sql
    concurrency: ${CONCURRENCY}
    retry: { maxAttempts: ${RETRY.maxAttempts}, baseDelaySeconds: ${RETRY.baseDelaySeconds}, maxDelaySeconds: ${RETRY.maxDelaySeconds} }
    account: { username: "{employeeId}" }
    config:
${appConfig}
entitlements:
  app:
    staff: { displayName: Staff }
notify:
  email: { smtp: "smtp://127.0.0.1:9", from: "Tenure <tenure@example.test>" }
server:
  applyIntervalSeconds: 0
  shutdownGraceSeconds: 20
  schedule:
${schedule}
`;
}

/** The scheduler off, or only `notify` on, every second. */
const NO_SCHEDULE = "    enabled: false";
const EVERY_SECOND = `    enabled: true
    lifecycle: "off"
    reconcile: "off"
    tasks: "off"
    sod: "off"
    reviews: "off"
    alerts: "off"
    checkpoint: "off"
    notify: "* * * * * *"
    leaderRetrySeconds: 1`;

/** The `config:` of the system for a SQLite application file. */
const sqliteApp = (file: string) => sqlSystemConfigYaml({ url: `sqlite:${file}` } as AppDatabase);

const up = await postgresAvailable();

describe.runIf(up)("tenure worker processes on one PostgreSQL store", () => {
  let dir: string;
  let disposeDir: () => Promise<void>;
  let storeUrl: string;
  let schema: string;
  let drop: () => Promise<void>;
  let store: Store;
  const workers: TenureProcess[] = [];
  let app: AppDatabase | undefined;

  beforeEach(async () => {
    ({ dir, dispose: disposeDir } = await tempDir("tenure-workers-"));
    ({ url: storeUrl, drop } = await freshPostgresUrl());
    schema = new URL(storeUrl).searchParams.get("schema")!;
    store = await openStore(storeUrl);
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) if (w.alive()) w.child.kill("SIGKILL");
    await store.close();
    await app?.drop();
    app = undefined;
    await drop();
    await disposeDir();
  });

  const enqueue = async (from: number, count: number) => {
    const plan = Array.from({ length: count }, (_, i) =>
      joiner("app", `id-${from + i}`, `user${String(from + i).padStart(4, "0")}`, GROUPS),
    ).flat();
    const { queued } = await enqueuePlan(store, plan, {
      now: new Date(),
      actor: "test",
      lifecycle: { massChangeThreshold: { percent: 100, minimum: 100_000 } },
      systems: { app: { retry: RETRY } },
    });
    return queued;
  };
  const counts = () => operationRepository.countByState(store.db);
  const spawnWorker = async (configFile: string, args: string[] = []) => {
    const w = await startWorker(configFile, args);
    workers.push(w);
    return w;
  };
  /** Every operation.succeeded event, counted per operation id. */
  const successesPerOperation = async () => {
    const events = await queryEvents(store.db, { action: "operation.succeeded", limit: 100_000 });
    const per = new Map<string, number>();
    for (const e of events)
      per.set(String(e.details.operationId), (per.get(String(e.details.operationId)) ?? 0) + 1);
    return per;
  };

  it("refuses a SQLite store with a clear error", async () => {
    const file = path.join(dir, "sqlite.yaml");
    await writeFile(
      file,
      configYaml(`sqlite:${path.join(dir, "t.db")}`, sqliteApp(path.join(dir, "app.db")), NO_SCHEDULE),
    );
    const result = await runCli(["--config", file, "worker"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("tenure worker needs a PostgreSQL store");
  });

  it("finishes a batch of a worker killed mid-write exactly once, within each system's concurrency across workers", async () => {
    const factory = (await appDatabaseFactories()).find(([name]) => name === "postgres");
    app = await factory![1]();
    const configFile = path.join(dir, "tenure.yaml");
    await writeFile(configFile, configYaml(storeUrl, sqlSystemConfigYaml(app), NO_SCHEDULE));
    const IDENTITIES = 40;
    const TOTAL = IDENTITIES * (1 + GROUPS.length);
    const queued = await enqueue(0, IDENTITIES);
    expect(queued).toHaveLength(TOTAL);

    const first = await spawnWorker(configFile, ["--batch-size", "16"]);
    await until("a third applied", async () => (await counts()).succeeded >= TOTAL / 3);
    // Hold the target's writes: the worker's next ones wait on the lock, claimed and under way.
    const holder = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await holder.connect();
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await holder.query("begin");
      await holder.query(
        `lock table ${app.schema}.app_users, ${app.schema}.app_user_groups in exclusive mode`,
      );
      const waiting = async () =>
        Number(
          (
            await admin.query(
              "select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%app_user%'",
            )
          ).rows[0].n,
        );
      await until("writes waiting on the lock", async () => (await waiting()) >= 1);
      first.child.kill("SIGKILL");
      expect((await first.exited).signal).toBe("SIGKILL");
      const orphaned = (await operationRepository.list(store.db, { state: "running", limit: TOTAL })).filter(
        (op) => op.claimedBy !== null,
      );
      expect(orphaned.length).toBeGreaterThan(0);
      expect((await counts()).succeeded).toBeLessThan(TOTAL);
      // The dead worker's writes already sent land once the lock goes: written, never recorded.
      await holder.query("commit");
      await until("the orphaned writes landed", async () => (await waiting()) === 0);
    } finally {
      await holder.end();
      await admin.end();
    }

    // Two workers take over: the dead one's claims come back at once (same host), run again as no-ops.
    const [second, third] = await Promise.all([
      spawnWorker(configFile, ["--batch-size", "16"]),
      spawnWorker(configFile, ["--batch-size", "16"]),
    ]);
    await until("everything applied", async () => (await counts()).succeeded === TOTAL, 40_000);

    expect(await counts()).toEqual({
      pending: 0,
      running: 0,
      awaiting: 0,
      succeeded: TOTAL,
      failed: 0,
      dead: 0,
    });
    const users = await app.query<{ login: string; n: string }>(
      `select login, count(*) as n from ${app.schema}.app_users group by login`,
    );
    expect(users).toHaveLength(IDENTITIES);
    expect(users.every((u) => Number(u.n) === 1)).toBe(true);
    const memberships = await app.query<{ n: string }>(
      `select count(*) as n from ${app.schema}.app_user_groups`,
    );
    expect(Number(memberships[0]!.n)).toBe(IDENTITIES * GROUPS.length);
    const per = await successesPerOperation();
    expect([...per.keys()].sort()).toEqual(queued.map((op) => op.id).sort());
    expect([...per.values()].every((n) => n === 1)).toBe(true);
    const recovered = await queryEvents(store.db, { action: "claims.recovered" });
    expect(recovered.map((e) => e.details.pid)).toEqual([first.pid]);
    expect((await verifyLedger(store.db)).ok).toBe(true);

    // A graceful stop: both exit 0 and hold no claim.
    second.child.kill("SIGTERM");
    third.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
    expect((await third.exited).code).toBe(0);
    expect((await counts()).running).toBe(0);
  });

  it("never writes more than a system's concurrency into it at once, over both workers", async () => {
    const factory = (await appDatabaseFactories()).find(([name]) => name === "postgres");
    app = await factory![1]();
    const configFile = path.join(dir, "tenure.yaml");
    await writeFile(configFile, configYaml(storeUrl, sqlSystemConfigYaml(app), NO_SCHEDULE));
    const IDENTITIES = 30;
    const TOTAL = IDENTITIES * (1 + GROUPS.length);
    await enqueue(0, IDENTITIES);
    // The target's tables locked first: every write the workers start waits there, so the writes
    // waiting are the writes under way. Each worker alone would have CONCURRENCY of them.
    const holder = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await holder.connect();
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    const waiting = async () =>
      Number(
        (
          await admin.query(
            "select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%app_user%'",
          )
        ).rows[0].n,
      );
    let pair: TenureProcess[] = [];
    try {
      await holder.query("begin");
      await holder.query(
        `lock table ${app.schema}.app_users, ${app.schema}.app_user_groups in exclusive mode`,
      );
      pair = await Promise.all([
        spawnWorker(configFile, ["--batch-size", "16"]),
        spawnWorker(configFile, ["--batch-size", "16"]),
      ]);
      await until("the system's concurrency of writes waiting", async () => (await waiting()) >= CONCURRENCY);
      // Both workers have claimed work (claims ahead are kept), yet no more writes start.
      await until("both workers holding claims", async () => {
        const running = await operationRepository.list(store.db, { state: "running", limit: TOTAL });
        return new Set(running.map((op) => op.claimedBy)).size === 2;
      });
      await sleep(1000);
      expect(await waiting()).toBe(CONCURRENCY);
      await holder.query("commit");
      await until("everything applied", async () => (await counts()).succeeded === TOTAL, 40_000);
    } finally {
      await holder.end().catch(() => {});
      await admin.end();
    }
    for (const w of pair) w.child.kill("SIGTERM");
    for (const w of pair) expect((await w.exited).code).toBe(0);
  });

  it("runs the scheduler on one leader at a time, and another takes over within seconds of a kill -9", async () => {
    const configFile = path.join(dir, "tenure.yaml");
    createAppDatabase(path.join(dir, "app.db"));
    await writeFile(configFile, configYaml(storeUrl, sqliteApp(path.join(dir, "app.db")), EVERY_SECOND));
    const started = Date.now();
    const [a, b] = await Promise.all([spawnWorker(configFile), spawnWorker(configFile)]);
    const runsOf = (w: TenureProcess) => w.lines.filter((l) => l.msg === "ran notify");
    await until("a few runs", () => runsOf(a).length + runsOf(b).length >= 3);
    await sleep(2000);
    const leaders = [a, b].filter((w) => runsOf(w).length > 0);
    expect(leaders).toHaveLength(1);
    const [leader] = leaders;
    const other = leader === a ? b : a;

    leader!.child.kill("SIGKILL");
    await leader!.exited;
    const killedAt = Date.now();
    const notifyRun = () =>
      store.db.selectFrom("schedule_runs").selectAll().where("job", "=", "notify").executeTakeFirstOrThrow();
    await until(
      "the other to lead",
      async () => Date.parse((await notifyRun()).started_at) > killedAt,
      10_000,
    );
    const takeover = Date.parse((await notifyRun()).started_at) - killedAt;
    expect(takeover).toBeLessThan(5000);
    await until("the other's runs", () => runsOf(other).length >= 2);

    // Never both: the new leader's runs start after the dead one's last run finished, and the job ran
    // about once a second (two leaders would run most slots twice).
    const lastOfDead = Math.max(...runsOf(leader!).map((l) => Date.parse(String(l.finished))));
    const firstOfNew = Math.min(...runsOf(other).map((l) => Date.parse(String(l.ran))));
    expect(firstOfNew).toBeGreaterThan(lastOfDead);
    const row = await notifyRun();
    const seconds = (Date.now() - started) / 1000;
    expect(Number(row.runs)).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    // Every run is in the log, except perhaps the dead leader's last: a run is logged after its record
    // commits, and kill -9 can fall between the two (seen in CI: 7 recorded, 6 logged).
    const logged = runsOf(leader!).length + runsOf(other).length;
    expect(Number(row.runs) - logged).toBeGreaterThanOrEqual(0);
    expect(Number(row.runs) - logged).toBeLessThanOrEqual(1);
  });

  it("goes on applying and leading after its database connections are ended", async () => {
    const appFile = path.join(dir, "app.db");
    createAppDatabase(appFile);
    // An application_name of its own, so only this worker's connections are ended.
    const name = `tenure-w-${randomBytes(4).toString("hex")}`;
    const configFile = path.join(dir, "tenure.yaml");
    await writeFile(
      configFile,
      configYaml(`${storeUrl}&application_name=${name}`, sqliteApp(appFile), EVERY_SECOND),
    );
    const IDENTITIES = 150;
    await enqueue(0, IDENTITIES);
    const worker = await spawnWorker(configFile, ["--batch-size", "8"]);
    const [lockClass, lockKey] = schedulerLockKeys(schema);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    let ended = 0;
    const endAll = async () => {
      const { rows } = await admin.query(
        `select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1
           or pid in (select pid from pg_locks where locktype = 'advisory' and classid = $2 and objid = $3)`,
        [name, lockClass, lockKey],
      );
      ended += rows.length;
    };
    try {
      await until("some applied", async () => (await counts()).succeeded >= 20);
      // Three times, 300 ms apart, while it works: claims, records and the leadership lock all cut.
      for (let i = 0; i < 3; i++) {
        await endAll();
        await sleep(300);
      }
      expect(ended).toBeGreaterThan(0);
      const cutAt = Date.now();
      // New work after the cut is applied too.
      await enqueue(IDENTITIES, 20);
      const TOTAL = (IDENTITIES + 20) * (1 + GROUPS.length);
      await until("everything applied", async () => (await counts()).succeeded === TOTAL, 40_000);
      expect(worker.alive()).toBe(true);
      expect(await counts()).toMatchObject({ pending: 0, running: 0, succeeded: TOTAL, dead: 0 });
      const contents = readApp(appFile);
      expect(contents.users).toHaveLength(IDENTITIES + 20);
      expect(new Set(contents.users.map((u) => u.login)).size).toBe(IDENTITIES + 20);
      expect(contents.memberships).toHaveLength((IDENTITIES + 20) * GROUPS.length);
      expect([...(await successesPerOperation()).values()].every((n) => n === 1)).toBe(true);
      // It leads again: the job runs after the cut.
      await until(
        "the scheduler to run again",
        async () =>
          Date.parse(
            (
              await store.db
                .selectFrom("schedule_runs")
                .select("started_at")
                .where("job", "=", "notify")
                .executeTakeFirstOrThrow()
            ).started_at,
          ) > cutAt,
        10_000,
      );
      worker.child.kill("SIGTERM");
      expect((await worker.exited).code).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
