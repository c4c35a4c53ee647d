/**
 * The `sql` connector against real SQLite, PostgreSQL and MariaDB: the shared conformance suite on an
 * app-like schema and on a schema whose every identifier is hostile, plus what only a database can show
 * (rows the application wrote itself, missing tables, permission denied, a locked SQLite file).
 *
 * Credentials: PostgreSQL here trusts every loopback connection, so a wrong password is accepted. The
 * PostgreSQL bad-credentials case therefore first tries a role with a password and a wrong one; when
 * the server accepts that (trust), it connects as a role that does not exist, which the server rejects
 * with SQLSTATE 28000 even under trust. MariaDB checks passwords: a user is created with one and the
 * connector uses another (error 1045).
 */

import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, MysqlDialect, PostgresDialect, type RawBuilder, SqliteDialect, sql } from "kysely";
import mysql from "mysql2";
import mysqlPromise from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connector, ConnectorError } from "../../src/connectors/connector-types.js";
import { createSqlConnector } from "../../src/connectors/sql/sql-connector.js";
import {
  parseSqlConnectorConfig,
  type SqlConnectorConfigInput,
} from "../../src/connectors/sql/sql-schemas.js";
import { type ConformanceTarget, runConnectorConformance } from "../conformance/connector-conformance.js";
import { POSTGRES_ADMIN_URL } from "../helpers/databases.js";
import { freePort } from "../helpers/net.js";
import { until } from "../helpers/worker-process.js";

const MARIADB_ADMIN_URL = process.env.TENURE_TEST_MARIADB ?? "mysql://root@127.0.0.1:3306/test";
const PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const MARIADB_START = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

type AdminDb = Kysely<Record<string, never>>;

/** One empty namespace (file, schema or database) for one suite, with an admin connection to fill it. */
interface Namespace {
  /** The connector URL and schema that reach this namespace. */
  url: string;
  schema?: string;
  admin: AdminDb;
  /** A table of this namespace, quoted. */
  t(name: string): RawBuilder<unknown>;
  drop(): Promise<void>;
}

/** What differs between the three databases in these tests. */
interface Kit {
  name: "SQLite" | "PostgreSQL" | "MariaDB";
  fresh(options?: { hostile?: boolean }): Promise<Namespace>;
  types: { serial: string; text: string; bool: string; true: string; false: string; timestamp: string };
  unreachable?: ConformanceTarget["unreachable"];
  badCredentials?: ConformanceTarget["badCredentials"];
}

const rand = () => randomBytes(5).toString("hex");
const raw = (text: string) => sql.raw(text);

