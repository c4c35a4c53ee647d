/**
 * `tenure serve` stops within server.shutdownGraceSeconds even while a sync is busy evaluating rules:
 * 1,200 people, thirty birthright rules each close to the evaluation budget (about 10,000 list
 * elements per person), so planning the sync takes tens of seconds of CPU. SIGTERM in the middle of it
 * ends the process within the grace period (exit 1, saying so), and the store is left consistent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenService } from "../../src/api/auth/token-service.js";
import { verifyLedger } from "../../src/audit/ledger.js";
import { syncAll } from "../../src/engine/sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { apiTokenRepository } from "../../src/store/api-token-repository.js";
import { openStore } from "../../src/store/database.js";
import { type AppDatabase, appDatabaseFactories } from "../helpers/app-databases.js";
import { CLI_ENTRY } from "../helpers/cli.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const PEOPLE = 1200;
const GRACE_SECONDS = 3;
// Enough rules that planning outlasts the wait and the grace period on a quiet machine too (three
// took about five seconds there, and the sync finished inside the grace period).
const ROLES = 30;

// 99 comma-separated items: 99 + 99 × 99 = 9,900 elements per evaluation, under the budget of 10,000.
const heavy = (n: number) => `"title.split(',').exists(a, title.split(',').exists(b, a + b == 'x${n}'))"`;

function yaml(app: AppDatabase, withRoles: boolean): string {
  const names = Array.from({ length: ROLES }, (_, i) => `r${i}`);
  const entitlements = names.map((n) => `    ${n}: {}`).join("\n");
  const roles = withRoles
    ? names
        .map((n, i) => `  ${n}: { when: ${heavy(i)}, grants: [{ system: app, entitlements: [${n}] }] }`)
        .join("\n")
    : "";
  return `database: sqlite:./tenure.db
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  app:
    connector: sql
    account: { username: "{employeeId}" }
    config:
      url: "${app.url}"
      users: { table: app_users, id: id, username: login, enabled: { column: active } }
      memberships: { table: app_user_groups, user: user_id, group: group_name }
entitlements:
  app:
${entitlements}
${withRoles ? `roles:\n${roles}` : ""}
server:
  applyIntervalSeconds: 0
  shutdownGraceSeconds: ${GRACE_SECONDS}
  schedule: { enabled: false }
`;
}

function startServe(configFile: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [...CLI_ENTRY, "--config", configFile, "serve", "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TENURE_NOW: "" },
  });
  let stderr = "";
  child.stdout?.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000);
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

describe("tenure serve with a sync busy evaluating rules", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  let app: AppDatabase;
  let configFile: string;
  let token: string;

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-serve-busy-"));
    app = await (await appDatabaseFactories()).find(([kind]) => kind === "sqlite")![1]();
    const items = Array.from({ length: 98 }, (_, i) => `t${i}`).join(",");
    await writeHrCsv(
      dir,
      Array.from(
        { length: PEOPLE },
        // A distinct title each, so no rule result is remembered from one person to the next.
        (_, i) =>
          `E${1000 + i},P${i},Person,p${i}@example.test,Ops,"${items},u${i}",,employee,active,2026-01-05,,`,
      ),
    );
    configFile = path.join(dir, "tenure.yaml");
    // The people are brought in without the rules, so the set-up is quick; the sync the test asks
    // for finds nobody changed and only plans (the long part).
    await writeFile(configFile, yaml(app, false));
    const config = await loadConfig(configFile);
    const store = await openStore(config.database, { baseDir: config.baseDir });
    try {
      await syncAll(store, config, { now: new Date(), actor: "test" });
      const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now: () => new Date() });
      ({ token } = await tokens.create({ name: "admin", role: "admin", expiresAt: null, actor: "test" }));
    } finally {
      await store.close();
    }
    await writeFile(configFile, yaml(app, true));
  }, 120_000);
  afterAll(async () => {
    await app.drop();
    await dispose();
  });

  it("stops within shutdownGraceSeconds after SIGTERM, while the sync is still planning", async () => {
    const serve = await startServe(configFile);
    const exited = new Promise<number | null>((resolve) => serve.child.on("exit", (code) => resolve(code)));
    const sync = fetch(`${serve.url}/api/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    }).then(
      (res) => res.status,
      () => "no answer",
    );
    // The sync reads, finds nobody changed, and starts planning: some 1,200 × 3 × 10,000 elements.
    await new Promise((r) => setTimeout(r, 3000));
    // The server still answers while it plans.
    const health = await fetch(`${serve.url}/api/health`, { signal: AbortSignal.timeout(2000) });
    expect(health.status).toBe(200);

    const signalled = Date.now();
    serve.child.kill("SIGTERM");
    const code = await exited;
    const tookMs = Date.now() - signalled;
    expect(serve.stderr()).toContain("SIGTERM: shutting down");
    expect(serve.stderr()).toContain(
      `not stopped within ${GRACE_SECONDS} s (server.shutdownGraceSeconds): exiting now`,
    );
    expect(code).toBe(1);
    // The grace period, and a little for the process to go (the plan alone takes tens of seconds).
    expect(tookMs).toBeLessThan((GRACE_SECONDS + 4) * 1000);
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 100);
    expect(await sync).toBe("no answer");

    // Nothing half-written: the ledger verifies and no operation was queued by the stopped plan.
    const config = await loadConfig(configFile);
    const store = await openStore(config.database, { baseDir: config.baseDir });
    try {
      expect((await verifyLedger(store.db)).ok).toBe(true);
      const ops = await store.db.selectFrom("operations").select("id").execute();
      expect(ops).toEqual([]);
    } finally {
      await store.close();
    }
    await writeFile(configFile, yaml(app, true));
  }, 120_000);
});
