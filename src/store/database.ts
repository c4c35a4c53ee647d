import { existsSync } from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, Migrator, sql } from "kysely";
import pg from "pg";
import { InvalidInputError, TenureError } from "../shared/errors.js";
import { redactUrl } from "../shared/redact.js";
import { migrationProvider } from "./migrations/index.js";
import { LOCK_CONNECTIONS, registerLockPool } from "./person-lock.js";
import { nameStatements } from "./pg-prepared.js";
import { ScopedPostgresDialect } from "./postgres-scoped-dialect.js";
import type { Database } from "./schema-types.js";
import { ImmediateSqliteDialect } from "./sqlite-immediate-dialect.js";
import { storeFailure } from "./store-errors.js";
import { assertTenureStore, inspectPostgres, inspectSqlite, missingSqliteFile } from "./store-identity.js";
import type { Store } from "./store-types.js";
import { registerSlotPool } from "./system-slots.js";

export type { DatabaseKind, Store } from "./store-types.js";

export interface OpenOptions {
  /** Directory that relative SQLite paths are resolved against (the config file's folder). */
  baseDir?: string;
  /** Apply pending migrations (the default). */
  migrate?: boolean;
  /**
   * Whether a store without Tenure's schema — a SQLite file that does not exist, an empty database or
   * PostgreSQL schema — may be given one (the default, for `tenure init`, `tenure demo` and tests).
   * Every other command passes `false`, and such a store is then refused with a NotATenureStoreError
   * naming it, before anything is written. A database holding another application's tables is refused
   * either way. A store that has Tenure's schema is always migrated to the latest version.
   */
  create?: boolean;
}

/**
 * Opens the store named by a `database:` URL: `sqlite:PATH` (WAL, foreign keys on) or
 * `postgres://...` (an optional `schema` query parameter sets the search_path). Before writing
 * anything it checks that the store is Tenure's (see `OpenOptions.create`); a damaged file, a full
 * disk or an unreachable server is a StoreFailureError naming the store.
 */
export async function openStore(url: string, options: OpenOptions = {}): Promise<Store> {
  let store: Store;
  const create = options.create !== false;
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    const resolved = file === ":memory:" ? file : path.resolve(options.baseDir ?? process.cwd(), file);
    const where = `sqlite:${resolved}`;
    if (!create && resolved !== ":memory:" && !existsSync(resolved)) throw missingSqliteFile(where);
    let sqlite: BetterSqlite3.Database | undefined;
    try {
      sqlite = new BetterSqlite3(resolved, create ? {} : { fileMustExist: true });
      // First, and only pragmas that do not write: a store that is not Tenure's is left byte for byte.
      sqlite.pragma("busy_timeout = 10000");
      assertTenureStore(inspectSqlite(sqlite), where, create);
    } catch (err) {
      sqlite?.close();
      throw storeFailure(err, where) ?? err;
    }
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("synchronous = NORMAL");
    // A sync of 100,000 people touches every index page; a 64 MiB page cache keeps them in memory.
    sqlite.pragma("cache_size = -65536");
    // Transactions take the write lock when they begin: one that read first could not wait for it.
    const db = new Kysely<Database>({
      dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
    });
    if (resolved !== ":memory:") sqliteFiles.set(db, resolved);
    store = { db, kind: "sqlite", describe: where, close: () => db.destroy() };
  } else if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get("schema");
    parsed.searchParams.delete("schema");
    const options = {
      connectionString: parsed.toString(),
      ...(schema ? { options: `-c search_path=${quotePgIdent(schema)}` } : {}),
    };
    const pool = new pg.Pool({ ...options, max: 10 });
    // A connection the server ended (a restart, pg_terminate_backend) fails the query on it, if any, and
    // is dropped by the pool; the next query opens another. Unheard, its "error" event (emitted by the
    // pool for an idle connection, by the client for one checked out between queries) would end the process.
    pool.on("error", () => {});
    pool.on("connect", (client) => {
      client.on("error", () => {});
      nameStatements(client);
    });
    const db = new Kysely<Database>({ dialect: new ScopedPostgresDialect({ pool }) });
    postgresUrls.set(db, url);
    // Pushes' per-person advisory locks: on one session connection, and on connections of their own
    // for pushes that wait for another process (person-lock.ts says why); each pool connects only when a
    // push first needs it.
    const lockPool = new pg.Pool({ ...options, max: LOCK_CONNECTIONS });
    const lockSessionPool = new pg.Pool({ ...options, max: 1 });
    const endLockSession = registerLockPool(db, lockPool, lockSessionPool);
    // An idle lock connection the server dropped is discarded by the pool; the next push opens another.
    for (const p of [lockPool, lockSessionPool]) {
      p.on("error", () => {});
      p.on("connect", (client) => client.on("error", () => {}));
    }
    // Systems' concurrency slots across processes, on one connection of their own (system-slots.ts).
    const slotPool = new pg.Pool({ ...options, max: 1 });
    const endSlotPool = registerSlotPool(db, slotPool, schema ?? "");
    slotPool.on("error", () => {});
    store = {
      db,
      kind: "postgres",
      describe: redactUrl(url),
      ...(schema ? { schema } : {}),
      close: async () => {
        await db.destroy();
        await endLockSession();
        await lockPool.end();
        await lockSessionPool.end();
        await endSlotPool();
      },
    };
  } else {
    throw new InvalidInputError(
      `database: "${redactUrl(url)}" is not a supported URL; expected sqlite:PATH or postgres://…`,
    );
  }
  try {
    if (store.kind === "postgres") {
      const contents = await inspectPostgres(store.db);
      assertTenureStore(contents, store.describe, create);
      if (contents.kind === "empty" && store.schema !== undefined && options.migrate !== false) {
        await sql`create schema if not exists ${sql.id(store.schema)}`.execute(store.db);
      }
    }
    if (options.migrate !== false) await migrate(store.db, store.schema);
  } catch (err) {
    await store.close();
    throw storeFailure(err, store.describe) ?? err;
  }
  return store;
}

