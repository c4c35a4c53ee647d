/**
 * Issue 10, point 8: claims held by a crashed process are recovered at the next start, not when their
 * lease ends. A claim records its owner's host and pid; `recoverDeadClaims` gives back the claims of
 * processes on this host that are not running — a live owner's claims, and those of other hosts, are
 * kept. Checked with claims written for real processes (one exited, one alive) and with a real worker
 * process killed with SIGKILL mid-run, on SQLite and PostgreSQL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import { applyOperations } from "../../src/engine/apply.js";
import { recoverDeadClaims, thisProcess } from "../../src/engine/claim-recovery.js";
import { enqueuePlan } from "../../src/engine/enqueue.js";
import { applyQueued } from "../../src/engine/provision.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { claimOwnerRepository } from "../../src/store/claim-owner-repository.js";
import { openStore, type Store } from "../../src/store/database.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { appConnector, createAppDatabase, joiner, planned, readApp } from "../fixtures/app-database.js";
import { sqlSystemYaml } from "../helpers/app-databases.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { freshPostgresUrl, postgresAvailable } from "../helpers/databases.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WORKER = path.join(ROOT, "test/fixtures/apply-worker.ts");
const T0 = new Date("2026-12-01T09:00:00.000Z");
const HOST = thisProcess().host;
const RETRY = { maxAttempts: 5, baseDelaySeconds: 1, maxDelaySeconds: 10 };
const ENQUEUE = {
  now: T0,
  actor: "test",
  lifecycle: { massChangeThreshold: { percent: 10, minimum: 5 } },
  systems: { app: { retry: RETRY } },
};

/** A store and the app database's system, for the CLI and for applyQueued. */
const APP_CONFIG = (url: string) => `database: "${url}"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
${sqlSystemYaml("app", { url: "sqlite:./app.db" })}`;

/** The pid of a process that ran and exited (reaped, so no process has it now). */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

type Variant = [string, (dir: string) => Promise<{ url: string; drop: () => Promise<void> }>];
const variants: Variant[] = [
  ["SQLite", async (dir) => ({ url: `sqlite:${path.join(dir, "tenure.db")}`, drop: async () => {} })],
];
if (await postgresAvailable()) variants.push(["PostgreSQL", () => freshPostgresUrl()]);

