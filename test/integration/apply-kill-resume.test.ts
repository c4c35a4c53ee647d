/**
 * Durability of apply: a worker process applying 300 queued operations is killed with SIGKILL mid-run —
 * no shutdown hook, no cleanup, possibly between a connector write and its record — and a second apply
 * resumes once the dead worker's claims have expired. Nothing may be lost and nothing done twice: every
 * operation succeeds, the app tables hold exactly the intended rows, and each operation has exactly one
 * `operation.succeeded` audit event. Runs with the store on a SQLite file and on PostgreSQL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import type { Connector } from "../../src/connectors/connector-types.js";
import { applyOperations } from "../../src/engine/apply.js";
import { enqueuePlan } from "../../src/engine/enqueue.js";
import { openStore, type Store } from "../../src/store/database.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { appConnector, createAppDatabase, joiner, readApp } from "../fixtures/app-database.js";
import { freshPostgresUrl, postgresAvailable } from "../helpers/databases.js";
import { tempDir } from "../helpers/workspace.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WORKER = path.join(ROOT, "test/fixtures/apply-worker.ts");
const T0 = new Date("2026-12-01T09:00:00.000Z");
const LEASE_SECONDS = 120;
const IDENTITIES = 100;
const GROUPS = ["staff", "vpn"] as const;
const TOTAL = IDENTITIES * (1 + GROUPS.length);
const RETRY = { maxAttempts: 5, baseDelaySeconds: 1, maxDelaySeconds: 10 };

type Variant = [string, (dir: string) => Promise<{ url: string; drop: () => Promise<void> }>];
const variants: Variant[] = [
  ["a SQLite file", async (dir) => ({ url: `sqlite:${path.join(dir, "tenure.db")}`, drop: async () => {} })],
];
if (await postgresAvailable()) variants.push(["PostgreSQL", () => freshPostgresUrl()]);

describe.each(variants)("apply killed mid-run and resumed, store on %s", (_name, storeUrl) => {
  let dir: string;
  let disposeDir: () => Promise<void>;
  let store: Store;
  let drop: () => Promise<void>;
  let url: string;
  let child: ChildProcess | undefined;
  let connector: Connector | undefined;

  beforeEach(async () => {
    ({ dir, dispose: disposeDir } = await tempDir("tenure-kill-"));
    ({ url, drop } = await storeUrl(dir));
    store = await openStore(url);
  });
  afterEach(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await connector?.close();
    await store.close();
    await drop();
    await disposeDir();
  });

  it("loses no operation and repeats none", async () => {
    const appFile = path.join(dir, "app.db");
    createAppDatabase(appFile);
    const plan = Array.from({ length: IDENTITIES }, (_, i) =>
      joiner("app", `id-${String(i).padStart(3, "0")}`, `user${i}`, GROUPS),
    ).flat();
    const { queued } = await enqueuePlan(store, plan, {
      now: T0,
      actor: "test",
      lifecycle: { massChangeThreshold: { percent: 10, minimum: 5 } },
      systems: { app: { retry: RETRY } },
    });
    expect(queued).toHaveLength(TOTAL);

    // The worker, slowed after each write so that it is still busy when killed.
    let stderr = "";
    const proc = spawn(process.execPath, ["--import", "tsx", WORKER, url, appFile], {
      cwd: ROOT,
      env: {
        ...process.env,
        TENURE_TEST_APPLY_DELAY_MS: "30",
        TENURE_TEST_APPLY_NOW: T0.toISOString(),
        TENURE_TEST_LEASE_SECONDS: String(LEASE_SECONDS),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.on("exit", (code, signal) => resolve({ code, signal })),
    );

    // Kill once a good part, but not all, has been recorded.
    const deadline = Date.now() + 45_000;
    for (;;) {
      const { succeeded } = await operationRepository.countByState(store.db);
      if (succeeded >= TOTAL / 3) break;
      if (proc.exitCode !== null) throw new Error(`the worker exited before it could be killed: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`the worker made no progress in time: ${stderr}`);
      await sleep(10);
    }
    proc.kill("SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");

    const afterKill = await operationRepository.countByState(store.db);
    expect(afterKill.succeeded).toBeGreaterThan(0);
    expect(afterKill.succeeded).toBeLessThan(TOTAL);
    expect(afterKill.dead + afterKill.failed).toBe(0);

    // Operations the dead worker left running whose write had already landed in the app.
    const app = readApp(appFile);
    const logins = new Set(app.users.map((u) => u.login));
    const members = new Set(app.memberships.map((m) => `${m.login}/${m.group}`));
    const running = await operationRepository.list(store.db, { state: "running", limit: TOTAL });
    const landed = running
      .filter((op) =>
        op.kind === "create" ? logins.has(op.username) : members.has(`${op.username}/${op.entitlement}`),
      )
      .map((op) => op.id);

    // Resume in-process. Before the lease ends nothing left running may be taken over.
    connector = appConnector("app", appFile);
    const resumeDeps = (now: Date) => ({
      store,
      connectors: () => connector!,
      retry: () => RETRY,
      now: () => now,
      workerId: "resumer",
    });
    if (running.length > 0) {
      const early = await applyOperations(resumeDeps(T0), { limit: TOTAL });
      expect(early.outcomes.map((o) => o.id)).not.toContain(running[0]!.id);
    }
    const resumed = await applyOperations(resumeDeps(new Date(T0.getTime() + (LEASE_SECONDS + 60) * 1000)));
    expect(resumed.summary.failed + resumed.summary.dead + resumed.summary.skipped).toBe(0);
    for (const id of landed) {
      expect(resumed.outcomes.find((o) => o.id === id)).toMatchObject({
        outcome: "succeeded",
        changed: false,
      });
    }

    // Every operation succeeded, none dead.
    expect(await operationRepository.countByState(store.db)).toEqual({
      pending: 0,
      running: 0,
      awaiting: 0,
      succeeded: TOTAL,
      failed: 0,
      dead: 0,
    });

    // The app holds exactly the intended rows: no duplicate users, no duplicate memberships.
    const final = readApp(appFile);
    expect(final.users.map((u) => u.login).sort()).toEqual(
      Array.from({ length: IDENTITIES }, (_, i) => `user${i}`).sort(),
    );
    expect(final.users.every((u) => u.active === 1 && u.mail === `${u.login}@example.test`)).toBe(true);
    expect(final.memberships).toHaveLength(IDENTITIES * GROUPS.length);
    expect(new Set(final.memberships.map((m) => `${m.login}/${m.group}`)).size).toBe(
      IDENTITIES * GROUPS.length,
    );

    // Exactly one success event per operation, and the hash chain survived the kill.
    const events = await queryEvents(store.db, { action: "operation.succeeded", limit: 10 * TOTAL });
    const perOperation = new Map<string, number>();
    for (const e of events) {
      const id = String(e.details.operationId);
      perOperation.set(id, (perOperation.get(id) ?? 0) + 1);
    }
    expect(events).toHaveLength(TOTAL);
    expect([...perOperation.keys()].sort()).toEqual(queued.map((op) => op.id).sort());
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });
});
