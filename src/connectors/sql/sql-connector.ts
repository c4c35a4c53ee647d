import { randomUUID } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, MysqlDialect, PostgresDialect, type RawBuilder, SqliteDialect, sql } from "kysely";
import { createPool } from "mysql2";
import pg from "pg";
import { createKeyedLock } from "../../shared/keyed-lock.js";
import {
  type Account,
  type AccountRef,
  type AccountSpec,
  type Connector,
  ConnectorError,
  type ConnectorOptions,
  type EntitlementInfo,
  keptConnections,
  type WriteResult,
} from "../connector-types.js";
import { toConnectorError } from "./sql-errors.js";
import { dialectOfUrl, type SqlConnectorConfig, type SqlDialectName } from "./sql-schemas.js";

/** Every statement is raw SQL with quoted identifiers, so the database schema type is empty. */
type AnyDb = Kysely<Record<string, never>>;
type Row = Record<string, unknown>;

/** A user row as the connector reads it: the raw id is kept to write back with the database's own type. */
interface UserRow {
  rawId: unknown;
  rawUsername: unknown;
  account: Account;
}

// Result columns get fixed aliases so mapped column names (which may repeat or clash) never collide.
const ID = sql.id("t_id");
const USERNAME = sql.id("t_username");
const ENABLED = sql.id("t_enabled");
const LAST_USED = sql.id("t_last_used");
const GROUP = sql.id("t_group");
const NAME = sql.id("t_name");
const attrAlias = (index: number) => `t_attr_${index}`;

/**
 * The `sql` connector: users and group memberships kept in an application's own tables, in SQLite,
 * PostgreSQL or MySQL/MariaDB.
 *
 * - Identifiers from the configuration are always quoted by the dialect (`sql.id`), never parsed or
 *   concatenated; values are always bound parameters.
 * - `create` on an existing username only ensures existence and returns the existing native id.
 * - `update`, `enable`, `disable` and `grant` on an absent account throw `not_found`; `revoke` and
 *   `delete` of something absent report `changed: false`.
 * - `disable` only sets the enabled column (`disableRefusesUse: false`): the application decides logins.
 * - Writes for one username are serialised within this instance, so concurrent creates or grants of the
 *   same thing report one change. Across processes, a unique constraint on the username column (and on
 *   the membership pair) is what prevents duplicates; a unique violation is then reported as no change.
 * - Failures throw `ConnectorError` classified by `sql-errors.ts`; messages name the system and redact
 *   the URL's password.
 */
