/**
 * Reconcile goes on past a system that fails: a real `sql` system on SQLite application tables beside
 * a system whose database listens on a port where nothing listens. The working system is reconciled
 * (its accounts recorded, its `reconcile.completed` event written), the failing one is reported with
 * why and changes nothing; `tenure reconcile` prints a line per system and exits 1, and
 * `POST /api/reconcile` answers 207 with each system's outcome, as its OpenAPI document says.
 */

import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTokenService } from "../../src/api/auth/token-service.js";
import { buildServer } from "../../src/api/server.js";
import { queryEvents } from "../../src/audit/ledger.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { accountRepository } from "../../src/store/account-repository.js";
import { apiTokenRepository } from "../../src/store/api-token-repository.js";
import { openStore, type Store } from "../../src/store/database.js";
import { type AppDatabase, appDatabaseFactories } from "../helpers/app-databases.js";
import { runCli } from "../helpers/cli.js";
import { freshPostgresUrl, postgresAvailable } from "../helpers/databases.js";
import { freePort } from "../helpers/net.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const PASSWORD = "hunter2-not-for-output";

function yaml(database: string, app: AppDatabase, port: number): string {
  const users = `{ table: app_users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }`;
  const memberships = `{ table: app_user_groups, user: user_id, group: group_name }`;
  // `down` comes first: a run that stopped at the first failure would never reach `app`.
  return `
database: "${database}"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  down:
    connector: sql
    account: { username: "{employeeId}" }
    config:
      url: "postgres://tenure:${PASSWORD}@127.0.0.1:${port}/nothing"
      users: ${users}
      memberships: ${memberships}
  app:
    connector: sql
    account: { username: "{employeeId}" }
    config:
      url: "${app.url}"
      users: ${users}
      memberships: ${memberships}
`;
}

interface Workspace {
  dir: string;
  database: string;
  app: AppDatabase;
  port: number;
  dispose(): Promise<void>;
}

const stores: Array<[string, () => Promise<{ url: string; drop: () => Promise<void> }>]> = [
  ["sqlite", async () => ({ url: "sqlite:./tenure.db", drop: async () => {} })],
];
if (await postgresAvailable()) stores.push(["postgres", freshPostgresUrl]);

