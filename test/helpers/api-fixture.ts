import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { PLATFORM_ROLES, type PlatformRole } from "../../src/api/auth/platform-roles.js";
import { createTokenService, type TokenService } from "../../src/api/auth/token-service.js";
import { buildServer } from "../../src/api/server.js";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { apiTokenRepository } from "../../src/store/api-token-repository.js";
import { type OperationRecord, operationRepository } from "../../src/store/operation-repository.js";
import { type AppDatabase, appDatabaseFactories } from "./app-databases.js";
import type { StoreFactory, TestStore } from "./databases.js";
import { tempDir, writeHrCsv } from "./workspace.js";

/** The instant the fixture's clock shows; HR dates below are around it. */
export const FIXTURE_NOW = new Date("2026-03-02T10:00:00Z");

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
export const FIXTURE_PEOPLE = [
  "E1,Ada,Lovelace,ada@example.test,Engineering,SRE,,employee,active,2026-01-05,,",
  "E2,Grace,Hopper,grace@example.test,Sales,AE,E1,employee,active,2026-01-05,,",
  "E3,Kim,Future,kim@example.test,Sales,AE,E1,employee,active,2026-03-20,,",
  "E4,Cy,Contract,cy@example.test,Sales,Temp,E1,contractor,active,2026-01-05,2026-06-30,",
];

function yaml(app: AppDatabase, more: string, moreSystems = ""): string {
  return `
sources:
  hr:
    type: csv
    path: ./hr.csv
    missingMeans: terminate
lifecycle:
  massChangeThreshold: { percent: 25, minimum: 1 }
systems:
  app:
    connector: sql
    drift: enforce
    account:
      username: "{givenName}.{familyName}"
      attributes: { email: "{email}" }
    config:
      url: "${app.url}"
      users:
        table: app_users
        id: id
        username: login
        enabled: { column: active }
        attributes: { email: mail }
      memberships: { table: app_user_groups, user: user_id, group: group_name }
${moreSystems}entitlements:
  app:
    readers: { displayName: Readers }
    deployers: { displayName: Deployers }
roles:
  staff:
    when: "employmentType == 'employee' || employmentType == 'contractor'"
    grants: [{ system: app, entitlements: [readers] }]
  engineer:
    when: "department == 'Engineering'"
    includes: [staff]
    grants: [{ system: app, entitlements: [deployers] }]
${more}`;
}

/** Log lines the server wrote, as text, for tests that search them. */
export interface CapturedLog {
  lines: string[];
  text(): string;
}

export interface ApiFixture {
  app: FastifyInstance;
  store: TestStore;
  config: TenureConfig;
  dir: string;
  appDb: AppDatabase;
  tokens: TokenService;
  /** A live token per platform role. */
  tokenFor: Record<PlatformRole, string>;
  expiredToken: string;
  revokedToken: string;
  log: CapturedLog;
  /** The clock the server reads; tests may move it. */
  clock: { now: Date };
  dispose(): Promise<void>;
}

/**
 * A real API server (not listening; use `app.inject`) over a real store, with a workspace whose HR
 * export has been synced into an SQLite application database (system `app`), a token for every role,
 * an expired and a revoked token, and the server's log captured.
 */
export async function apiFixture(
  makeStore: StoreFactory,
  options: {
    authFailuresPerMinute?: number;
    bodyLimit?: number;
    /** tenure.yaml text appended after the roles: more roles (indented two spaces), then other sections. */
    moreYaml?: string;
    /** More systems (each indented two spaces, ending in a newline), beside `app`. */
    moreSystems?: string;
  } = {},
): Promise<ApiFixture> {
  const { dir, dispose: removeDir } = await tempDir("tenure-api-");
  const sqliteApp = (await appDatabaseFactories()).find(([kind]) => kind === "sqlite")![1];
  const appDb = await sqliteApp();
  await writeHrCsv(dir, FIXTURE_PEOPLE);
  await writeFile(
    path.join(dir, "tenure.yaml"),
    yaml(appDb, options.moreYaml ?? "", options.moreSystems ?? ""),
  );
  const loaded = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
  const config: TenureConfig = {
    ...loaded,
    server: {
      ...loaded.server,
      authFailuresPerMinute: options.authFailuresPerMinute ?? 100_000,
      ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    },
  };
  const store = await makeStore();
  const clock = { now: FIXTURE_NOW };
  await runSync(store, config, { now: clock.now, actor: "test" });

  const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now: () => clock.now });
  const tokenFor = {} as Record<PlatformRole, string>;
  for (const role of PLATFORM_ROLES) {
    tokenFor[role] = (await tokens.create({ name: `t-${role}`, role, expiresAt: null, actor: "test" })).token;
  }
  clock.now = new Date(FIXTURE_NOW.getTime() - 2 * 3_600_000);
  const expiredToken = (
    await tokens.create({
      name: "t-expired",
      role: "admin",
      expiresAt: new Date(FIXTURE_NOW.getTime() - 3_600_000),
      actor: "test",
    })
  ).token;
  clock.now = FIXTURE_NOW;
  const revokedToken = (
    await tokens.create({ name: "t-revoked", role: "admin", expiresAt: null, actor: "test" })
  ).token;
  await tokens.revoke("t-revoked", "test");

  const lines: string[] = [];
  const log: CapturedLog = { lines, text: () => lines.join("") };
  const app = await buildServer({
    store,
    config,
    tokens,
    now: () => clock.now,
    logStream: { write: (line: string) => lines.push(line) },
  });
  await app.ready();
  return {
    app,
    store,
    config,
    dir,
    appDb,
    tokens,
    tokenFor,
    expiredToken,
    revokedToken,
    log,
    clock,
    async dispose() {
      await app.close();
      await store.dispose();
      await appDb.drop();
      await removeDir();
    },
  };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

let deadCount = 0;

/** A dead operation of system `app`, as a connector refusing it for good leaves one: for retry routes. */
export async function makeDeadOperation(f: Pick<ApiFixture, "store" | "clock">): Promise<OperationRecord> {
  const key = `test-dead-${++deadCount}-${Date.now()}`;
  await operationRepository.enqueue(
    f.store.db,
    [
      {
        system: "app",
        kind: "grant",
        identityId: null,
        username: `nobody-${deadCount}`,
        nativeId: null,
        entitlement: "readers",
        attributes: null,
        enabled: null,
        lineage: [],
        reason: "test",
        idempotencyKey: key,
        drift: false,
      },
    ],
    { now: f.clock.now, maxAttemptsFor: () => 1 },
  );
  // Other due operations (earlier retries) may be claimed with it; they are given back untouched.
  const workerId = `test-worker-${deadCount}`;
  const batch = await operationRepository.claimDue(f.store.db, {
    now: f.clock.now,
    limit: 1000,
    workerId,
    leaseSeconds: 60,
    system: "app",
  });
  const claimed = batch.find((op) => op.idempotencyKey === key);
  if (claimed === undefined) throw new Error("the test operation was not claimed");
  await operationRepository.markFailed(f.store.db, claimed.id, {
    now: f.clock.now,
    workerId,
    error: "app: refused (test)",
    retryable: false,
    nextAttemptAt: f.clock.now,
  });
  await operationRepository.releaseClaims(f.store.db, workerId, f.clock.now);
  return { ...claimed, state: "dead" };
}