export function createSqlConnector(
  system: string,
  config: SqlConnectorConfig,
  options: ConnectorOptions = {},
): Connector {
  const dialect = dialectOfUrl(config.url);
  if (dialect === undefined) {
    throw new ConnectorError(system, "invalid", "url must be sqlite:PATH, postgres://… or mysql://…");
  }
  const secrets = passwordsOf(config.url);
  const target = describeTarget(config.url);
  const db: AnyDb = new Kysely({ dialect: createDialect(dialect, config, keptConnections(options)) });
  const locks = createUserLock();

  const { users, memberships, groups } = config;
  const attributeNames = Object.keys(users.attributes);

  const table = (name: string) => (config.schema === undefined ? sql.id(name) : sql.id(config.schema, name));
  const col = (name: string) => sql.id(name);
  /** better-sqlite3 binds no booleans; every other value goes to the driver as given. */
  const bind = (value: unknown) =>
    dialect === "sqlite" && typeof value === "boolean" ? Number(value) : value;
  /** NULL-safe equality, which each dialect spells differently. */
  const same = (column: string, value: unknown): RawBuilder<unknown> => {
    if (dialect === "postgres") return sql`${col(column)} is not distinct from ${bind(value)}`;
    if (dialect === "mysql") return sql`${col(column)} <=> ${bind(value)}`;
    return sql`${col(column)} is ${bind(value)}`;
  };

  const userColumns = sql.join([
    sql`${col(users.id)} as ${ID}`,
    sql`${col(users.username)} as ${USERNAME}`,
    sql`${col(users.enabled.column)} as ${ENABLED}`,
    ...attributeNames.map((name, i) => sql`${col(users.attributes[name]!)} as ${sql.id(attrAlias(i))}`),
    ...(users.lastUsedAt === undefined ? [] : [sql`${col(users.lastUsedAt)} as ${LAST_USED}`]),
  ]);

  function toUserRow(row: Row): UserRow {
    const attributes: Record<string, string | null> = {};
    attributeNames.forEach((name, i) => {
      attributes[name] = toText(row[attrAlias(i)]);
    });
    const account: Account = {
      nativeId: toText(row.t_id) ?? "",
      username: toText(row.t_username) ?? "",
      enabled: sameFlag(row.t_enabled, users.enabled.true),
      attributes,
      entitlements: [],
    };
    if (users.lastUsedAt !== undefined) account.lastUsedAt = toText(row.t_last_used);
    return { rawId: row.t_id, rawUsername: row.t_username, account };
  }

  /** The account a ref names: by native id when known, else by username. */
  async function findUser(executor: AnyDb, ref: AccountRef): Promise<UserRow | undefined> {
    const byId = ref.nativeId !== undefined && ref.nativeId !== null && ref.nativeId !== "";
    const where = byId
      ? sql`${col(users.id)} = ${ref.nativeId}`
      : sql`${col(users.username)} = ${ref.username}`;
    const { rows } = await sql<Row>`select ${userColumns} from ${table(users.table)} where ${where}`.execute(
      executor,
    );
    if (rows.length > 1) {
      // Acting on one of several rows would be a guess; the application's data needs fixing.
      throw new ConnectorError(
        system,
        "invalid",
        `${byId ? `id ${ref.nativeId}` : `username "${ref.username}"`} matches ${rows.length} rows in ${users.table}`,
      );
    }
    return rows[0] === undefined ? undefined : toUserRow(rows[0]);
  }

  async function requireUser(executor: AnyDb, ref: AccountRef): Promise<UserRow> {
    const found = await findUser(executor, ref);
    if (found === undefined) {
      throw new ConnectorError(
        system,
        "not_found",
        `account ${describeRef(ref)} does not exist in ${target}`,
        {
          retryable: false,
        },
      );
    }
    return found;
  }

  /** The value the membership table stores for a user. */
  const memberValue = (user: UserRow) => (memberships.userRef === "id" ? user.rawId : user.rawUsername);

  function columnsFor(attributes: Record<string, string | null>): Array<[string, string | null]> {
    const unknown = Object.keys(attributes).filter((name) => !(name in users.attributes));
    if (unknown.length > 0) {
      throw new ConnectorError(
        system,
        "invalid",
        `attribute${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} not mapped to a column (configured: ${attributeNames.join(", ") || "none"})`,
      );
    }
    return Object.entries(attributes).map(([name, value]) => [users.attributes[name]!, value]);
  }

  /** Sets columns on one user only where they differ, so `changed` is the database's own answer. */
  async function setColumns(user: UserRow, assignments: Array<[string, unknown]>): Promise<WriteResult> {
    if (assignments.length === 0) return { changed: false, nativeId: user.account.nativeId };
    const result = await sql`update ${table(users.table)}
      set ${sql.join(assignments.map(([column, value]) => sql`${col(column)} = ${bind(value)}`))}
      where ${col(users.id)} = ${user.rawId}
        and not (${sql.join(
          assignments.map(([column, value]) => same(column, value)),
          sql` and `,
        )})`.execute(db);
    return { changed: (result.numAffectedRows ?? 0n) > 0n, nativeId: user.account.nativeId };
  }

  async function run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toConnectorError(system, what, target, err, secrets);
    }
  }

  return {
    describe: () => ({
      type: "sql",
      system,
      disableRefusesUse: false,
      supportsRotation: false,
      readsAccounts: true,
    }),

    listAccounts: () =>
      run("list accounts", async () => {
        const { rows } = await sql<Row>`select ${userColumns} from ${table(users.table)}
          order by ${col(users.id)}`.execute(db);
        const refColumn = memberships.userRef === "id" ? users.id : users.username;
        // One join instead of a query per user; the database compares the reference column, so its own
        // type coercion and collation apply.
        const { rows: held } = await sql<Row>`select ${sql.id("u", users.id)} as ${ID},
            ${sql.id("m", memberships.group)} as ${GROUP}
          from ${table(memberships.table)} as ${sql.id("m")}
          join ${table(users.table)} as ${sql.id("u")}
            on ${sql.id("u", refColumn)} = ${sql.id("m", memberships.user)}`.execute(db);
        const byUser = new Map<string, Set<string>>();
        for (const row of held) {
          const id = toText(row.t_id);
          const key = toText(row.t_group);
          if (id === null || key === null) continue;
          const set = byUser.get(id) ?? new Set<string>();
          set.add(key);
          byUser.set(id, set);
        }
        return rows.map((row) => {
          const { account } = toUserRow(row);
          account.entitlements = [...(byUser.get(account.nativeId) ?? [])].sort();
          return account;
        });
      }),

    listEntitlements: () =>
      run("list entitlements", async () => {
        if (groups !== undefined) {
          const name = groups.displayName === undefined ? sql`null` : col(groups.displayName);
          const { rows } = await sql<Row>`select ${col(groups.key)} as ${GROUP}, ${name} as ${NAME}
            from ${table(groups.table)} order by ${col(groups.key)}`.execute(db);
          return rows.flatMap((row): EntitlementInfo[] => {
            const key = toText(row.t_group);
            return key === null ? [] : [{ key, displayName: toText(row.t_name) }];
          });
        }
        const { rows } = await sql<Row>`select distinct ${col(memberships.group)} as ${GROUP}
          from ${table(memberships.table)} order by ${GROUP}`.execute(db);
        return rows.flatMap((row): EntitlementInfo[] => {
          const key = toText(row.t_group);
          return key === null ? [] : [{ key }];
        });
      }),

    create: (spec: AccountSpec) =>
      locks.run(spec.username, () =>
        run(`create account "${spec.username}"`, async () => {
          const attributeColumns = columnsFor(spec.attributes).filter(([, value]) => value !== null);
          try {
            return await db.transaction().execute(async (trx) => {
              const existing = await findUser(trx, { username: spec.username });
              if (existing !== undefined) return { changed: false, nativeId: existing.account.nativeId };
              const values = new Map<string, unknown>();
              const newId = users.newId === "uuid" ? randomUUID() : undefined;
              if (newId !== undefined) values.set(users.id, newId);
              values.set(users.username, spec.username);
              values.set(users.enabled.column, spec.enabled ? users.enabled.true : users.enabled.false);
              // Null attributes are left to the column default: a NOT NULL column would refuse them.
              for (const [column, value] of attributeColumns) values.set(column, value);
              const insert = sql`insert into ${table(users.table)}
                (${sql.join([...values.keys()].map(col))})
                values (${sql.join([...values.values()].map(bind))})`;
              if (dialect !== "mysql") {
                // RETURNING reads back what the database generated (serial, autoincrement, default, trigger).
                const { rows } = await sql<Row>`${insert} returning ${col(users.id)} as ${ID}`.execute(trx);
                return { changed: true, nativeId: toText(rows[0]?.t_id) ?? newId ?? null };
              }
              await insert.execute(trx);
              // MySQL has no RETURNING and insertId belongs to the AUTO_INCREMENT column, which need not be
              // the configured id column; reading the row back in the same transaction is always right.
              const created = await requireUser(trx, { username: spec.username });
              return { changed: true, nativeId: created.account.nativeId };
            });
          } catch (err) {
            // Another process created the same username between our check and insert.
            if (!isUniqueViolation(err)) throw err;
            const existing = await findUser(db, { username: spec.username });
            if (existing === undefined) throw err;
            return { changed: false, nativeId: existing.account.nativeId };
          }
        }),
      ),

    update: (ref, attributes) =>
      locks.run(ref.username, () =>
        run(`update account ${describeRef(ref)}`, async () => {
          const assignments = columnsFor(attributes);
          return setColumns(await requireUser(db, ref), assignments);
        }),
      ),

    enable: (ref) =>
      locks.run(ref.username, () =>
        run(`enable account ${describeRef(ref)}`, async () =>
          setColumns(await requireUser(db, ref), [[users.enabled.column, users.enabled.true]]),
        ),
      ),

    disable: (ref) =>
      locks.run(ref.username, () =>
        run(`disable account ${describeRef(ref)}`, async () =>
          setColumns(await requireUser(db, ref), [[users.enabled.column, users.enabled.false]]),
        ),
      ),

    delete: (ref) =>
      locks.run(ref.username, () =>
        run(`delete account ${describeRef(ref)}`, () =>
          db.transaction().execute(async (trx) => {
            const user = await findUser(trx, ref);
            if (user === undefined) return { changed: false };
            // Memberships first: a foreign key from them to the user would refuse the user's deletion.
            await sql`delete from ${table(memberships.table)}
              where ${col(memberships.user)} = ${memberValue(user)}`.execute(trx);
            const result = await sql`delete from ${table(users.table)}
              where ${col(users.id)} = ${user.rawId}`.execute(trx);
            return { changed: (result.numAffectedRows ?? 0n) > 0n, nativeId: user.account.nativeId };
          }),
        ),
      ),

    grant: (ref, entitlement) =>
      locks.run(ref.username, () =>
        run(`grant "${entitlement}" to ${describeRef(ref)}`, async () => {
          const user = await requireUser(db, ref);
          const result = { nativeId: user.account.nativeId };
          const { rows } = await sql<Row>`select 1 as ${ID} from ${table(memberships.table)}
            where ${col(memberships.user)} = ${memberValue(user)} and ${col(memberships.group)} = ${entitlement}
            limit 1`.execute(db);
          if (rows.length > 0) return { ...result, changed: false };
          try {
            await sql`insert into ${table(memberships.table)} (${col(memberships.user)}, ${col(memberships.group)})
              values (${memberValue(user)}, ${entitlement})`.execute(db);
          } catch (err) {
            // Another process granted the same membership between our check and insert.
            if (isUniqueViolation(err)) return { ...result, changed: false };
            throw err;
          }
          return { ...result, changed: true };
        }),
      ),

    revoke: (ref, entitlement) =>
      locks.run(ref.username, () =>
        run(`revoke "${entitlement}" from ${describeRef(ref)}`, async () => {
          const user = await findUser(db, ref);
          if (user === undefined) return { changed: false };
          const deleted = await sql`delete from ${table(memberships.table)}
            where ${col(memberships.user)} = ${memberValue(user)} and ${col(memberships.group)} = ${entitlement}`.execute(
            db,
          );
          return { changed: (deleted.numAffectedRows ?? 0n) > 0n, nativeId: user.account.nativeId };
        }),
      ),

    close: () => run("close connections", () => db.destroy()),
  };
}