describe.each(stores)("reconcile past a failing system, store on %s", (_kind, makeDatabase) => {
  let w: Workspace;

  beforeEach(async () => {
    const { dir, dispose } = await tempDir("tenure-reconcile-fail-");
    const app = await (await appDatabaseFactories()).find(([kind]) => kind === "sqlite")![1]();
    await seedApp(app.url);
    const { url, drop } = await makeDatabase();
    const port = await freePort();
    await writeHrCsv(dir, []);
    await writeFile(path.join(dir, "tenure.yaml"), yaml(url, app, port));
    // What `tenure init` does: only init (and demo) give a store Tenure's schema.
    await (await openStore(url, { baseDir: dir, create: true })).close();
    w = {
      dir,
      database: url,
      app,
      port,
      async dispose() {
        await app.drop();
        await drop();
        await dispose();
      },
    };
  });
  afterEach(() => w.dispose());

  async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    const config = await loadConfig(path.join(w.dir, "tenure.yaml"), { env: {} });
    const store = await openStore(config.database, { baseDir: config.baseDir });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  async function expectOnlyAppReconciled(store: Store): Promise<void> {
    const accounts = await accountRepository.list(store.db, {});
    expect(accounts.map((a) => `${a.system}:${a.username}`).sort()).toEqual(["app:alice", "app:bob"]);
    const events = await queryEvents(store.db, { action: "reconcile.completed" });
    expect(events.map((e) => e.subject)).toEqual(["system:app"]);
    const runs = await store.db.selectFrom("reconcile_runs").select("system").execute();
    expect(runs.map((r) => r.system)).toEqual(["app"]);
  }

  it("tenure reconcile reconciles every other system, prints a line per system and exits 1", async () => {
    const text = await runCli(["reconcile"], { cwd: w.dir });
    expect(text.code, text.stderr).toBe(1);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^down: FAILED, nothing read or changed: list accounts failed .*ECONNREFUSED/);
    expect(lines[1]).toBe("app: 2 accounts read, 0 belong to identities");
    expect(text.stdout).toContain("1 of 2 systems failed; the others were reconciled");
    // The connection's password never reaches the output.
    expect(text.stdout + text.stderr).not.toContain(PASSWORD);

    const json = await runCli(["--json", "reconcile"], { cwd: w.dir });
    expect(json.code).toBe(1);
    const run = JSON.parse(json.stdout);
    expect(run.failed).toBe(1);
    expect(run.systems.map((s: { system: string; outcome: string }) => `${s.system}:${s.outcome}`)).toEqual([
      "down:failed",
      "app:reconciled",
    ]);
    expect(run.systems[0].error).toMatch(/ECONNREFUSED/);
    expect(json.stdout).not.toContain(PASSWORD);
    expect(run.systems[1]).toMatchObject({ accounts: 2, read: true });
    await withStore(async (store) => {
      const accounts = await accountRepository.list(store.db, {});
      expect(accounts.map((a) => `${a.system}:${a.username}`).sort()).toEqual(["app:alice", "app:bob"]);
      const events = await queryEvents(store.db, { action: "reconcile.completed" });
      expect(events.map((e) => e.subject)).toEqual(["system:app", "system:app"]);
    });
  });

  it("POST /api/reconcile answers 207 with each system's outcome, as the OpenAPI document says", async () => {
    const config = await loadConfig(path.join(w.dir, "tenure.yaml"), { env: {} });
    const store = await openStore(config.database, { baseDir: config.baseDir });
    const now = () => new Date("2026-03-02T10:00:00Z");
    const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now });
    const { token } = await tokens.create({ name: "admin", role: "admin", expiresAt: null, actor: "test" });
    const app = await buildServer({ store, config, tokens, now, logStream: { write: () => {} } });
    try {
      await app.ready();
      const res = await app.inject({
        method: "POST",
        url: "/api/reconcile",
        headers: { authorization: `Bearer ${token}` },
        payload: {},
      });
      expect(res.statusCode, res.body).toBe(207);
      const body = res.json();
      expect(body.failed).toBe(1);
      expect(body.systems).toEqual([
        { system: "down", outcome: "failed", error: expect.any(String) },
        expect.objectContaining({ system: "app", outcome: "reconciled", accounts: 2, correlated: 0 }),
      ]);
      expect(res.body).not.toContain(PASSWORD);
      await expectOnlyAppReconciled(store);

      // Only the working system: 200.
      const ok = await app.inject({
        method: "POST",
        url: "/api/reconcile",
        headers: { authorization: `Bearer ${token}` },
        payload: { system: "app" },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ failed: 0, systems: [{ system: "app", outcome: "reconciled" }] });

      const doc = (await app.inject({ url: "/api/openapi.json" })).json();
      const responses = doc.paths["/api/reconcile"].post.responses;
      expect(Object.keys(responses)).toEqual(expect.arrayContaining(["200", "207"]));
      const schema = JSON.stringify(doc.components.schemas.ReconcileResult ?? responses["207"]);
      expect(schema).toContain('"failed"');
      expect(schema).toContain('"reconciled"');
    } finally {
      await app.close();
      await store.close();
    }
  });
});

async function seedApp(url: string): Promise<void> {
  const { default: BetterSqlite3 } = await import("better-sqlite3");
  const db = new BetterSqlite3(url.slice("sqlite:".length));
  try {
    db.prepare("insert into app_users (login, mail, active) values ('alice', 'alice@example.test', 1)").run();
    db.prepare("insert into app_users (login, mail, active) values ('bob', 'bob@example.test', 0)").run();
  } finally {
    db.close();
  }
}