const sqliteKit: Kit = {
  name: "SQLite",
  types: {
    serial: "integer primary key autoincrement",
    text: "text",
    bool: "integer",
    true: "1",
    false: "0",
    timestamp: "text",
  },
  async fresh() {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-sql-"));
    const file = path.join(dir, "app.db");
    const admin: AdminDb = new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    return {
      url: `sqlite:${file}`,
      admin,
      t: (name) => sql.id(name),
      drop: async () => {
        await admin.destroy();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  },
  // No port to close: a file in a directory that does not exist is the SQLite form of "nothing there".
  unreachable: async () => ({
    connector: createSqlConnector(
      "app-down",
      config(`sqlite:${path.join(os.tmpdir(), `absent-${rand()}`, "app.db")}`),
    ),
  }),
};

const postgresKit: Kit = {
  name: "PostgreSQL",
  types: {
    serial: "serial primary key",
    text: "varchar(200)",
    bool: "boolean",
    true: "true",
    false: "false",
    timestamp: "timestamptz",
  },
  async fresh(options = {}) {
    // The hostile run's schema name is hostile too: it is quoted like every other identifier.
    const schema = options.hostile ? `t_${rand()} "s"; --` : `t_${rand()}`;
    const admin: AdminDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: POSTGRES_ADMIN_URL, max: 2 }) }),
    });
    await sql`create schema ${sql.id(schema)}`.execute(admin);
    return {
      url: POSTGRES_ADMIN_URL,
      schema,
      admin,
      t: (name) => sql.id(schema, name),
      drop: async () => {
        await sql`drop schema ${sql.id(schema)} cascade`.execute(admin);
        await admin.destroy();
      },
    };
  },
  unreachable: async () => {
    const secret = `unreachable-secret-${rand()}`;
    const url = `postgres://tenure:${secret}@127.0.0.1:${await freePort()}/test`;
    return { connector: createSqlConnector("pg-down", config(url)), secrets: [secret] };
  },
  async badCredentials() {
    const role = `tenure_bad_${rand()}`;
    const secret = `wrong-password-${rand()}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`create role ${role} login password 'right-password'`);
      const probe = new pg.Client({ connectionString: withCredentials(POSTGRES_ADMIN_URL, role, secret) });
      const checksPasswords = await probe.connect().then(
        () => false,
        () => true,
      );
      await probe.end().catch(() => {});
      const user = checksPasswords ? role : `tenure_nobody_${rand()}`;
      if (!checksPasswords) {
        console.info(
          "PostgreSQL trusts loopback connections; testing bad credentials with an unknown role (28000)",
        );
      }
      return {
        connector: createSqlConnector("pg-denied", config(withCredentials(POSTGRES_ADMIN_URL, user, secret))),
        secrets: [secret],
      };
    } finally {
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  },
};

const mariadbKit: Kit = {
  name: "MariaDB",
  types: {
    serial: "int auto_increment primary key",
    text: "varchar(200)",
    bool: "boolean",
    true: "true",
    false: "false",
    timestamp: "datetime",
  },
  async fresh() {
    const database = `t_${rand()}`;
    const admin: AdminDb = new Kysely({
      dialect: new MysqlDialect({ pool: mysql.createPool({ uri: MARIADB_ADMIN_URL, connectionLimit: 2 }) }),
    });
    await sql`create database ${sql.id(database)} character set utf8mb4 collate utf8mb4_unicode_ci`.execute(
      admin,
    );
    const url = new URL(MARIADB_ADMIN_URL);
    url.pathname = `/${database}`;
    return {
      url: url.toString(),
      admin,
      t: (name) => sql.id(database, name),
      drop: async () => {
        await sql`drop database ${sql.id(database)}`.execute(admin);
        await admin.destroy();
      },
    };
  },
  unreachable: async () => {
    const secret = `unreachable-secret-${rand()}`;
    const url = `mysql://root:${secret}@127.0.0.1:${await freePort()}/test`;
    return { connector: createSqlConnector("maria-down", config(url)), secrets: [secret] };
  },
  async badCredentials() {
    const user = `tenure_bad_${rand()}`;
    const secret = `wrong-password-${rand()}`;
    const admin = await mysqlPromise.createConnection(MARIADB_ADMIN_URL);
    try {
      await admin.query("create user ?@'%' identified by 'right-password'", [user]);
    } finally {
      await admin.end();
    }
    const connector = createSqlConnector(
      "maria-denied",
      config(withCredentials(MARIADB_ADMIN_URL, user, secret)),
    );
    // The user must outlive the connector's attempts; it is dropped when the connector is closed.
    const close = connector.close.bind(connector);
    connector.close = async () => {
      await close();
      const cleanup = await mysqlPromise.createConnection(MARIADB_ADMIN_URL);
      await cleanup.query("drop user if exists ?@'%'", [user]);
      await cleanup.end();
    };
    return { connector, secrets: [secret] };
  },
};

function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

/** The app-like schema's connector configuration: non-default names, so every mapping is exercised. */
function appConfig(url: string, schema?: string): SqlConnectorConfigInput {
  return {
    url,
    ...(schema === undefined ? {} : { schema }),
    users: {
      table: "app_users",
      id: "id",
      username: "login",
      enabled: { column: "active" },
      attributes: { email: "mail", displayName: "full_name" },
      lastUsedAt: "last_login",
    },
    memberships: { table: "app_user_groups", user: "user_id", group: "group_name" },
    groups: { table: "app_groups", key: "name", displayName: "title" },
  };
}

