import type BetterSqlite3 from "better-sqlite3";
import { type Kysely, sql } from "kysely";
import { FIRST_MIGRATION } from "./migrations/index.js";
import type { Database } from "./schema-types.js";
import { NotATenureStoreError } from "./store-errors.js";

/**
 * What a database holds before Tenure migrates it: Tenure's schema (its migration table records
 * Tenure's first migration), nothing at all, or someone else's tables (listed, a few of them).
 */
export type StoreContents = { kind: "tenure" } | { kind: "empty" } | { kind: "foreign"; tables: string[] };

const MIGRATION_TABLE = "kysely_migration";
const KYSELY_TABLES = new Set([MIGRATION_TABLE, "kysely_migration_lock"]);

function classify(tables: string[], executed: () => string[]): StoreContents {
  const own = tables.filter((t) => !KYSELY_TABLES.has(t));
  if (tables.includes(MIGRATION_TABLE)) {
    const names = executed();
    if (names.includes(FIRST_MIGRATION)) return { kind: "tenure" };
    // Kysely's tables alone, with no migration recorded: a first `tenure init` that failed half-way.
    if (own.length === 0 && names.length === 0) return { kind: "empty" };
  }
  if (tables.length === 0) return { kind: "empty" };
  return { kind: "foreign", tables: (own.length > 0 ? own : tables).sort() };
}

/** Reads a SQLite database's tables without writing anything (no pragma that changes the file). */
export function inspectSqlite(sqlite: BetterSqlite3.Database): StoreContents {
  const tables = (
    sqlite
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
      .all() as Array<{ name: string }>
  ).map((r) => r.name);
  return classify(tables, () =>
    (sqlite.prepare(`select name from ${MIGRATION_TABLE}`).all() as Array<{ name: string }>).map(
      (r) => r.name,
    ),
  );
}

/** Reads the tables of the schema a PostgreSQL store's tables go in (`current_schema()`). */
export async function inspectPostgres(db: Kysely<Database>): Promise<StoreContents> {
  const tables = (
    await sql<{ name: string }>`select table_name as name from information_schema.tables
      where table_schema = current_schema()`.execute(db)
  ).rows.map((r) => r.name);
  let executed: string[] = [];
  if (tables.includes(MIGRATION_TABLE)) {
    executed = (
      await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db)
    ).rows.map((r) => r.name);
  }
  return classify(tables, () => executed);
}

/**
 * Refuses a store that is not Tenure's, naming it: someone else's tables always (`create` or not);
 * an empty database or a missing file unless `create` (only `tenure init` and `tenure demo` pass it).
 */
export function assertTenureStore(contents: StoreContents, where: string, create: boolean): void {
  if (contents.kind === "foreign") {
    const shown = contents.tables.slice(0, 5).join(", ");
    const more = contents.tables.length > 5 ? ` and ${contents.tables.length - 5} more` : "";
    throw new NotATenureStoreError(
      `${where} holds another application's tables (${shown}${more}), not Tenure's; nothing was written to it — point database: in tenure.yaml at a database (or PostgreSQL schema) of Tenure's own`,
    );
  }
  if (contents.kind === "empty" && !create) {
    throw new NotATenureStoreError(
      `${where} is an empty database without Tenure's schema; nothing was written to it — if this is a new installation, \`tenure init\` creates the schema, otherwise check database: in tenure.yaml`,
    );
  }
}

/** The message for a SQLite file that does not exist, when it may not be created. */
export function missingSqliteFile(where: string): NotATenureStoreError {
  return new NotATenureStoreError(
    `no Tenure database at ${where} (the file does not exist); if this is a new installation, \`tenure init\` creates it, otherwise check database: in tenure.yaml`,
  );
}