describe.each(variants)("claims of a dead process, store on %s", (_name, storeUrl) => {
  let dir: string;
  let disposeDir: () => Promise<void>;
  let store: Store;
  let url: string;
  let drop: () => Promise<void>;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    ({ dir, dispose: disposeDir } = await tempDir("tenure-claims-"));
    ({ url, drop } = await storeUrl(dir));
    store = await openStore(url);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await store.close();
    await drop();
    await disposeDir();
  });

  it("releases a dead owner's claims at once and keeps a live owner's and another host's", async () => {
    const ops = ["dead", "live", "elsewhere", "legacy"].map((username) =>
      planned({ system: "app", kind: "create", identityId: `id-${username}`, username }),
    );
    const { queued } = await enqueuePlan(store, ops, ENQUEUE);
    const idOf = (username: string) => queued.find((op) => op.username === username)!.id;

    const deadPid = await exitedPid();
    const live = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(live);
    const claim = (username: string, owner?: { host: string; pid: number }) =>
      operationRepository.claimDue(store.db, {
        now: T0,
        limit: 1,
        workerId: `w-${username}`,
        leaseSeconds: 300,
        identityIds: [`id-${username}`],
        ...(owner ? { owner } : {}),
      });
    await claim("dead", { host: HOST, pid: deadPid });
    await claim("live", { host: HOST, pid: live.pid! });
    await claim("elsewhere", { host: "another-host.example", pid: deadPid });
    await claim("legacy"); // no owner recorded (a claim from before the migration): waits for its lease
    await notificationRepository.insertMany(
      store.db,
      [
        {
          event: "operation.dead",
          dedupeKey: "n1",
          channel: "email",
          recipient: "secops@example.com",
          subject: "s",
          body: "b",
          payload: {},
          maxAttempts: 3,
        },
      ],
      T0,
    );
    const [message] = await notificationRepository.claimDue(store.db, {
      now: T0,
      limit: 1,
      workerId: "notifier",
      leaseSeconds: 300,
      owner: { host: HOST, pid: deadPid },
    });

    // Well within every lease: only the dead process's claims come back.
    const recovered = await recoverDeadClaims(store, { now: T0, actor: "worker:test" });
    expect(recovered).toEqual([{ owner: { host: HOST, pid: deadPid }, operations: 1, notifications: 1 }]);
    expect(await operationRepository.find(store.db, idOf("dead"))).toMatchObject({
      state: "pending",
      attempts: 1, // the crashed attempt still counts
      claimedBy: null,
    });
    for (const username of ["live", "elsewhere", "legacy"]) {
      expect(await operationRepository.find(store.db, idOf(username))).toMatchObject({
        state: "running",
        claimedBy: `w-${username}`,
      });
    }
    expect(await notificationRepository.find(store.db, message!.id)).toMatchObject({
      state: "pending",
      claimedBy: null,
    });
    const events = await queryEvents(store.db, { action: "claims.recovered" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: "worker:test",
      subject: `process:${HOST}:${deadPid}`,
      details: { host: HOST, pid: deadPid, operations: [idOf("dead")], notifications: [message!.id] },
    });

    // The released operation is claimable at once; a second recovery finds nothing more to do.
    const next = await operationRepository.claimDue(store.db, {
      now: T0,
      limit: 10,
      workerId: "w2",
      leaseSeconds: 300,
    });
    expect(next.map((op) => op.id)).toEqual([idOf("dead")]);
    expect(await recoverDeadClaims(store, { now: T0, actor: "worker:test" })).toEqual([]);
    expect(await queryEvents(store.db, { action: "claims.recovered" })).toHaveLength(1);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("takes over the work of a worker killed mid-run without waiting for its lease", async () => {
    const identities = 40;
    const appFile = path.join(dir, "app.db");
    createAppDatabase(appFile);
    const plan = Array.from({ length: identities }, (_, i) =>
      joiner("app", `id-${i}`, `user${i}`, ["staff"]),
    ).flat();
    const { queued } = await enqueuePlan(store, plan, ENQUEUE);

    // Every account is created and recorded, then each membership write lands and hangs: the worker
    // dies holding claims in a state that has settled. (Killed at a moment picked while it ran, it could
    // be stopped with its last record on the way to PostgreSQL; that record landed after the look and
    // left nothing running.)
    let stderr = "";
    const proc = spawn(process.execPath, ["--import", "tsx", WORKER, url, appFile], {
      cwd: ROOT,
      env: {
        ...process.env,
        TENURE_TEST_APPLY_DELAY_MS: "30",
        TENURE_TEST_APPLY_HANG_AFTER: String(identities),
        TENURE_TEST_APPLY_NOW: T0.toISOString(),
        TENURE_TEST_LEASE_SECONDS: "3600",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(proc);
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    const deadline = Date.now() + 45_000;
    for (;;) {
      const { succeeded, running } = await operationRepository.countByState(store.db);
      // Every account recorded: nothing more can be (each later write hangs), so the claims seen stay.
      if (succeeded === identities && running > 0) break;
      if (proc.exitCode !== null) throw new Error(`the worker exited before it could be killed: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`the worker did not reach its hang in time: ${stderr}`);
      await sleep(10);
    }
    proc.kill("SIGKILL");
    await exited;
    const left = await operationRepository.list(store.db, { state: "running", limit: 1000 });
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((op) => op.claimedBy === `apply-worker:${proc.pid}`)).toBe(true);

    // The next start, still at T0 — an hour before the dead worker's leases end.
    const recovered = await recoverDeadClaims(store, { now: T0, actor: "worker:next" });
    expect(recovered).toEqual([
      { owner: { host: HOST, pid: proc.pid }, operations: left.length, notifications: 0 },
    ]);
    const connector = appConnector("app", appFile);
    try {
      const resumed = await applyOperations({
        store,
        connectors: () => connector,
        retry: () => RETRY,
        now: () => T0,
        workerId: "next",
      });
      expect(resumed.summary.failed + resumed.summary.dead + resumed.summary.skipped).toBe(0);
    } finally {
      await connector.close();
    }
    expect(await operationRepository.countByState(store.db)).toMatchObject({
      succeeded: queued.length,
      running: 0,
      pending: 0,
    });
    const app = readApp(appFile);
    expect(app.users).toHaveLength(identities);
    expect(app.memberships).toHaveLength(identities);
    const succeeded = await queryEvents(store.db, { action: "operation.succeeded", limit: 1000 });
    expect(new Set(succeeded.map((e) => e.details.operationId)).size).toBe(queued.length);
    expect(succeeded).toHaveLength(queued.length);
  }, 60_000);

  it("tenure status says when claims are waiting, and tenure apply takes them back at its start", async () => {
    createAppDatabase(path.join(dir, "app.db"));
    await writeHrCsv(dir, []);
    await writeFile(path.join(dir, "tenure.yaml"), APP_CONFIG(url));
    const { queued } = await enqueuePlan(store, joiner("app", "id-ada", "ada", []), ENQUEUE);
    const deadPid = await exitedPid();
    await operationRepository.claimDue(store.db, {
      now: T0,
      limit: 1,
      workerId: "crashed",
      leaseSeconds: 300,
      owner: { host: HOST, pid: deadPid },
    });
    const env = { TENURE_NOW: T0.toISOString() };

    const before = await runCliInProcess(["status"], { cwd: dir, env });
    expect(before.code).toBe(0);
    expect(before.stdout).toContain(
      `claims waiting: 1 operation held by process ${deadPid} on ${HOST}, which is not running; taken back at the next start`,
    );
    const json = await runCliInProcess(["status", "--json"], { cwd: dir, env });
    expect(JSON.parse(json.stdout).claims).toEqual([
      expect.objectContaining({ table: "operations", holder: "dead", claims: 1, waiting: 1 }),
    ]);

    // Still within the crashed claim's lease: without recovery nothing would be due.
    const applied = await runCliInProcess(["apply", "--json"], { cwd: dir, env });
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout).summary).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(await operationRepository.find(store.db, queued[0]!.id)).toMatchObject({
      state: "succeeded",
      attempts: 2,
    });
    expect(readApp(path.join(dir, "app.db")).users.map((u) => u.login)).toEqual(["ada"]);
    const after = await runCliInProcess(["status"], { cwd: dir, env });
    expect(after.stdout).not.toContain("claims");
    expect(await queryEvents(store.db, { action: "claims.recovered" })).toHaveLength(1);
  }, 120_000);

  it("looks for dead claims at most once a second when one process applies again and again (each push)", async () => {
    createAppDatabase(path.join(dir, "app.db"));
    await writeHrCsv(dir, []);
    await writeFile(path.join(dir, "tenure.yaml"), APP_CONFIG(url));
    const config = await loadConfig(path.join(dir, "tenure.yaml"));
    const { queued } = await enqueuePlan(store, joiner("app", "id-ada", "ada", []), ENQUEUE);
    const apply = () =>
      applyQueued(store, config, { now: () => T0, actor: "test", identityIds: ["id-nobody"] });
    const clock = vi.spyOn(performance, "now");
    const looks = vi.spyOn(claimOwnerRepository, "ownersOn");
    try {
      clock.mockReturnValue(10_000);
      await apply();
      expect(looks).toHaveBeenCalledTimes(1);
      // A process dies holding a claim; this one applies again within the second, and does not look.
      await operationRepository.claimDue(store.db, {
        now: T0,
        limit: 1,
        workerId: "crashed",
        leaseSeconds: 300,
        owner: { host: HOST, pid: await exitedPid() },
      });
      clock.mockReturnValue(10_900);
      await apply();
      expect(looks).toHaveBeenCalledTimes(1);
      expect(await operationRepository.find(store.db, queued[0]!.id)).toMatchObject({ claimedBy: "crashed" });
      // A second after it last looked, it looks again and takes the claim back.
      clock.mockReturnValue(11_000);
      await apply();
      expect(looks).toHaveBeenCalledTimes(2);
      expect(await operationRepository.find(store.db, queued[0]!.id)).toMatchObject({
        state: "pending",
        claimedBy: null,
      });
      expect(await queryEvents(store.db, { action: "claims.recovered" })).toHaveLength(1);
    } finally {
      clock.mockRestore();
      looks.mockRestore();
    }
  });
});
