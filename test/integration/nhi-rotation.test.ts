import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Attribute, Change, Client, type ClientOptions } from "ldapts";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import type { Connector } from "../../src/connectors/connector-types.js";
import { createLdapConnector } from "../../src/connectors/ldap/ldap-connector.js";
import { parseLdapConnectorConfig } from "../../src/connectors/ldap/ldap-schemas.js";
import { createMariadbConnector } from "../../src/connectors/mariadb/mariadb-connector.js";
import { parseMariadbConnectorConfig } from "../../src/connectors/mariadb/mariadb-schemas.js";
import { createPostgresConnector } from "../../src/connectors/postgres/postgres-connector.js";
import { parsePostgresConnectorConfig } from "../../src/connectors/postgres/postgres-schemas.js";
import type { SecretSink } from "../../src/connectors/secret-sink.js";
import { verifyWebhookSignature } from "../../src/connectors/webhook/webhook-signature.js";
import { DEFAULT_DEADLINES, withDeadlines } from "../../src/engine/connector-pool.js";
import type { NotifyConfig } from "../../src/notify/notify-config.js";
import type { NhiRotationConfig } from "../../src/policy/sections/nhi-rotation-schema.js";
import { nhiRotationRepository } from "../../src/store/nhi-rotation-repository.js";
import {
  type NhiRotationTarget,
  RotationFailedError,
  RotationRunningError,
  rotateCredential,
} from "../../src/workflows/nhi-rotation.js";
import {
  postgresAvailable,
  type StoreFactory,
  storeFactories,
  type TestStore,
} from "../helpers/databases.js";
import { type HttpReceiver, startHttpReceiver } from "../helpers/http-receiver.js";
import {
  asSuperuser,
  pgLogsIn as clusterLetsIn,
  findPostgresBin,
  type PostgresCluster,
  startPostgresCluster,
} from "../helpers/postgres-cluster.js";
import { ADMIN_DN, findSlapd, type Slapd, SUFFIX, startSlapd } from "../helpers/slapd.js";

/**
 * Issue 17, item 4: rotation of non-human identities' credentials against real targets — a PostgreSQL
 * cluster that checks passwords (scram-sha-256), the development MariaDB, and OpenLDAP slapd — with the
 * rotations recorded in the store on SQLite and on PostgreSQL. Every "works" and "refused" is a real
 * login or bind. After each test, the secrets delivered to the sinks are looked for everywhere else: every
 * table of the store, the audit events, the notifications, the errors thrown and everything logged.
 */

const MARIADB_URL = process.env.TENURE_TEST_MARIADB ?? "mysql://root@127.0.0.1:3306";
const mariadbAdmin = new URL(MARIADB_URL);

async function mariadbUp(): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ uri: MARIADB_URL, connectTimeout: 3000 });
    await c.end();
    return true;
  } catch (err) {
    if (process.env.CI === "true") throw new Error(`MariaDB is required under CI=true: ${String(err)}`);
    console.warn("skipping MariaDB rotation tests: MariaDB is not reachable");
    return false;
  }
}

const pgInstalled = (await findPostgresBin()) !== undefined;
const slapdInstalled = (await findSlapd()) !== undefined;
const mariadb = await mariadbUp();
if (process.env.CI === "true" && (!pgInstalled || !slapdInstalled)) {
  throw new Error("PostgreSQL (initdb) and slapd are required under CI=true");
}
const stores: Array<[string, StoreFactory]> = (await postgresAvailable())
  ? await storeFactories()
  : (await storeFactories()).slice(0, 1);

const run = `r${randomBytes(3).toString("hex")}_`;
const ident = pg.escapeIdentifier;
let serial = 0;
const uniqueName = (what: string) => `${run}${what}${++serial}`;
const oldPassword = () => `old-${randomBytes(9).toString("hex")}`;

// ---- the targets ----