/** `connections`: how many a PostgreSQL or MySQL pool keeps (SQLite has one). */
function createDialect(dialect: SqlDialectName, config: SqlConnectorConfig, connections: number) {
  // Each client is created on first use, so constructing a connector never touches the network or disk.
  switch (dialect) {
    case "sqlite":
      return new SqliteDialect({
        database: async () => {
          let database: BetterSqlite3.Database;
          try {
            // fileMustExist: a mistyped path must fail, not create an empty database.
            database = new BetterSqlite3(config.url.slice("sqlite:".length), {
              fileMustExist: true,
              timeout: config.timeoutMs,
            });
          } catch (err) {
            // A missing directory is a plain TypeError; give it the code a missing file has.
            const code = (err as { code?: unknown }).code ?? "SQLITE_CANTOPEN";
            throw Object.assign(new Error((err as Error).message), { code });
          }
          // The application declared its foreign keys to be enforced; SQLite enforces them per connection.
          database.pragma("foreign_keys = ON");
          return database;
        },
      });
    case "postgres":
      return new PostgresDialect({
        pool: async () => {
          const pool = new pg.Pool({
            connectionString: config.url,
            max: connections,
            connectionTimeoutMillis: config.timeoutMs,
            application_name: "tenure",
          });
          // An idle connection dropped by the server must not crash the process; the next query reconnects.
          pool.on("error", () => {});
          return pool;
        },
      });
    case "mysql": {
      const url = new URL(config.url);
      return new MysqlDialect({
        pool: async () =>
          createPool({
            host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
            port: url.port === "" ? 3306 : Number(url.port),
            user: decodeURIComponent(url.username),
            password: decodeURIComponent(url.password),
            database: decodeURIComponent(url.pathname.slice(1)) || undefined,
            connectTimeout: config.timeoutMs,
            connectionLimit: connections,
            // Ids are compared as text; large integers must not lose digits on the way.
            supportBigNumbers: true,
            bigNumberStrings: true,
          }),
      });
    }
  }
}

