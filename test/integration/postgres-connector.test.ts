/**
 * The `postgres` connector against a real PostgreSQL: the shared conformance suite (disable must make a
 * real login with the password from the sink file fail; enable must make it work again), plus what only
 * this connector does: the password sink and SCRAM verifiers, ending sessions on disable, delete with
 * REASSIGN OWNED, prefix and group-role isolation, hostile names, permission errors.
 *
 * Why a private cluster (test/helpers/postgres-cluster.ts) and not the development server on :5432: that
 * server's pg_hba.conf trusts every local and 127.0.0.1 connection, so it accepts any password, and the
 * tests must not edit the machine's pg_hba. NOLOGIN is enforced even under trust, but "the password
 * from the sink logs in" and "a wrong admin password is refused" can only be shown where passwords are
 * checked. So each run starts its own cluster with `initdb -A scram-sha-256` on a free loopback port
 * (about a second), with `log_statement=all` so the test can also read what reached the server.
 *
 * The connector connects as a least-privilege admin role set up as docs/connectors.md describes
 * (CREATEROLE, pg_signal_backend, member of the reassign target), never as the superuser. Every name
 * this file creates starts with `t<rand>_` (the conformance suite's accounts carry its own random suffix
 * and are deleted by the suite); everything is dropped afterwards and the cluster removed.
 */

import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connector, ConnectorError } from "../../src/connectors/connector-types.js";
import { ACCOUNT_MARKER, createPostgresConnector } from "../../src/connectors/postgres/postgres-connector.js";
import {
  type PostgresConnectorConfigInput,
  parsePostgresConnectorConfig,
} from "../../src/connectors/postgres/postgres-schemas.js";
import { scramSha256Verifier } from "../../src/connectors/postgres/postgres-scram.js";
import { runConnectorConformance } from "../conformance/connector-conformance.js";
import { freePort } from "../helpers/net.js";
import {
  findPostgresBin,
  POSTGRES_INSTALL,
  type PostgresCluster,
  startPostgresCluster,
} from "../helpers/postgres-cluster.js";

const installed = (await findPostgresBin()) !== undefined;
if (!installed) {
  const message = `PostgreSQL (initdb, pg_ctl) is not installed; install it: ${POSTGRES_INSTALL}`;
  if (process.env.CI === "true") {
    it("PostgreSQL is installed (required under CI=true)", () => {
      throw new Error(message);
    });
  } else {
    console.warn(`skipping postgres connector tests: ${message}`);
    describe.skip(`postgres connector — ${message}`, () => {
      it("skipped", () => {});
    });
  }
}

const cluster: PostgresCluster | undefined = installed
  ? await startPostgresCluster({ log_statement: "all" })
  : undefined;

const run = `t${randomBytes(4).toString("hex")}_`;
const DATABASE = "app";
const OTHER_DATABASE = "other";
const adminRole = `${run}tenure`;
const adminPassword = `admin-${randomBytes(8).toString("hex")}`;
const ownerRole = `${run}owner`;
const groupA = `${run}grp_a`;
const groupB = `${run}grp_b`;
const weakRole = `${run}x_weak`;
const weakPassword = `weak-${randomBytes(8).toString("hex")}`;
const legacyRole = `${run}legacy`;

const ident = pg.escapeIdentifier;