/** A configuration whose every identifier would break SQL built by concatenation. */
const HOSTILE = {
  users: 'users"; drop table sentinel; --',
  id: 'id"',
  login: "login name",
  active: "is.active",
  mail: "mail'addr",
  fullName: 'full "name"',
  memberships: "grp`s 'member'",
  member: "user]",
  group: "group",
};

function hostileConfig(url: string, schema?: string): SqlConnectorConfigInput {
  return {
    url,
    ...(schema === undefined ? {} : { schema }),
    users: {
      table: HOSTILE.users,
      id: HOSTILE.id,
      username: HOSTILE.login,
      newId: "uuid",
      enabled: { column: HOSTILE.active, true: "Y", false: "N" },
      attributes: { email: HOSTILE.mail, displayName: HOSTILE.fullName },
    },
    memberships: {
      table: HOSTILE.memberships,
      user: HOSTILE.member,
      userRef: "username",
      group: HOSTILE.group,
    },
  };
}

function config(url: string, input?: Partial<SqlConnectorConfigInput>) {
  return parseSqlConnectorConfig("test", { ...appConfig(url), ...input });
}

async function createAppSchema(kit: Kit, ns: Namespace): Promise<void> {
  const { t, admin } = ns;
  const ty = kit.types;
  await sql`create table ${t("app_users")} (
    id ${raw(ty.serial)},
    login varchar(100) not null unique,
    mail ${raw(ty.text)},
    full_name ${raw(ty.text)},
    active ${raw(ty.bool)} not null default ${raw(ty.true)},
    last_login ${raw(ty.timestamp)} null
  )`.execute(admin);
  // The foreign key makes the connector's order (memberships before the user) observable.
  await sql`create table ${t("app_user_groups")} (
    user_id int not null,
    group_name varchar(100) not null,
    primary key (user_id, group_name),
    foreign key (user_id) references ${t("app_users")} (id)
  )`.execute(admin);
  await sql`create table ${t("app_groups")} (name varchar(100) primary key, title ${raw(ty.text)})`.execute(
    admin,
  );
  await sql`insert into ${t("app_groups")} (name, title)
    values ('app-readers', 'Readers'), ('app-admins', 'Administrators')`.execute(admin);
}

async function createHostileSchema(kit: Kit, ns: Namespace): Promise<void> {
  const { t, admin } = ns;
  const text = raw(kit.types.text);
  await sql`create table ${t("sentinel")} (x int)`.execute(admin);
  await sql`insert into ${t("sentinel")} (x) values (1)`.execute(admin);
  // No unique constraints: duplicates are prevented only by the connector's own checks.
  await sql`create table ${t(HOSTILE.users)} (
    ${sql.id(HOSTILE.id)} varchar(64) primary key,
    ${sql.id(HOSTILE.login)} varchar(100) not null,
    ${sql.id(HOSTILE.active)} varchar(1) not null,
    ${sql.id(HOSTILE.mail)} ${text},
    ${sql.id(HOSTILE.fullName)} ${text}
  )`.execute(admin);
  await sql`create table ${t(HOSTILE.memberships)} (
    ${sql.id(HOSTILE.member)} varchar(100) not null,
    ${sql.id(HOSTILE.group)} varchar(100) not null
  )`.execute(admin);
}

/** Whether a server answers; under CI=true a silent server is a failing test, otherwise a named skip. */
async function reachable(kit: Kit, probe: () => Promise<void>, start: string): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (err) {
    const message = `${kit.name} is not reachable (${String(err)}); start it: ${start}`;
    if (process.env.CI === "true") {
      it(`${kit.name} is reachable (required under CI=true)`, () => {
        throw new Error(message);
      });
    } else {
      console.warn(`skipping ${kit.name} sql connector tests: ${message}`);
      describe.skip(`sql connector on ${kit.name} — ${message}`, () => {
        it("skipped", () => {});
      });
    }
    return false;
  }
}