/** The URL to show in messages: the password masked and the query (which may carry one) dropped. */
function describeTarget(url: string): string {
  if (url.startsWith("sqlite:")) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    parsed.search = "";
    return parsed.toString();
  } catch {
    return url.split(":")[0] ?? "database";
  }
}

/** The password of a URL in both spellings a driver might echo, to scrub from messages. */
function passwordsOf(url: string): string[] {
  if (url.startsWith("sqlite:")) return [];
  try {
    const { password } = new URL(url);
    return password === "" ? [] : [...new Set([password, decodeURIComponent(password)])];
  } catch {
    return [];
  }
}

function describeRef(ref: AccountRef): string {
  return ref.nativeId === undefined || ref.nativeId === null || ref.nativeId === ""
    ? `"${ref.username}"`
    : `"${ref.username}" (id ${ref.nativeId})`;
}

/** A column value as the text the Connector interface carries. */
function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Whether a stored flag equals a configured one; booleans compare as 1/0, as the databases store them. */
function sameFlag(stored: unknown, configured: string | number | boolean): boolean {
  const norm = (v: unknown) => (typeof v === "boolean" ? (v ? "1" : "0") : toText(v));
  return stored !== null && stored !== undefined && norm(stored) === norm(configured);
}

function isUniqueViolation(err: unknown): boolean {
  const e = (typeof err === "object" && err !== null ? err : {}) as { code?: unknown; errno?: unknown };
  return (
    e.code === "23505" ||
    e.errno === 1062 ||
    e.code === "SQLITE_CONSTRAINT_UNIQUE" ||
    e.code === "SQLITE_CONSTRAINT_PRIMARYKEY"
  );
}

/**
 * Runs functions one after another per key. Keys are case- and Unicode-normalised, so two spellings a
 * case-insensitive collation treats as one user are serialised too; the cost is only less parallelism.
 */
function createUserLock() {
  const lock = createKeyedLock();
  return {
    run: <T>(key: string, fn: () => Promise<T>): Promise<T> =>
      lock.run([key.normalize("NFC").toLowerCase()], fn),
  };
}