/** Runs statements as the superuser in one database. */
async function superuser<T = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
  database = DATABASE,
): Promise<T[]> {
  const client = new pg.Client({ connectionString: cluster!.url(database) });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

interface SinkEntry {
  system: string;
  username: string;
  password: string;
  at: string;
}

const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-postgres-"));
const sinkFile = path.join(workDir, "passwords.jsonl");

async function readSink(): Promise<SinkEntry[]> {
  const text = await fs.readFile(sinkFile, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as SinkEntry);
}

/** The last password delivered for a role: what a person given the sink would use. */
async function passwordOf(username: string): Promise<string> {
  const last = (await readSink()).filter((e) => e.username === username).at(-1);
  if (last === undefined) throw new Error(`no password for ${username} in the sink`);
  return last.password;
}

/** A session as the role, with its password from the sink. */
async function loginAs(username: string, database = DATABASE): Promise<pg.Client> {
  const client = new pg.Client({
    host: cluster!.host,
    port: cluster!.port,
    database,
    user: username,
    password: await passwordOf(username),
    connectionTimeoutMillis: 3000,
  });
  // A session ended by the server reports an error event; the test looks at the failed query instead.
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Why PostgreSQL refuses a login as the role with its delivered password, or undefined if it accepts. */
async function loginRefusal(username: string): Promise<string | undefined> {
  let client: pg.Client | undefined;
  try {
    client = await loginAs(username);
    await client.query("select 1");
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // 28000: role is not permitted to log in; 28P01: password authentication failed.
    if (code === "28000" || code === "28P01") return String((err as Error).message);
    throw err;
  } finally {
    await client?.end().catch(() => {});
  }
}

function config(overrides: Partial<PostgresConnectorConfigInput> = {}): PostgresConnectorConfigInput {
  return {
    url: `postgres://${encodeURIComponent(adminRole)}:${adminPassword}@${cluster!.host}:${cluster!.port}/${DATABASE}`,
    passwordSink: { file: sinkFile },
    groups: { prefix: `${run}grp_` },
    reassignOwnedTo: ownerRole,
    attributeTable: "tenure.account_attributes",
    timeoutMs: 3000,
    ...overrides,
  };
}

const connectorOf = (system: string, overrides: Partial<PostgresConnectorConfigInput> = {}) =>
  createPostgresConnector(system, parsePostgresConnectorConfig(system, config(overrides)));

if (cluster !== undefined) {
  beforeAll(async () => {
    await superuser(`CREATE DATABASE ${DATABASE}`, [], "postgres");
    await superuser(`CREATE DATABASE ${OTHER_DATABASE}`, [], "postgres");
    // The least-privilege admin of docs/connectors.md.
    await superuser(`CREATE ROLE ${ident(adminRole)} LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
    await superuser(`GRANT pg_signal_backend TO ${ident(adminRole)}`);
    await superuser(`CREATE ROLE ${ident(ownerRole)} NOLOGIN`);
    await superuser(`GRANT ${ident(ownerRole)} TO ${ident(adminRole)}`);
    for (const group of [groupA, groupB]) {
      await superuser(`CREATE ROLE ${ident(group)} NOLOGIN`);
      await superuser(`GRANT ${ident(group)} TO ${ident(adminRole)} WITH ADMIN OPTION`);
    }
    await superuser(`CREATE SCHEMA tenure AUTHORIZATION ${ident(adminRole)}`);
    // Somewhere members of group A can own things, so delete has something to reassign.
    await superuser("CREATE SCHEMA work");
    await superuser(`GRANT USAGE, CREATE ON SCHEMA work TO ${ident(groupA)}`);
    await superuser(`GRANT CREATE ON DATABASE ${OTHER_DATABASE} TO ${ident(groupA)}`);
    await superuser(`CREATE ROLE ${ident(weakRole)} LOGIN PASSWORD '${weakPassword}'`);
    await superuser(`CREATE ROLE ${ident(legacyRole)} LOGIN`);
  });

  afterAll(async () => {
    try {
      const roles = await superuser<{ name: string }>(
        "SELECT rolname AS name FROM pg_roles WHERE rolname LIKE $1 OR rolname LIKE 'conf-%' OR rolname LIKE 'o''brien-%'",
        [`${run}%`],
      );
      for (const database of [DATABASE, OTHER_DATABASE]) {
        for (const { name } of roles) await superuser(`DROP OWNED BY ${ident(name)} CASCADE`, [], database);
      }
      for (const { name } of roles) await superuser(`DROP ROLE ${ident(name)}`);
      await superuser(`DROP DATABASE ${DATABASE}`, [], "postgres");
      await superuser(`DROP DATABASE ${OTHER_DATABASE}`, [], "postgres");
    } finally {
      await cluster.stop();
      await fs.rm(workDir, { recursive: true, force: true });
    }
  });

  runConnectorConformance("postgres connector conformance", async () => ({
    connector: connectorOf("pgroles"),
    entitlements: [groupA, groupB],
    textAttributes: ["displayName", "email"],
    refusesUse: async (username) => (await loginRefusal(username)) !== undefined,
    unreachable: async () => ({
      connector: connectorOf("pgroles-down", {
        url: `postgres://${encodeURIComponent(adminRole)}:${adminPassword}@127.0.0.1:${await freePort()}/${DATABASE}`,
      }),
      secrets: [adminPassword],
    }),
    badCredentials: async () => {
      const wrong = `wrong-${randomBytes(6).toString("hex")}`;
      return {
        connector: connectorOf("pgroles-denied", {
          url: `postgres://${encodeURIComponent(adminRole)}:${wrong}@${cluster.host}:${cluster.port}/${DATABASE}`,
        }),
        secrets: [wrong, adminPassword],
      };
    },
    cleanup: async () => {},
  }));

  describe("postgres connector specifics", () => {
    let connector: Connector;
    beforeAll(() => {
      connector = connectorOf("scoped", {
        usernamePrefix: run,
        excludeRoles: [weakRole],
        connectionLimit: 5,
      });
    });
    afterAll(async () => {
      await connector.close();
    });

    it("delivers the password to the sink file (mode 0600) and sends the server only a SCRAM verifier", async () => {
      const username = `${run}sink`;
      const result = await connector.create({ username, attributes: {}, enabled: true });
      expect(result).toEqual({ changed: true, nativeId: username });
      expect((await fs.stat(sinkFile)).mode & 0o777).toBe(0o600);
      const entry = (await readSink()).filter((e) => e.username === username).at(-1)!;
      expect(entry).toMatchObject({ system: "scoped", username });
      expect(entry.password.length).toBeGreaterThanOrEqual(24);
      expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
      expect(JSON.stringify(result)).not.toContain(entry.password);
      expect(await loginRefusal(username)).toBeUndefined();
      const [stored] = await superuser<{ rolpassword: string; rolconnlimit: number; comment: string }>(
        `SELECT rolpassword, rolconnlimit, shobj_description(oid, 'pg_authid') AS comment
           FROM pg_authid WHERE rolname = $1`,
        [username],
      );
      expect(stored!.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
      expect(stored!.rolconnlimit).toBe(5);
      expect(stored!.comment).toBe(ACCOUNT_MARKER);
      // A second create makes no new password.
      const before = (await readSink()).length;
      expect((await connector.create({ username, attributes: {}, enabled: true })).changed).toBe(false);
      expect((await readSink()).length).toBe(before);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("computes the same SCRAM verifier as PostgreSQL itself for the same salt", async () => {
      const probe = `${run}scram`;
      const password = randomBytes(18).toString("base64url");
      await superuser("SET password_encryption = 'scram-sha-256'");
      await superuser(`CREATE ROLE ${ident(probe)} PASSWORD ${pg.escapeLiteral(password)}`);
      const [row] = await superuser<{ rolpassword: string }>(
        "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
        [probe],
      );
      const [iterations, salt] = row!.rolpassword.split("$")[1]!.split(":");
      expect(scramSha256Verifier(password, Buffer.from(salt!, "base64"), Number(iterations))).toBe(
        row!.rolpassword,
      );
      await superuser(`DROP ROLE ${ident(probe)}`);
    });

    it("disable ends the role's open sessions in every database and refuses new logins", async () => {
      const username = `${run}sessions`;
      await connector.create({ username, attributes: {}, enabled: true });
      const sessions = [await loginAs(username), await loginAs(username, OTHER_DATABASE)];
      const ended: unknown[] = [];
      for (const session of sessions) {
        session.on("error", (err) => ended.push((err as { code?: unknown }).code));
        await session.query("select 1");
      }
      expect((await connector.disable({ username })).changed).toBe(true);
      for (const session of sessions) {
        await expect(session.query("select 1")).rejects.toThrow();
        await session.end().catch(() => {});
      }
      // 57P01 admin_shutdown: "terminating connection due to administrator command", once per session.
      expect(ended.filter((code) => code === "57P01")).toHaveLength(2);
      const left = await superuser("SELECT pid FROM pg_stat_activity WHERE usename = $1", [username]);
      expect(left).toEqual([]);
      expect(await loginRefusal(username)).toMatch(/not permitted to log in/);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("lists only accounts under the prefix: never group roles, superusers, pg_ roles or the admin itself", async () => {
      const username = `${run}listed`;
      await connector.create({ username, attributes: {}, enabled: false });
      const names = (await connector.listAccounts()).map((a) => a.username);
      // ownerRole and the groups are NOLOGIN roles Tenure did not create: group roles, not accounts.
      expect(names.sort()).toEqual([legacyRole, username].sort());
      expect((await connector.listAccounts()).find((a) => a.username === username)).toMatchObject({
        enabled: false,
        entitlements: [],
      });
      expect((await connector.listEntitlements()).map((e) => e.key)).toEqual([groupA, groupB]);

      const unscoped = connectorOf("unscoped", { groups: undefined });
      try {
        const all = (await unscoped.listAccounts()).map((a) => a.username);
        for (const never of ["postgres", adminRole, ownerRole, groupA, "pg_monitor"]) {
          expect(all).not.toContain(never);
        }
        expect(all).toEqual(expect.arrayContaining([username, legacyRole, weakRole]));
        const keys = (await unscoped.listEntitlements()).map((e) => e.key);
        expect(keys).toEqual(expect.arrayContaining([ownerRole, groupA, groupB]));
        expect(keys).not.toContain(username);
        expect(keys.filter((key) => key.startsWith("pg_"))).toEqual([]);
        for (const [role, reason] of [
          ["postgres", /superuser/],
          [adminRole, /connects as/],
          [groupA, /group role/],
        ] as const) {
          const err = await unscoped.disable({ username: role }).catch((e: unknown) => e);
          expect(err).toMatchObject({ kind: "invalid", retryable: false });
          expect((err as Error).message).toMatch(reason);
        }
        await expect(
          unscoped.create({ username: groupA, attributes: {}, enabled: true }),
        ).rejects.toMatchObject({ kind: "invalid" });
        expect(
          await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1 AND NOT rolcanlogin", [groupA]),
        ).toHaveLength(1);
      } finally {
        await unscoped.close();
      }
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("a login role created outside Tenure stays an account once disabled", async () => {
      expect((await connector.disable({ username: legacyRole })).changed).toBe(true);
      expect((await connector.listAccounts()).find((a) => a.username === legacyRole)).toMatchObject({
        enabled: false,
      });
      expect((await connector.listEntitlements()).map((e) => e.key)).not.toContain(legacyRole);
      expect((await connector.enable({ username: legacyRole })).changed).toBe(true);
      expect((await connector.listAccounts()).find((a) => a.username === legacyRole)?.enabled).toBe(true);
    });

    it("hostile names are quoted, not executed", async () => {
      for (const suffix of ["O'Brien", 'a"b', `Robert'); DROP ROLE ${ownerRole};--`]) {
        const username = `${run}${suffix}`;
        expect(
          (await connector.create({ username, attributes: { displayName: suffix }, enabled: true })).changed,
        ).toBe(true);
        const account = (await connector.listAccounts()).find((a) => a.username === username);
        expect(account?.attributes).toEqual({ displayName: suffix });
        expect(await loginRefusal(username)).toBeUndefined();
        expect((await connector.grant({ username }, groupA)).changed).toBe(true);
        expect((await connector.disable({ username })).changed).toBe(true);
        expect(await loginRefusal(username)).toMatch(/not permitted/);
        expect((await connector.delete({ username })).changed).toBe(true);
        expect(await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1", [username])).toEqual([]);
      }
      expect(await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1", [ownerRole])).toHaveLength(1);
      const quoted = `${run}grp_q"uote'; --`;
      await superuser(`CREATE ROLE ${ident(quoted)} NOLOGIN`);
      const username = `${run}quoted`;
      await connector.create({ username, attributes: {}, enabled: true });
      expect((await connector.grant({ username }, quoted)).changed).toBe(true);
      expect((await connector.listAccounts()).find((a) => a.username === username)?.entitlements).toEqual([
        quoted,
      ]);
      expect((await connector.revoke({ username }, quoted)).changed).toBe(true);
      expect((await connector.delete({ username })).changed).toBe(true);
      await superuser(`DROP ROLE ${ident(quoted)}`);
    });

    it("delete reassigns what the role owned to reassignOwnedTo and drops its privileges", async () => {
      const username = `${run}owner_of`;
      const table = `work.${run}payroll`;
      await connector.create({ username, attributes: { displayName: "Owner" }, enabled: true });
      await connector.grant({ username }, groupA);
      const session = await loginAs(username);
      await session.query(`CREATE TABLE ${table} (id int)`);
      await session.query(`INSERT INTO ${table} VALUES (1), (2)`);
      await session.end();
      // A privilege granted to the role on someone else's object: DROP ROLE fails unless it is dropped too.
      // (On a table whose owner the admin role is a member of, so DROP OWNED may revoke it.)
      await superuser(`CREATE TABLE work.${run}shared (id int)`);
      await superuser(`ALTER TABLE work.${run}shared OWNER TO ${ident(ownerRole)}`);
      await superuser(`GRANT SELECT ON work.${run}shared TO ${ident(username)}`);

      expect((await connector.delete({ username })).changed).toBe(true);
      const [owned] = await superuser<{ owner: string }>(
        "SELECT tableowner AS owner FROM pg_tables WHERE schemaname = 'work' AND tablename = $1",
        [`${run}payroll`],
      );
      expect(owned?.owner).toBe(ownerRole);
      expect(await superuser(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1", [username])).toEqual([]);
      expect(await superuser("SELECT 1 FROM tenure.account_attributes WHERE role = $1", [username])).toEqual(
        [],
      );
    });

    it("delete of a role owning objects in another database fails clearly and changes nothing", async () => {
      const username = `${run}elsewhere`;
      await connector.create({ username, attributes: {}, enabled: true });
      await connector.grant({ username }, groupA);
      const session = await loginAs(username, OTHER_DATABASE);
      await session.query(`CREATE SCHEMA ${ident(`${run}private`)}`);
      await session.end();
      const err = await connector.delete({ username }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ kind: "other", retryable: false });
      expect((err as Error).message).toContain(`database ${OTHER_DATABASE}`);
      expect((err as Error).message).toContain("REASSIGN OWNED");
      expect(await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1", [username])).toHaveLength(1);
      expect((await connector.listAccounts()).find((a) => a.username === username)?.entitlements).toEqual([
        groupA,
      ]);
      await superuser(`DROP SCHEMA ${ident(`${run}private`)}`, [], OTHER_DATABASE);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("delete of a role holding a privilege the admin role cannot revoke fails clearly and changes nothing", async () => {
      const username = `${run}granted`;
      const table = `work.${run}audit`;
      await connector.create({ username, attributes: {}, enabled: true });
      // Granted by the superuser on its own table: DROP OWNED, run by a non-superuser, cannot revoke it.
      await superuser(`CREATE TABLE ${table} (id int)`);
      await superuser(`GRANT SELECT ON ${table} TO ${ident(username)}`);
      const err = await connector.delete({ username }).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "other", retryable: false });
      expect((err as Error).message).toContain(`privileges for table ${table}`);
      expect(await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1", [username])).toHaveLength(1);
      await superuser(`REVOKE SELECT ON ${table} FROM ${ident(username)}`);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("delete without reassignOwnedTo is refused and changes nothing", async () => {
      const username = `${run}keep`;
      await connector.create({ username, attributes: {}, enabled: true });
      const noSuccessor = connectorOf("no-successor", { usernamePrefix: run, reassignOwnedTo: undefined });
      try {
        const err = await noSuccessor.delete({ username }).catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: "invalid", retryable: false });
        expect((err as Error).message).toMatch(/reassignOwnedTo/);
      } finally {
        await noSuccessor.close();
      }
      expect(await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1", [username])).toHaveLength(1);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("refuses names outside the prefix and invalid names without touching the server", async () => {
      const before = (await readSink()).length;
      await expect(
        connector.create({ username: "someone_else", attributes: {}, enabled: true }),
      ).rejects.toMatchObject({ kind: "invalid", retryable: false });
      for (const bad of [
        `${run}nul\u0000x`,
        `${run}${"é".repeat(27)}`, // 37 characters, 64 bytes
        `${run}tab\tx`,
        "",
      ]) {
        await expect(
          connector.create({ username: bad, attributes: {}, enabled: true }),
        ).rejects.toMatchObject({
          kind: "invalid",
        });
      }
      const unscoped = connectorOf("unscoped-names");
      try {
        for (const reserved of ["public", "none", "pg_tenure"]) {
          const err = await unscoped
            .create({ username: reserved, attributes: {}, enabled: true })
            .catch((e) => e);
          expect(err).toMatchObject({ kind: "invalid" });
          expect((err as Error).message).toMatch(/reserved/);
        }
      } finally {
        await unscoped.close();
      }
      expect((await readSink()).length).toBe(before);
      await expect(connector.grant({ username: `${run}any` }, "role\u0000x")).rejects.toMatchObject({
        kind: "invalid",
      });
    });

    it("grants only configured group roles; a missing or other role is an invalid, non-retryable error", async () => {
      const username = `${run}norole`;
      await connector.create({ username, attributes: {}, enabled: true });
      for (const [role, reason] of [
        [`${run}grp_missing`, /does not exist/],
        [ownerRole, /not a group role Tenure may grant/],
        ["pg_monitor", /not a group role Tenure may grant/],
      ] as const) {
        const err = await connector.grant({ username }, role).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConnectorError);
        expect(err).toMatchObject({ kind: "invalid", retryable: false });
        expect((err as Error).message).toMatch(reason);
      }
      expect((await connector.listAccounts()).find((a) => a.username === username)?.entitlements).toEqual([]);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("a list of group roles may offer predefined roles such as pg_monitor", async () => {
      const listed = connectorOf("listed-groups", {
        usernamePrefix: run,
        groups: { roles: [groupB, "pg_monitor"] },
      });
      const username = `${run}monitor`;
      try {
        expect((await listed.listEntitlements()).map((e) => e.key)).toEqual(["pg_monitor", groupB]);
        await listed.create({ username, attributes: {}, enabled: true });
        expect((await listed.grant({ username }, "pg_monitor")).changed).toBe(true);
        await expect(listed.grant({ username }, groupA)).rejects.toMatchObject({ kind: "invalid" });
        expect((await listed.listAccounts()).find((a) => a.username === username)?.entitlements).toEqual([
          "pg_monitor",
        ]);
        expect((await listed.delete({ username })).changed).toBe(true);
      } finally {
        await listed.close();
      }
    });

    it("an admin without CREATEROLE gets a non-retryable permission error naming the cause, no secrets", async () => {
      const weak = connectorOf("scoped-weak", {
        usernamePrefix: run,
        attributeTable: undefined,
        url: `postgres://${encodeURIComponent(weakRole)}:${weakPassword}@${cluster.host}:${cluster.port}/${DATABASE}`,
      });
      try {
        const err = await weak
          .create({ username: `${run}nopriv`, attributes: {}, enabled: true })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConnectorError);
        expect(err).toMatchObject({ kind: "permission", retryable: false, system: "scoped-weak" });
        const message = (err as Error).message;
        expect(message).toMatch(
          /^scoped-weak: creating role ".*nopriv" failed on postgres:\/\/127\.0\.0\.1:\d+\/app/,
        );
        expect(message).toMatch(/42501.*permission denied to create role/);
        const everything = inspect(err, { depth: 10, showHidden: true });
        expect(everything).not.toContain(weakPassword);
        for (const entry of await readSink()) expect(everything).not.toContain(entry.password);
      } finally {
        await weak.close();
      }
      expect(await superuser("SELECT 1 FROM pg_roles WHERE rolname = $1", [`${run}nopriv`])).toEqual([]);
    });

    it("no generated password ever reached the server, even with log_statement = all", async () => {
      const entries = await readSink();
      expect(entries.length).toBeGreaterThan(10);
      const log = await cluster.serverLog();
      expect(log).toContain("CREATE ROLE");
      expect(log).toContain("SCRAM-SHA-256$4096:");
      for (const entry of entries) expect(log).not.toContain(entry.password);
    });
  });
}