let cluster: PostgresCluster | undefined;
let slapd: Slapd | undefined;
let workDir: string;
const WEAK_ADMIN = `${run}weak_admin`;
const WEAK_PASSWORD = `weak-${randomBytes(8).toString("hex")}`;

/** Runs one statement as the cluster's superuser. */
const superuser = (text: string) => asSuperuser(cluster!, text);
/** Whether the cluster lets `role` in with `password`. */
const pgLogsIn = (role: string, password: string) => clusterLetsIn(cluster!, role, password);

async function mariadbQuery(text: string, values: unknown[] = []): Promise<void> {
  const c = await mysql.createConnection({ uri: MARIADB_URL, connectTimeout: 3000 });
  try {
    await c.query(text, values);
  } finally {
    await c.end();
  }
}

/** Whether MariaDB lets `user` in with `password` (false on access denied, 1045). */
async function mariadbLogsIn(user: string, password: string): Promise<boolean> {
  try {
    const c = await mysql.createConnection({
      host: mariadbAdmin.hostname,
      port: mariadbAdmin.port === "" ? 3306 : Number(mariadbAdmin.port),
      user,
      password,
      connectTimeout: 3000,
    });
    await c.query("select 1");
    await c.end();
    return true;
  } catch (err) {
    if ((err as { errno?: unknown }).errno === 1045) return false;
    throw err;
  }
}

const userDn = (uid: string) => `uid=${uid},ou=people,${SUFFIX}`;

/** Whether slapd accepts a bind as `uid` with `password` (false on invalidCredentials, 49). */
async function ldapBinds(uid: string, password: string): Promise<boolean> {
  const client = new Client({ url: slapd!.url, timeout: 3000, connectTimeout: 3000 });
  try {
    await client.bind(userDn(uid), password);
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 49) return false;
    throw err;
  } finally {
    await client.unbind().catch(() => {});
  }
}

async function ldapPasswordValues(uid: string): Promise<string[]> {
  const admin = await slapd!.admin();
  try {
    const { searchEntries } = await admin.search(userDn(uid), {
      scope: "base",
      attributes: ["userPassword"],
    });
    return [searchEntries[0]?.userPassword ?? []].flat().map(String);
  } finally {
    await admin.unbind();
  }
}

function ssha(secret: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash("sha1").update(secret).update(salt).digest(), salt]).toString("base64")}`;
}

// ---- connectors, as the pool gives them ----

const open: Connector[] = [];
const pooled = (system: string, make: () => Connector) => {
  const connector = withDeadlines(system, make, DEFAULT_DEADLINES);
  open.push(connector);
  return connector;
};

const pgConnector = (system: string, admin = { role: "postgres", password: "" }) =>
  pooled(system, () =>
    createPostgresConnector(
      system,
      parsePostgresConnectorConfig(system, {
        url:
          admin.role === "postgres"
            ? cluster!.url()
            : `postgres://${admin.role}:${admin.password}@${cluster!.host}:${cluster!.port}/postgres`,
        usernamePrefix: run,
        passwordSink: { file: path.join(workDir, "connector-passwords.jsonl") },
        timeoutMs: 3000,
      }),
    ),
  );

const mariadbConnector = (system: string) =>
  pooled(system, () =>
    createMariadbConnector(
      system,
      parseMariadbConnectorConfig(system, {
        url: MARIADB_URL,
        usernamePrefix: run,
        passwordSink: { file: path.join(workDir, "connector-passwords.jsonl") },
        timeoutMs: 3000,
      }),
    ),
  );

/** Binds as anyone but the admin refused, as a server would refuse them: for a verify that fails. */
const refusingUserBinds = {
  newClient: (options: ClientOptions) => {
    const client = new Client(options);
    const bind = client.bind.bind(client);
    client.bind = async (dn, password) => {
      if (dn !== ADMIN_DN) throw Object.assign(new Error("Invalid Credentials"), { code: 49 });
      return bind(dn, password);
    };
    return client;
  },
};