const postgresUp = await reachable(
  postgresKit,
  async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("select 1");
    } finally {
      await client.end().catch(() => {});
    }
  },
  PG_START,
);
const mariadbUp = await reachable(
  mariadbKit,
  async () => {
    const connection = await mysqlPromise.createConnection({ uri: MARIADB_ADMIN_URL, connectTimeout: 3000 });
    await connection.query("select 1");
    await connection.end();
  },
  MARIADB_START,
);

const kits = [sqliteKit, ...(postgresUp ? [postgresKit] : []), ...(mariadbUp ? [mariadbKit] : [])];

for (const kit of kits) {
  runConnectorConformance(`sql connector conformance on ${kit.name} (app schema)`, async () => {
    const ns = await kit.fresh();
    await createAppSchema(kit, ns);
    return {
      connector: createSqlConnector(
        `app-${kit.name.toLowerCase()}`,
        parseSqlConnectorConfig("app", appConfig(ns.url, ns.schema)),
      ),
      entitlements: ["app-readers", "app-admins"],
      textAttributes: ["displayName", "email"],
      ...(kit.unreachable ? { unreachable: kit.unreachable } : {}),
      ...(kit.badCredentials ? { badCredentials: kit.badCredentials } : {}),
      cleanup: () => ns.drop(),
    };
  });

  runConnectorConformance(`sql connector conformance on ${kit.name} (hostile identifiers)`, async () => {
    const ns = await kit.fresh({ hostile: true });
    await createHostileSchema(kit, ns);
    return {
      connector: createSqlConnector(
        "hostile",
        parseSqlConnectorConfig("hostile", hostileConfig(ns.url, ns.schema)),
      ),
      entitlements: ["readers'; drop table sentinel; --", 'admins" or 1=1'],
      textAttributes: ["displayName", "email"],
      cleanup: async () => {
        try {
          // Nothing in any identifier or value was executed as SQL.
          const { rows } = await sql<{ n: unknown }>`select count(*) as n from ${ns.t("sentinel")}`.execute(
            ns.admin,
          );
          expect(Number(rows[0]?.n)).toBe(1);
        } finally {
          await ns.drop();
        }
      },
    };
  });

  describe(`sql connector on ${kit.name}`, () => {
    let ns: Namespace;
    let connector: Connector;
    const open = (input: Partial<SqlConnectorConfigInput> = {}) =>
      createSqlConnector(
        `app-${kit.name.toLowerCase()}`,
        parseSqlConnectorConfig("app", { ...appConfig(ns.url, ns.schema), ...input }),
      );

    beforeAll(async () => {
      ns = await kit.fresh();
      await createAppSchema(kit, ns);
      connector = open();
    });
    afterAll(async () => {
      await connector?.close();
      await ns?.drop();
    });

    it("reads accounts and memberships the application wrote itself", async () => {
      const { t, admin } = ns;
      await sql`insert into ${t("app_users")} (login, mail, full_name, active, last_login) values
        ('grace', 'grace@example.test', 'Grace Hopper', ${raw(kit.types.true)}, '2026-03-01 09:30:00'),
        ('linus', null, 'Linus', ${raw(kit.types.false)}, null)`.execute(admin);
      const ids = await sql<{ id: unknown; login: string }>`select id, login from ${t("app_users")}`.execute(
        admin,
      );
      const idOf = (login: string) => ids.rows.find((r) => r.login === login)!.id;
      await sql`insert into ${t("app_user_groups")} (user_id, group_name) values
        (${idOf("grace")}, 'app-admins'), (${idOf("grace")}, 'app-readers'), (${idOf("linus")}, 'app-readers')`.execute(
        admin,
      );

      const accounts = await connector.listAccounts();
      const grace = accounts.find((a) => a.username === "grace")!;
      expect(grace).toMatchObject({
        nativeId: String(idOf("grace")),
        enabled: true,
        attributes: { email: "grace@example.test", displayName: "Grace Hopper" },
        entitlements: ["app-admins", "app-readers"],
      });
      expect(grace.lastUsedAt).toMatch(/^2026-03-01/);
      expect(accounts.find((a) => a.username === "linus")).toMatchObject({
        enabled: false,
        attributes: { email: null, displayName: "Linus" },
        entitlements: ["app-readers"],
        lastUsedAt: null,
      });
      expect(await connector.listEntitlements()).toEqual([
        { key: "app-admins", displayName: "Administrators" },
        { key: "app-readers", displayName: "Readers" },
      ]);

      // Deleting a user the app made removes its memberships first (the foreign key would refuse otherwise).
      expect((await connector.delete({ username: "linus" })).changed).toBe(true);
      const left = await sql<{ n: unknown }>`select count(*) as n from ${t("app_user_groups")}
        where user_id = ${idOf("linus")}`.execute(admin);
      expect(Number(left.rows[0]?.n)).toBe(0);
    });

    it("without a groups table, entitlements are the distinct groups of the memberships", async () => {
      const grouping = open({ groups: undefined });
      try {
        await grouping.create({ username: "ada", attributes: {}, enabled: true });
        const key = "Finance 'Ops' – Zoë";
        expect((await grouping.grant({ username: "ada" }, key)).changed).toBe(true);
        const keys = (await grouping.listEntitlements()).map((e) => e.key);
        expect(keys).toContain(key);
        expect(keys).toContain("app-admins");
        expect(new Set(keys).size).toBe(keys.length);
        expect((await grouping.revoke({ username: "ada" }, key)).changed).toBe(true);
        expect((await grouping.delete({ username: "ada" })).changed).toBe(true);
      } finally {
        await grouping.close();
      }
    });

    it("an attribute with no mapped column is invalid and changes nothing", async () => {
      const err = await connector
        .create({ username: "x", attributes: { phone: "1" }, enabled: true })
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ kind: "invalid", retryable: false });
      expect(err.message).toMatch(/phone/);
      expect((await connector.listAccounts()).some((a) => a.username === "x")).toBe(false);
    });

    it("a missing table or column is invalid, not retryable, and named in the message", async () => {
      const noTable = open({ users: { ...appConfig(ns.url).users, table: "no_such_users" } });
      const noColumn = open({
        memberships: { table: "app_user_groups", user: "user_id", group: "no_such_column" },
        groups: undefined,
      });
      try {
        for (const call of [() => noTable.listAccounts(), () => noColumn.listEntitlements()]) {
          const err = await call().catch((e) => e);
          expect(err).toBeInstanceOf(ConnectorError);
          expect(err).toMatchObject({
            kind: "invalid",
            retryable: false,
            system: `app-${kit.name.toLowerCase()}`,
          });
          expect(err.message).toMatch(/^app-\w+: list (accounts|entitlements) failed on .*no_such_/);
        }
      } finally {
        await noTable.close();
        await noColumn.close();
      }
    });

    if (kit.name === "SQLite") {
      it("a database locked by another writer is a retryable conflict", async () => {
        const other = new BetterSqlite3(ns.url.slice("sqlite:".length));
        const locked = open({ timeoutMs: 50 });
        try {
          other.exec("begin exclusive");
          const err = await locked
            .create({ username: "blocked", attributes: {}, enabled: true })
            .catch((e) => e);
          expect(err).toBeInstanceOf(ConnectorError);
          expect(err).toMatchObject({ kind: "conflict", retryable: true });
          expect(err.message).toMatch(/SQLITE_BUSY/);
        } finally {
          other.exec("rollback");
          other.close();
          await locked.close();
        }
        expect((await connector.create({ username: "blocked", attributes: {}, enabled: true })).changed).toBe(
          true,
        );
      });
    }

    if (kit.name === "PostgreSQL") {
      it("keeps as many connections as the system's concurrency, so as many writes run at once", async () => {
        const wide = createSqlConnector(
          "app-wide",
          parseSqlConnectorConfig("app", appConfig(ns.url, ns.schema)),
          { concurrency: 12 },
        );
        // Another session locks the users table against writes: each create then holds its connection
        // while its insert waits, so the sessions on the table count the connections the connector keeps
        // (one per create under way: each holds or waits for a lock on it).
        const locker = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
        await locker.connect();
        const sessionsOnTable = async () =>
          Number(
            (
              await locker.query(
                "select count(distinct pid) as n from pg_locks where relation = $1::regclass and pid <> pg_backend_pid()",
                [`"${ns.schema}".app_users`],
              )
            ).rows[0].n,
          );
        try {
          await locker.query("begin");
          await locker.query(`lock table "${ns.schema}".app_users in exclusive mode`);
          const creates = Array.from({ length: 12 }, (_, n) =>
            wide.create({ username: `burst-${n}`, attributes: {}, enabled: true }),
          );
          // Connecting takes a moment on a busy machine: up to 15 s for all twelve to be on the table.
          await until("twelve creates on the table", async () => (await sessionsOnTable()) >= 12, 15_000);
          expect(await sessionsOnTable()).toBe(12);
          await locker.query("commit");
          expect((await Promise.all(creates)).every((r) => r.changed)).toBe(true);
        } finally {
          await locker.query("rollback").catch(() => {});
          await locker.end();
          await wide.close();
        }
      });

      it("a role without write privileges gets a non-retryable permission error", async () => {
        const role = `tenure_ro_${rand()}`;
        await sql`create role ${sql.id(role)} login`.execute(ns.admin);
        await sql`grant usage on schema ${sql.id(ns.schema!)} to ${sql.id(role)}`.execute(ns.admin);
        await sql`grant select on all tables in schema ${sql.id(ns.schema!)} to ${sql.id(role)}`.execute(
          ns.admin,
        );
        const readOnly = open({ url: withCredentials(ns.url, role, "") });
        try {
          await readOnly.listAccounts();
          const err = await readOnly
            .create({ username: "nope", attributes: {}, enabled: true })
            .catch((e) => e);
          expect(err).toBeInstanceOf(ConnectorError);
          expect(err).toMatchObject({ kind: "permission", retryable: false });
          expect(err.message).toMatch(/42501/);
        } finally {
          await readOnly.close();
          await sql`drop owned by ${sql.id(role)}`.execute(ns.admin);
          await sql`drop role ${sql.id(role)}`.execute(ns.admin);
        }
      });
    }

    if (kit.name === "MariaDB") {
      it("a user without write privileges gets a non-retryable permission error", async () => {
        const user = `tenure_ro_${rand()}`;
        const password = `ro-password-${rand()}`;
        const database = new URL(ns.url).pathname.slice(1);
        await sql`create user ${user}@'%' identified by ${password}`.execute(ns.admin);
        await sql`grant select on ${sql.id(database)}.* to ${user}@'%'`.execute(ns.admin);
        const readOnly = open({ url: withCredentials(ns.url, user, password) });
        try {
          await readOnly.listAccounts();
          const err = await readOnly
            .create({ username: "nope", attributes: {}, enabled: true })
            .catch((e) => e);
          expect(err).toBeInstanceOf(ConnectorError);
          expect(err).toMatchObject({ kind: "permission", retryable: false });
          expect(err.message).toMatch(/ER_TABLEACCESS_DENIED_ERROR/);
          expect(err.message).not.toContain(password);
        } finally {
          await readOnly.close();
          await sql`drop user ${user}@'%'`.execute(ns.admin);
        }
      });
    }
  });
}
