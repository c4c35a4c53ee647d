/**
 * The `mariadb` connector against a real MariaDB: the shared conformance suite (disable must make a real
 * login with the password from the sink file fail; enable must make it work again), plus what only this
 * connector does: the password sink file, session killing, the username prefix, system users, names.
 *
 * Every name this file creates starts with `t<rand>_` (the conformance suite's own accounts carry its
 * random suffix and are deleted by the suite); everything is dropped afterwards.
 */

import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connector, ConnectorError } from "../../src/connectors/connector-types.js";
import { createMariadbConnector } from "../../src/connectors/mariadb/mariadb-connector.js";
import {
  type MariadbConnectorConfigInput,
  parseMariadbConnectorConfig,
} from "../../src/connectors/mariadb/mariadb-schemas.js";
import { runConnectorConformance } from "../conformance/connector-conformance.js";
import { freePort } from "../helpers/net.js";

const ADMIN_URL = process.env.TENURE_TEST_MARIADB ?? "mysql://root@127.0.0.1:3306";
const MARIADB_START = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";
const admin = new URL(ADMIN_URL);
const serverHost = admin.hostname;
const serverPort = admin.port === "" ? 3306 : Number(admin.port);

const run = `t${randomBytes(4).toString("hex")}_`;
const roleA = `${run}role_a`;
const roleB = `${run}role_b`;
const database = `${run}db`;

async function adminConnection(): Promise<mysql.Connection> {
  return mysql.createConnection({ uri: ADMIN_URL, connectTimeout: 3000, charset: "utf8mb4_general_ci" });
}

async function adminQuery(text: string, values: unknown[] = []): Promise<unknown> {
  const connection = await adminConnection();
  try {
    const [rows] = await connection.query(text, values);
    return rows;
  } finally {
    await connection.end();
  }
}

interface SinkEntry {
  system: string;
  username: string;
  password: string;
  at: string;
}

async function readSink(file: string): Promise<SinkEntry[]> {
  const text = await fs.readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as SinkEntry);
}

/** The last password delivered for a user: what a person given the sink would use. */
async function passwordOf(file: string, username: string): Promise<string> {
  const entries = (await readSink(file)).filter((e) => e.username === username);
  const last = entries.at(-1);
  if (last === undefined) throw new Error(`no password for ${username} in the sink`);
  return last.password;
}

/** Whether MariaDB refuses a login as the user with its delivered password. */
async function refusesLogin(file: string, username: string): Promise<boolean> {
  const password = await passwordOf(file, username);
  try {
    const connection = await mysql.createConnection({
      host: serverHost,
      port: serverPort,
      user: username,
      password,
      connectTimeout: 3000,
      charset: "utf8mb4_general_ci",
    });
    await connection.query("select 1");
    await connection.end();
    return false;
  } catch (err) {
    const errno = (err as { errno?: unknown }).errno;
    // 4151 ER_ACCOUNT_HAS_BEEN_LOCKED; 1045 access denied.
    if (errno === 4151 || errno === 1045) return true;
    throw err;
  }
}

async function dropEverything(sinkFile: string, extraUsers: readonly string[]): Promise<void> {
  const names = new Set([...(await readSink(sinkFile)).map((e) => e.username), ...extraUsers]);
  const connection = await adminConnection();
  try {
    for (const name of names) await connection.query(`DROP USER IF EXISTS ${mysql.escape(name)}@'%'`);
    await connection.query(`DROP ROLE IF EXISTS ${mysql.escapeId(roleA)}`);
    await connection.query(`DROP ROLE IF EXISTS ${mysql.escapeId(roleB)}`);
    await connection.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
  } finally {
    await connection.end();
  }
}

async function reachable(): Promise<boolean> {
  try {
    await adminQuery("select 1");
    return true;
  } catch (err) {
    const message = `MariaDB is not reachable (${String(err)}); start it: ${MARIADB_START}`;
    if (process.env.CI === "true") {
      it("MariaDB is reachable (required under CI=true)", () => {
        throw new Error(message);
      });
    } else {
      console.warn(`skipping mariadb connector tests: ${message}`);
      describe.skip(`mariadb connector — ${message}`, () => {
        it("skipped", () => {});
      });
    }
    return false;
  }
}

const up = await reachable();
const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-mariadb-"));
const sinkFile = path.join(workDir, "passwords.jsonl");

function config(overrides: Partial<MariadbConnectorConfigInput> = {}): MariadbConnectorConfigInput {
  return {
    url: ADMIN_URL,
    passwordSink: { file: sinkFile },
    attributeTable: `${database}.account_attributes`,
    timeoutMs: 3000,
    ...overrides,
  };
}

const connectorOf = (system: string, overrides: Partial<MariadbConnectorConfigInput> = {}) =>
  createMariadbConnector(system, parseMariadbConnectorConfig(system, config(overrides)));