const ldapConnector = (system: string, deps?: typeof refusingUserBinds) =>
  pooled(system, () =>
    createLdapConnector(
      system,
      parseLdapConnectorConfig(system, {
        url: slapd!.url,
        bindDn: ADMIN_DN,
        bindPassword: slapd!.adminPassword,
        users: { base: `ou=people,${SUFFIX}` },
        groups: { base: `ou=groups,${SUFFIX}` },
        timeoutMs: 3000,
      }),
      deps,
    ),
  );

// ---- what the workflow is given ----

const OWNER = "owner@example.test";
const ALERTS = "secops@example.test";

const notify: NotifyConfig = {
  email: {
    host: "127.0.0.1",
    port: 2525,
    secure: false,
    requireTLS: false,
    auth: null,
    from: "tenure@example.test",
    timeoutSeconds: 5,
  },
  webhooks: {},
  routes: { "nhi.rotation-failed": [{ email: ["{{to}}"] }] },
  templates: {},
  retry: { maxAttempts: 3, baseDelaySeconds: 60, maxDelaySeconds: 3600 },
  unreachableWindowMinutes: 60,
};

const rotation = (sink: SecretSink, extra: Partial<NhiRotationConfig> = {}): NhiRotationConfig => ({
  sink,
  schedule: "off",
  alertEmail: ALERTS,
  staleAfterMinutes: 60,
  webhookRotators: {},
  ...extra,
});

interface SinkLine {
  system: string;
  username: string;
  secret?: string;
  at: string;
  rotationId: string;
  state: "pending" | "active" | "abandoned";
}

async function sinkLines(file: string): Promise<SinkLine[]> {
  const text = await fs.readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as SinkLine);
}

/** The secret a rotation delivered to the file sink. */
async function deliveredSecret(file: string, rotationId: string): Promise<string> {
  const line = (await sinkLines(file)).find((l) => l.rotationId === rotationId && l.state === "pending");
  if (line?.secret === undefined) throw new Error(`no secret of rotation ${rotationId} in the sink`);
  return line.secret;
}

// ---- where a secret must not be ----

/** Everything written to stdout, stderr and the console while a test runs. */
let logged: string[] = [];
/** Every error the workflow threw in a test. */
let thrown: unknown[] = [];
/** Every secret delivered in a test (file sinks and webhook sinks). */
let delivered: string[] = [];

function captureLogs(): void {
  logged = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    vi.spyOn(stream, "write").mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return original(chunk, ...rest);
    }) as never);
  }
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
  }
}

/** Runs the rotation, keeping what it throws for the secret scan. */
async function attempt<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    thrown.push(err);
    throw err;
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return JSON.stringify(err);
  const parts = [err.message, String(err.stack), JSON.stringify(err), JSON.stringify({ ...err })];
  if (err.cause !== undefined) parts.push(describeError(err.cause));
  return parts.join("\n");
}

async function dumpStore(store: TestStore): Promise<string> {
  const tables = await store.db.introspection.getTables();
  const dumped: string[] = [];
  for (const table of tables) {
    const rows = await store.db
      .selectFrom(table.name as "nhi_rotations")
      .selectAll()
      .execute();
    dumped.push(`${table.name}: ${JSON.stringify(rows)}`);
  }
  expect(tables.map((t) => t.name)).toContain("nhi_rotations");
  return dumped.join("\n");
}

async function expectSecretsOnlyInSinks(store: TestStore): Promise<void> {
  expect(delivered.length).toBeGreaterThan(0);
  const places: Array<[string, string]> = [
    ["the store", await dumpStore(store)],
    ["the audit events", JSON.stringify(await queryEvents(store.db, { limit: 100_000 }))],
    ["the notifications", JSON.stringify(await store.db.selectFrom("notifications").selectAll().execute())],
    ["the errors", thrown.map(describeError).join("\n")],
    ["the logs", logged.join("\n")],
  ];
  for (const secret of delivered) {
    for (const [where, text] of places) {
      expect(text.includes(secret), `a delivered secret is in ${where}`).toBe(false);
      expect(text.includes(encodeURIComponent(secret)), `an encoded secret is in ${where}`).toBe(false);
    }
  }
}