/** The file of each SQLite store opened by `openStore`, by its Kysely instance. */
const sqliteFiles = new WeakMap<object, string>();
/** The URL of each PostgreSQL store opened by `openStore` (its password included), by its Kysely instance. */
const postgresUrls = new WeakMap<object, string>();

/**
 * The URL `openStore` opened the store whose Kysely instance `db` is with (`sqlite:FILE` for a file),
 * for a worker thread that opens the same store; null for an in-memory store, a transaction or any
 * other instance. It holds the password of a PostgreSQL URL: it goes to no log, error or event.
 */
export function storeUrlOf(db: object): string | null {
  const file = sqliteFiles.get(db);
  if (file !== undefined) return `sqlite:${file}`;
  return postgresUrls.get(db) ?? null;
}

/**
 * The file of the SQLite store whose Kysely instance `db` is, as `openStore` opened it; null for
 * PostgreSQL, an in-memory store, a transaction or any other instance. For the store layer's bulk reads
 * that open a connection of their own beside the store's (a worker thread's): they see what is committed.
 */
export function sqliteFileOf(db: object): string | null {
  return sqliteFiles.get(db) ?? null;
}

function migrator(db: Kysely<Database>, schema?: string): Migrator {
  // Kysely looks for its bookkeeping tables in every schema unless told which one is ours.
  return new Migrator({
    db,
    provider: migrationProvider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/**
 * Kysely prepares every statement it runs, and SQLite compiling a statement costs about as much as
 * running a small one: a SCIM push ran ~20 statements and re-prepared 18 of them every time, and a bulk
 * insert repeated the same 30,000-parameter INSERT text for every chunk. Statements are kept by their
 * text (at most {@link STATEMENT_CACHE} of them, least recently used dropped), so each is compiled once.
 * A statement still being iterated is busy and cannot be run again: a fresh one is prepared then.
 */
const STATEMENT_CACHE = 256;

export function withStatementCache(
  sqlite: BetterSqlite3.Database,
  size = STATEMENT_CACHE,
): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== "prepare") {
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (text: string) => {
        const cached = cache.get(text);
        if (cached !== undefined) {
          if (cached.busy) return prepare(text);
          // Most recently used last: a Map iterates in insertion order.
          cache.delete(text);
          cache.set(text, cached);
          return cached;
        }
        const statement = prepare(text);
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
        cache.set(text, statement);
        return statement;
      };
    },
  });
}

export async function migrate(db: Kysely<Database>, schema?: string): Promise<void> {
  const m = migrator(db, schema);
  const { error, results } = await m.migrateToLatest();
  if (error !== undefined) {
    // Kysely's words for a database that a newer Tenure has migrated: say so, and what to do.
    const newer = /previously executed migration (\S+) is missing/.exec(
      String((error as Error).message ?? ""),
    );
    if (newer !== null) {
      throw new TenureError(
        "migration_failed",
        `this database was migrated by a newer version of Tenure (its migration ${newer[1]} is unknown to this version); run the newer version, or restore a backup taken before the upgrade`,
        { cause: error },
      );
    }
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new TenureError(
      "migration_failed",
      `database migration ${failed} failed: ${String((error as Error).message ?? error)}`,
      {
        cause: error,
      },
    );
  }
}

export async function pendingMigrations(db: Kysely<Database>, schema?: string): Promise<string[]> {
  const all = await migrator(db, schema).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/** Quotes a PostgreSQL identifier: doubles embedded quotes, so any name is safe in SQL. */
export function quotePgIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
