/**
 * `tenure serve` as a real process: it listens, answers probes and token-guarded routes, applies queued
 * operations in the background, and on SIGTERM stops gracefully — operations in flight against a slow
 * webhook receiver (1 s per request) finish and are recorded, the ones claimed but not started go back
 * to `pending`, nothing is left `running`, and the process exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyLedger } from "../../src/audit/ledger.js";
import { enqueuePlan } from "../../src/engine/enqueue.js";
import { computeProvisionPlan } from "../../src/engine/provision.js";
import { syncAll } from "../../src/engine/sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { openStore } from "../../src/store/database.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { CLI_ENTRY, runCli } from "../helpers/cli.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const PEOPLE = 20;
const DELAY_MS = 1000;

interface SlowReceiver {
  url: string;
  /** Requests received, and those answered. */
  received: number;
  answered: number;
  close(): Promise<void>;
}

/** A webhook receiver that takes a second to answer each write. */
async function slowReceiver(): Promise<SlowReceiver> {
  const state = { received: 0, answered: 0 };
  let nextId = 1;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      state.received++;
      setTimeout(() => {
        state.answered++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ changed: true, nativeId: `n-${nextId++}` }));
      }, DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    get received() {
      return state.received;
    },
    get answered() {
      return state.answered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts `tenure serve` and resolves with the URL it prints once it listens. */
function startServe(configFile: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [...CLI_ENTRY, "--config", configFile, "serve", "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TENURE_NOW: "" },
  });
  let stderr = "";
  child.stdout?.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stderr?.on("data", (d) => {
      stderr += d;
      const match = /tenure API on (http:\/\/[^\s]+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1], stderr: () => stderr });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("tenure serve", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  let receiver: SlowReceiver;
  let configFile: string;

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-serve-"));
    receiver = await slowReceiver();
    await writeHrCsv(
      dir,
      Array.from(
        { length: PEOPLE },
        (_, i) => `E${100 + i},P${i},Person,p${i}@example.test,Ops,Staff,,employee,active,2026-01-05,,`,
      ),
    );
    configFile = path.join(dir, "tenure.yaml");
    await writeFile(
      configFile,
      `database: sqlite:./tenure.db
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  hooks:
    connector: webhook
    account:
      username: "{employeeId}"
    config:
      url: "${receiver.url}"
      secret: "serve-test-secret-0123456789"
entitlements:
  hooks:
    users: { displayName: Users }
roles:
  everyone:
    when: "true"
    grants: [{ system: hooks, entitlements: [users] }]
server:
  applyIntervalSeconds: 1
`,
    );
    // The people arrive and their accounts are queued — not applied: serve's apply loop does that.
    const config = await loadConfig(configFile);
    const store = await openStore(config.database, { baseDir: config.baseDir });
    try {
      const now = new Date();
      await syncAll(store, config, { now, actor: "test" });
      const plan = await computeProvisionPlan(store, config, { now });
      await enqueuePlan(store, plan.operations, {
        now,
        actor: "test",
        lifecycle: config.lifecycle,
        systems: config.policy.systems,
        accountCountBySystem: plan.accountCountBySystem,
      });
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    await receiver.close();
    await dispose();
  });

  it("serves the API with tokens from tenure token, and on SIGTERM finishes what is in flight and exits 0", async () => {
    const created = await runCli([
      "--config",
      configFile,
      "--json",
      "token",
      "create",
      "--name",
      "ops",
      "--role",
      "auditor",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const listed = await runCli(["--config", configFile, "token", "list"]);
    expect(listed.stdout).toContain("ops");
    expect(listed.stdout).not.toContain(token);

    const serve = await startServe(configFile);
    const health = await fetch(`${serve.url}/api/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await fetch(`${serve.url}/api/ready`)).status).toBe(200);
    expect((await fetch(`${serve.url}/api/identities`)).status).toBe(401);
    const identities = await fetch(`${serve.url}/api/identities?limit=500`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(identities.status).toBe(200);
    expect(((await identities.json()) as { items: unknown[] }).items).toHaveLength(PEOPLE);

    // The apply loop has started on the queue; stop the server while writes are in flight.
    await until("writes in flight", () => receiver.received > 0 && receiver.answered < receiver.received);
    const exited = new Promise<number | null>((resolve) => serve.child.on("exit", (code) => resolve(code)));
    serve.child.kill("SIGTERM");
    const code = await exited;
    expect(code, serve.stderr()).toBe(0);
    expect(serve.stderr()).toContain("SIGTERM: shutting down");
    // Every write the receiver took was answered before the process went, and recorded.
    expect(receiver.answered).toBe(receiver.received);

    const config = await loadConfig(configFile);
    const store = await openStore(config.database, { baseDir: config.baseDir });
    try {
      const counts = await operationRepository.countByState(store.db);
      expect(counts.running).toBe(0);
      expect(counts.succeeded).toBe(receiver.received);
      expect(counts.succeeded).toBeGreaterThan(0);
      // It stopped part-way: what was claimed but not started went back to the queue.
      expect(counts.pending).toBeGreaterThan(0);
      expect(counts.pending).toBe(PEOPLE * 2 - receiver.received);
      expect(counts.failed + counts.dead).toBe(0);
      expect((await verifyLedger(store.db)).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("lets a request in flight finish before it exits: a sync asked for just before SIGTERM completes", async () => {
    // Without the background loop and without the scheduler, so the writes are the request's own: the
    // scheduler's lifecycle job provisions too, and a server started after a lifecycle slot it had not
    // run (the first test stops its server before the job records one, or a 5-minute boundary passed)
    // applied the whole queue at once, leaving the sync nothing to claim.
    const quiet = path.join(dir, "quiet.yaml");
    const text = await readFile(configFile, "utf8");
    await writeFile(
      quiet,
      text.replace("applyIntervalSeconds: 1", "applyIntervalSeconds: 0\n  schedule: { enabled: false }"),
    );
    const created = await runCli([
      "--config",
      configFile,
      "--json",
      "token",
      "create",
      "--name",
      "admin",
      "--role",
      "admin",
    ]);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const serve = await startServe(quiet);
    const before = receiver.received;
    const sync = fetch(`${serve.url}/api/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    await until("the sync's writes", () => receiver.received > before);
    const exited = new Promise<number | null>((resolve) => serve.child.on("exit", (code) => resolve(code)));
    serve.child.kill("SIGTERM");
    const answer = await sync;
    expect(answer.status).toBe(200);
    const result = (await answer.json()) as { provisioning: { applied: { succeeded: number } } };
    expect(result.provisioning.applied.succeeded).toBeGreaterThan(0);
    expect(await exited).toBe(0);

    const config = await loadConfig(configFile);
    const store = await openStore(config.database, { baseDir: config.baseDir });
    try {
      const counts = await operationRepository.countByState(store.db);
      expect(counts.running).toBe(0);
      expect(counts.succeeded).toBe(receiver.received);
    } finally {
      await store.close();
    }
    // Revoked, the token is refused; the list says when.
    expect((await runCli(["--config", configFile, "token", "revoke", "admin"])).code).toBe(0);
    const listed = await runCli(["--config", configFile, "--json", "token", "list"]);
    const tokens = (
      JSON.parse(listed.stdout) as {
        tokens: Array<{ name: string; revokedAt: string | null; lastUsedAt: string | null }>;
      }
    ).tokens;
    expect(tokens.find((t) => t.name === "admin")).toMatchObject({
      revokedAt: expect.any(String),
      lastUsedAt: expect.any(String),
    });
    expect(listed.stdout).not.toContain(token);
  });

  it("refuses a port that is not one", async () => {
    const res = await runCli(["--config", configFile, "serve", "--port", "http"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--port "http" is not a TCP port');
  });
});