if (up) {
  const badAdmin = `${run}badcreds`;
  const badPassword = `right-${randomBytes(6).toString("hex")}`;

  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE ${mysql.escapeId(database)}`);
    await adminQuery(`CREATE ROLE ${mysql.escapeId(roleA)}`);
    await adminQuery(`CREATE ROLE ${mysql.escapeId(roleB)}`);
    await adminQuery(`CREATE USER ${mysql.escape(badAdmin)}@'%' IDENTIFIED BY ?`, [badPassword]);
  });

  afterAll(async () => {
    await dropEverything(sinkFile, [badAdmin]);
    await fs.rm(workDir, { recursive: true, force: true });
  });

  runConnectorConformance("mariadb connector conformance", async () => ({
    connector: connectorOf("dbusers"),
    entitlements: [roleA, roleB],
    textAttributes: ["displayName", "email"],
    refusesUse: (username) => refusesLogin(sinkFile, username),
    unreachable: async () => ({
      connector: connectorOf("dbusers-down", { url: `mysql://root@127.0.0.1:${await freePort()}` }),
    }),
    badCredentials: async () => {
      const wrong = `wrong-${randomBytes(6).toString("hex")}`;
      const url = new URL(ADMIN_URL);
      url.username = badAdmin;
      url.password = wrong;
      return {
        connector: connectorOf("dbusers-denied", { url: url.toString() }),
        secrets: [wrong, badPassword],
      };
    },
    cleanup: async () => {},
  }));

  describe("mariadb connector specifics", () => {
    let connector: Connector;
    beforeAll(() => {
      connector = connectorOf("scoped", { usernamePrefix: run });
    });
    afterAll(async () => {
      await connector.close();
    });

    it("delivers the password to the sink file (mode 0600), never in results or errors", async () => {
      const username = `${run}sink`;
      const result = await connector.create({ username, attributes: {}, enabled: true });
      expect(result).toEqual({ changed: true, nativeId: `${username}@%` });
      const stat = await fs.stat(sinkFile);
      expect(stat.mode & 0o777).toBe(0o600);
      const entry = (await readSink(sinkFile)).filter((e) => e.username === username).at(-1)!;
      expect(entry).toMatchObject({ system: "scoped", username });
      expect(entry.password.length).toBeGreaterThanOrEqual(24);
      expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
      expect(JSON.stringify(result)).not.toContain(entry.password);
      expect(await refusesLogin(sinkFile, username)).toBe(false);
      // A second create makes no new password.
      const before = (await readSink(sinkFile)).length;
      expect((await connector.create({ username, attributes: {}, enabled: true })).changed).toBe(false);
      expect((await readSink(sinkFile)).length).toBe(before);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("disable kills the user's open sessions", async () => {
      const username = `${run}sessions`;
      await connector.create({ username, attributes: {}, enabled: true });
      const session = await mysql.createConnection({
        host: serverHost,
        port: serverPort,
        user: username,
        password: await passwordOf(sinkFile, username),
      });
      session.on("error", () => {});
      await session.query("select 1");
      expect((await connector.disable({ username })).changed).toBe(true);
      await expect(session.query("select 1")).rejects.toThrow();
      session.destroy();
      const left = (await adminQuery("SELECT id FROM information_schema.processlist WHERE user = ?", [
        username,
      ])) as unknown[];
      expect(left).toEqual([]);
      expect(await refusesLogin(sinkFile, username)).toBe(true);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("lists only users with the prefix at the configured host, never system users or roles", async () => {
      const username = `${run}listed`;
      await connector.create({ username, attributes: {}, enabled: false });
      const accounts = await connector.listAccounts();
      const mine = accounts.filter((a) => a.username !== badAdmin);
      expect(mine.map((a) => a.username)).toEqual([username]);
      expect(mine[0]).toMatchObject({ enabled: false, entitlements: [] });
      const unscoped = connectorOf("unscoped", { host: "localhost" });
      try {
        const names = (await unscoped.listAccounts()).map((a) => a.username);
        for (const system of ["root", "mariadb.sys", "mysql"]) expect(names).not.toContain(system);
        expect(names).not.toContain(roleA);
        await expect(unscoped.disable({ username: "root" })).rejects.toMatchObject({ kind: "invalid" });
      } finally {
        await unscoped.close();
      }
      const keys = (await connector.listEntitlements()).map((e) => e.key);
      expect(keys).toEqual(expect.arrayContaining([roleA, roleB]));
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("refuses users outside the prefix and invalid names without touching the server", async () => {
      await expect(
        connector.create({ username: "someone_else", attributes: {}, enabled: true }),
      ).rejects.toMatchObject({ kind: "invalid", retryable: false });
      for (const bad of [`${run}nul\u0000x`, `${run}${"x".repeat(80)}`, `${run}tab\tx`]) {
        await expect(
          connector.create({ username: bad, attributes: {}, enabled: true }),
        ).rejects.toMatchObject({
          kind: "invalid",
        });
      }
      await expect(connector.grant({ username: `${run}any` }, "role\u0000x")).rejects.toMatchObject({
        kind: "invalid",
      });
    });

    it("hostile names are escaped, not executed", async () => {
      const username = `${run}x'@'%'; DROP DATABASE ${database}; --`;
      expect((await connector.create({ username, attributes: {}, enabled: true })).changed).toBe(true);
      expect((await connector.listAccounts()).map((a) => a.username)).toContain(username);
      const dbs = (await adminQuery("SHOW DATABASES LIKE ?", [database])) as unknown[];
      expect(dbs).toHaveLength(1);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("granting a role that does not exist is an invalid, non-retryable error", async () => {
      const username = `${run}norole`;
      await connector.create({ username, attributes: {}, enabled: true });
      const err = await connector.grant({ username }, `${run}missing_role`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ kind: "invalid", retryable: false });
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("no password from the sink appears in any error of a failed create", async () => {
      const before = await readSink(sinkFile);
      const denied = connectorOf("scoped-denied", {
        usernamePrefix: run,
        url: `mysql://${encodeURIComponent(badAdmin)}:${encodeURIComponent(badPassword)}@${serverHost}:${serverPort}`,
      });
      try {
        const err = await denied
          .create({ username: `${run}nopriv`, attributes: {}, enabled: true })
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: "permission", retryable: false });
        const everything = inspect(err, { depth: 10, showHidden: true });
        for (const entry of await readSink(sinkFile)) expect(everything).not.toContain(entry.password);
        expect(everything).not.toContain(badPassword);
      } finally {
        await denied.close();
      }
      expect((await readSink(sinkFile)).length).toBeGreaterThanOrEqual(before.length);
    });
  });
}