// ---- setup ----

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-nhi-rotation-"));
  // The two servers start side by side.
  await Promise.all([
    (async () => {
      if (!pgInstalled) return;
      cluster = await startPostgresCluster();
      // An admin without CREATEROLE: the server refuses its ALTER ROLE, a rotation the target refuses.
      await superuser(`CREATE ROLE ${ident(WEAK_ADMIN)} LOGIN PASSWORD '${WEAK_PASSWORD}'`);
    })(),
    (async () => {
      if (slapdInstalled) slapd = await startSlapd();
    })(),
  ]);
});

afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  if (mariadb) {
    const c = await mysql.createConnection({ uri: MARIADB_URL });
    const [users] = await c.query("SELECT User AS user, Host AS host FROM mysql.user WHERE User LIKE ?", [
      `${run}%`,
    ]);
    for (const u of users as Array<{ user: string; host: string }>) {
      await c.query("DROP USER IF EXISTS ?@?", [u.user, u.host]);
    }
    await c.end();
  }
  await cluster?.stop();
  await slapd?.stop();
  await fs.rm(workDir, { recursive: true, force: true });
});

describe.each(stores)("NHI credential rotation, recorded in the %s store", (_kind, makeStore) => {
  let store: TestStore;
  let sinkFile: string;
  const deps = (connectors: Record<string, Connector>) => ({
    db: store.db,
    connectors: {
      get: (system: string) => {
        const c = connectors[system];
        if (c === undefined) throw new Error(`no system ${system}`);
        return c;
      },
    },
  });
  const target = (
    system: string,
    username: string,
    ownerEmail: string | null = OWNER,
  ): NhiRotationTarget => ({
    nhiId: `nhi-${username}`,
    name: `service ${username}`,
    system,
    username,
    ownerEmail,
  });
  const options = (reason: "scheduled" | "on-demand" = "on-demand") => ({
    now: new Date(),
    actor: "cli:alice",
    reason,
  });

  beforeEach(async () => {
    store = await makeStore();
    sinkFile = path.join(workDir, `sink-${randomBytes(4).toString("hex")}.jsonl`);
    thrown = [];
    delivered = [];
    captureLogs();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const line of await sinkLines(sinkFile)) if (line.secret !== undefined) delivered.push(line.secret);
    if (delivered.length > 0) await expectSecretsOnlyInSinks(store);
    await store.dispose();
  });

  describe.skipIf(!pgInstalled)("PostgreSQL login passwords", () => {
    it("sets a new password that logs in, refuses the old one, and records each step", async () => {
      const role = uniqueName("svc");
      const old = oldPassword();
      await superuser(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${old}'`);
      const connectors = { pgdb: pgConnector("pgdb") };

      const result = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: sinkFile }) },
          target("pgdb", role),
          options(),
        ),
      );

      const secret = await deliveredSecret(sinkFile, result.rotationId);
      expect(await pgLogsIn(role, secret)).toBe(true);
      expect(await pgLogsIn(role, old)).toBe(false);
      expect((await fs.stat(sinkFile)).mode & 0o777).toBe(0o600);
      expect((await sinkLines(sinkFile)).map((l) => l.state)).toEqual(["pending", "active"]);
      expect(result.sinkConfirmed).toBe(true);
      const row = await nhiRotationRepository.get(store.db, result.rotationId);
      expect(row).toMatchObject({ state: "done", failedStep: null, error: null, reason: "on-demand" });
      expect(row?.finishedAt).toBe(result.lastRotatedAt);
      const [event] = await queryEvents(store.db, { action: "nhi.rotated" });
      expect(event).toMatchObject({
        subject: `nhi-${role}`,
        actor: "cli:alice",
        details: { rotationId: result.rotationId, system: "pgdb", username: role, retired: false },
      });
    });

    it("leaves the target untouched when the sink cannot be written, and alerts the owner", async () => {
      const role = uniqueName("svc");
      const old = oldPassword();
      await superuser(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${old}'`);
      const unwritable = path.join(workDir, "no-such-folder", "sink.jsonl");
      const connectors = { pgdb: pgConnector("pgdb-sink") };

      const error = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: unwritable }) },
          target("pgdb", role),
          options(),
        ),
      ).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RotationFailedError);
      expect((error as RotationFailedError).step).toBe("deliver");
      expect((error as Error).message).toMatch(
        /cannot write the secret sink file .*no-such-folder.* \(ENOENT\)/,
      );
      expect((error as Error).message).toContain("the old credential is unchanged and still in force");
      expect(await pgLogsIn(role, old)).toBe(true);
      const row = await nhiRotationRepository.get(store.db, (error as RotationFailedError).rotationId);
      expect(row).toMatchObject({ state: "failed", failedStep: "deliver" });
      expect(row?.error).toContain("ENOENT");
      const [failed] = await queryEvents(store.db, { action: "nhi.rotation_failed" });
      expect(failed?.details).toMatchObject({ step: "deliver", inForce: "old" });
      const alerts = await store.db
        .selectFrom("notifications")
        .selectAll()
        .where("event", "=", "nhi.rotation-failed")
        .execute();
      expect(alerts.map((a) => a.recipient)).toEqual([OWNER]);
      expect(alerts[0]?.body).toContain("the old credential is unchanged");
      // Nothing was delivered anywhere, so there is no secret to look for.
      delivered.push("(none delivered)");
    });

    it("keeps the old password when the server refuses the change, alerting the configured address", async () => {
      const role = uniqueName("svc");
      const old = oldPassword();
      await superuser(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${old}'`);
      const connectors = { pgdb: pgConnector("pgdb-weak", { role: WEAK_ADMIN, password: WEAK_PASSWORD }) };

      const error = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: sinkFile }) },
          target("pgdb", role, null),
          options("scheduled"),
        ),
      ).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RotationFailedError);
      expect((error as RotationFailedError).step).toBe("set");
      expect((error as Error).message).toMatch(/42501|permission denied/);
      expect((error as Error).message).toContain("the old credential is unchanged");
      expect(await pgLogsIn(role, old)).toBe(true);
      const rotationId = (error as RotationFailedError).rotationId;
      expect(await pgLogsIn(role, await deliveredSecret(sinkFile, rotationId))).toBe(false);
      expect((await sinkLines(sinkFile)).map((l) => l.state)).toEqual(["pending", "abandoned"]);
      const alerts = await store.db.selectFrom("notifications").select("recipient").execute();
      expect(alerts.map((a) => a.recipient)).toEqual([ALERTS]);
    });

    it("says the sink's new secret is in force when it does not log in after being set", async () => {
      const role = uniqueName("svc");
      const old = oldPassword();
      // An expired role: the server takes the new password, and refuses every password login.
      await superuser(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${old}' VALID UNTIL '2000-01-01'`);
      const connectors = { pgdb: pgConnector("pgdb-expired") };

      const error = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: sinkFile }) },
          target("pgdb", role),
          options(),
        ),
      ).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RotationFailedError);
      const failed = error as RotationFailedError;
      expect(failed.step).toBe("verify");
      expect(failed.inForce).toBe("new");
      expect(failed.message).toContain(
        `the new secret delivered to the sink (rotation ${failed.rotationId}) is the one in force`,
      );
      expect(failed.message).toContain("setting it again and verifying once more failed too");
      expect(failed.message).toMatch(/28P01|password authentication failed/);
      const [alert] = await store.db.selectFrom("notifications").selectAll().execute();
      expect(alert?.body).toContain("is the one in force");
      // Once the role is valid again, the sink's secret is the one that works.
      await superuser(`ALTER ROLE ${ident(role)} VALID UNTIL 'infinity'`);
      expect(await pgLogsIn(role, await deliveredSecret(sinkFile, failed.rotationId))).toBe(true);
      expect(await pgLogsIn(role, old)).toBe(false);
    });

    it("refuses a second rotation of the same NHI while one runs", async () => {
      const role = uniqueName("svc");
      await superuser(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${oldPassword()}'`);
      const connectors = { pgdb: pgConnector("pgdb-twice") };
      const settings = { notify, rotation: rotation({ file: sinkFile }) };

      const outcomes = await Promise.allSettled([
        attempt(rotateCredential(deps(connectors), settings, target("pgdb", role), options())),
        attempt(rotateCredential(deps(connectors), settings, target("pgdb", role), options())),
      ]);

      const done = outcomes.filter((o) => o.status === "fulfilled");
      const refused = outcomes.filter((o) => o.status === "rejected");
      expect(done).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(RotationRunningError);
      const rotationId = (done[0] as PromiseFulfilledResult<{ rotationId: string }>).value.rotationId;
      expect(await pgLogsIn(role, await deliveredSecret(sinkFile, rotationId))).toBe(true);
      // One rotation recorded; the refused one wrote nothing and delivered nothing.
      expect(await nhiRotationRepository.listFor(store.db, `nhi-${role}`)).toHaveLength(1);
      expect((await sinkLines(sinkFile)).filter((l) => l.state === "pending")).toHaveLength(1);
    });

    it("takes over from a rotation whose process stopped, recording it failed", async () => {
      const role = uniqueName("svc");
      await superuser(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${oldPassword()}'`);
      const connectors = { pgdb: pgConnector("pgdb-stale") };
      const settings = { notify, rotation: rotation({ file: sinkFile }) };
      const longAgo = new Date(Date.now() - 2 * 3600_000).toISOString();
      await nhiRotationRepository.start(
        store.db,
        {
          id: "stale-1",
          nhiId: `nhi-${role}`,
          system: "pgdb",
          username: role,
          actor: "scheduler",
          reason: "scheduled",
        },
        longAgo,
      );
      await nhiRotationRepository.advance(store.db, "stale-1", "delivered", longAgo);

      const result = await attempt(
        rotateCredential(deps(connectors), settings, target("pgdb", role), options()),
      );

      expect(await pgLogsIn(role, await deliveredSecret(sinkFile, result.rotationId))).toBe(true);
      const stale = await nhiRotationRepository.get(store.db, "stale-1");
      expect(stale).toMatchObject({ state: "failed", failedStep: "set" });
      expect(stale?.error).toContain("interrupted");
      expect(stale?.error).toContain("either the old credential or the new secret");
    });
  });

  describe.skipIf(!mariadb)("MariaDB login passwords", () => {
    it("sets a new password that logs in and refuses the old one", async () => {
      const user = uniqueName("svc");
      const old = oldPassword();
      await mariadbQuery("CREATE USER ?@'%' IDENTIFIED BY ?", [user, old]);
      const connectors = { maria: mariadbConnector("maria") };

      const result = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: sinkFile }) },
          target("maria", user),
          options(),
        ),
      );

      expect(await mariadbLogsIn(user, await deliveredSecret(sinkFile, result.rotationId))).toBe(true);
      expect(await mariadbLogsIn(user, old)).toBe(false);
    });

    it("delivers to a signed webhook sink, whose secret then logs in", async () => {
      const user = uniqueName("svc");
      const old = oldPassword();
      await mariadbQuery("CREATE USER ?@'%' IDENTIFIED BY ?", [user, old]);
      const receiver: HttpReceiver = await startHttpReceiver();
      const key = randomBytes(24).toString("hex");
      try {
        const connectors = { maria: mariadbConnector("maria-hook") };
        const sink = { webhook: { url: `${receiver.base}/secrets?token=abc`, secret: key, timeoutMs: 3000 } };

        const result = await attempt(
          rotateCredential(
            deps(connectors),
            { notify, rotation: rotation(sink) },
            target("maria", user),
            options(),
          ),
        );

        expect(receiver.received).toHaveLength(2);
        for (const request of receiver.received) {
          expect(
            verifyWebhookSignature(key, request.headers["tenure-signature"], request.body, Date.now()),
          ).toBe(true);
          expect(
            verifyWebhookSignature(
              "another-key-0123456",
              request.headers["tenure-signature"],
              request.body,
              Date.now(),
            ),
          ).toBe(false);
        }
        const first = JSON.parse(receiver.received[0]!.body) as SinkLine;
        const second = JSON.parse(receiver.received[1]!.body) as SinkLine;
        expect(first).toMatchObject({
          system: "maria",
          username: user,
          rotationId: result.rotationId,
          state: "pending",
        });
        expect(second).toEqual({
          system: "maria",
          username: user,
          at: result.lastRotatedAt,
          rotationId: result.rotationId,
          state: "active",
        });
        delivered.push(first.secret!);
        expect(await mariadbLogsIn(user, first.secret!)).toBe(true);
        expect(await mariadbLogsIn(user, old)).toBe(false);
      } finally {
        await receiver.stop();
      }
    });

    it("leaves the target untouched when the webhook sink refuses", async () => {
      const user = uniqueName("svc");
      const old = oldPassword();
      await mariadbQuery("CREATE USER ?@'%' IDENTIFIED BY ?", [user, old]);
      const receiver = await startHttpReceiver();
      receiver.status = 503;
      try {
        const connectors = { maria: mariadbConnector("maria-hook-down") };
        const sink = {
          webhook: {
            url: `${receiver.base}/secrets`,
            secret: randomBytes(24).toString("hex"),
            timeoutMs: 3000,
          },
        };

        const error = await attempt(
          rotateCredential(
            deps(connectors),
            { notify, rotation: rotation(sink) },
            target("maria", user),
            options(),
          ),
        ).catch((e: unknown) => e);

        expect((error as RotationFailedError).step).toBe("deliver");
        expect((error as Error).message).toContain("answered HTTP 503");
        expect(await mariadbLogsIn(user, old)).toBe(true);
        for (const request of receiver.received) {
          const body = JSON.parse(request.body) as SinkLine;
          if (body.secret !== undefined) delivered.push(body.secret);
        }
      } finally {
        await receiver.stop();
      }
    });
  });

  describe("a rotation webhook", () => {
    it("sets through the signed webhook and verifies through verifyUrl; a refused verify is alerted", async () => {
      const receiver = await startHttpReceiver();
      const key = randomBytes(24).toString("hex");
      try {
        const webhookRotators = {
          saas: {
            url: `${receiver.base}/rotate`,
            verifyUrl: `${receiver.base}/verify`,
            secret: key,
            timeoutMs: 3000,
          },
        };
        const settings = { notify, rotation: rotation({ file: sinkFile }, { webhookRotators }) };
        const none = {
          get: () => {
            throw new Error("no connector is needed");
          },
        };

        const result = await attempt(
          rotateCredential(
            { db: store.db, connectors: none },
            settings,
            target("saas", "api-key-1"),
            options(),
          ),
        );
        const secret = await deliveredSecret(sinkFile, result.rotationId);
        expect(receiver.received.map((r) => r.url)).toEqual(["/rotate", "/verify"]);
        for (const request of receiver.received) {
          expect(
            verifyWebhookSignature(key, request.headers["tenure-signature"], request.body, Date.now()),
          ).toBe(true);
          expect(JSON.parse(request.body)).toMatchObject({ system: "saas", username: "api-key-1", secret });
        }

        // The receiver refuses the new key at verify, twice: set again once, then the failure is alerted.
        receiver.received.length = 0;
        receiver.queue.push(200, 401, 200, 401);
        const error = await attempt(
          rotateCredential(
            { db: store.db, connectors: none },
            settings,
            target("saas", "api-key-1"),
            options(),
          ),
        ).catch((e: unknown) => e);
        expect(receiver.received.map((r) => r.url)).toEqual(["/rotate", "/verify", "/rotate", "/verify"]);
        expect((error as RotationFailedError).step).toBe("verify");
        expect((error as RotationFailedError).inForce).toBe("new");
        expect((error as Error).message).toContain("the verify webhook refused the new credential");
      } finally {
        await receiver.stop();
      }
    });
  });

  describe.skipIf(!slapdInstalled)("OpenLDAP userPassword", () => {
    async function addEntry(uid: string, password: string): Promise<void> {
      const admin = await slapd!.admin();
      try {
        await admin.add(userDn(uid), {
          objectClass: ["inetOrgPerson"],
          uid,
          cn: uid,
          sn: uid,
          userPassword: ssha(password),
        });
      } finally {
        await admin.unbind();
      }
    }

    it("adds the new value, verifies it by a bind, then removes the old one", async () => {
      const uid = uniqueName("svc");
      const old = oldPassword();
      await addEntry(uid, old);
      const connectors = { dir: ldapConnector("dir") };

      const result = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: sinkFile }) },
          target("dir", uid),
          options(),
        ),
      );

      const secret = await deliveredSecret(sinkFile, result.rotationId);
      expect(await ldapBinds(uid, secret)).toBe(true);
      expect(await ldapBinds(uid, old)).toBe(false);
      const values = await ldapPasswordValues(uid);
      expect(values).toHaveLength(1);
      expect(values[0]).toMatch(/^\{SSHA\}/);
      expect(await nhiRotationRepository.get(store.db, result.rotationId)).toMatchObject({ state: "done" });
      const [event] = await queryEvents(store.db, { action: "nhi.rotated" });
      expect(event?.details).toMatchObject({ retired: true });
    });

    it("removes the new value and keeps the old one when the bind with it fails", async () => {
      const uid = uniqueName("svc");
      const old = oldPassword();
      await addEntry(uid, old);
      const connectors = { dir: ldapConnector("dir-refusing", refusingUserBinds) };

      const error = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: sinkFile }) },
          target("dir", uid),
          options(),
        ),
      ).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RotationFailedError);
      const failed = error as RotationFailedError;
      expect(failed.step).toBe("verify");
      expect(failed.inForce).toBe("old");
      expect(failed.message).toContain("invalid credentials");
      expect(failed.message).toContain("the old credential is unchanged and still in force");
      const secret = await deliveredSecret(sinkFile, failed.rotationId);
      expect(await ldapBinds(uid, old)).toBe(true);
      expect(await ldapBinds(uid, secret)).toBe(false);
      expect(await ldapPasswordValues(uid)).toHaveLength(1);
      expect((await sinkLines(sinkFile)).map((l) => l.state)).toEqual(["pending", "abandoned"]);
    });

    it("refuses a disabled (ppolicy-locked) entry before changing anything", async () => {
      const uid = uniqueName("svc");
      const old = oldPassword();
      await addEntry(uid, old);
      const admin = await slapd!.admin();
      await admin.modify(
        userDn(uid),
        new Change({
          operation: "add",
          modification: new Attribute({ type: "pwdAccountLockedTime", values: ["000001010000Z"] }),
        }),
      );
      await admin.unbind();
      const connectors = { dir: ldapConnector("dir-locked") };

      const error = await attempt(
        rotateCredential(
          deps(connectors),
          { notify, rotation: rotation({ file: sinkFile }) },
          target("dir", uid),
          options(),
        ),
      ).catch((e: unknown) => e);

      expect((error as RotationFailedError).step).toBe("set");
      expect((error as Error).message).toContain("is disabled");
      expect(await ldapPasswordValues(uid)).toHaveLength(1);
    });
  });
});
