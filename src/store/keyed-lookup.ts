import { type RawBuilder, sql } from "kysely";
import { usesDollar } from "./bulk-insert.js";
import { chunk } from "./chunk.js";
import { PLAN_EACH_RUN } from "./pg-prepared.js";
import type { Db } from "./schema-types.js";

/** Keys a statement looks up at most (SQLite's `in` list stays far below its bound-parameter limit). */
export const KEYS_PER_STATEMENT = 2000;

/** What a lookup by keys reads: see {@link selectByKeys}. */
export interface KeyedLookup {
  table: string;
  columns: readonly string[];
  /** Columns every row found has these values in (the unique index's leading columns). */
  fixed: Readonly<Record<string, string>>;
  /** The column the keys are values of (the unique index's last column). */
  key: string;
}

/**
 * The rows of `table` whose `fixed` columns equal their values and whose `key` column is one of `keys`,
 * where (fixed columns…, key) is a unique index of the table: a push's lookups of the accounts, links
 * and SCIM resources of the people it carries.
 *
 * On PostgreSQL each key is looked up on its own through that index (a lateral subquery per key), whatever
 * the planner's statistics say. Written as `system = $1 and username in (…)`, a table never analysed —
 * every store in its first minute, before autovacuum's first pass, and for good where autovacuum is off —
 * was planned with the index's first column only: every account of the system read and filtered, on
 * each push, its cost growing with the table (10 ms a read at 10,000 accounts into one directory, where
 * the probes take 0.2 ms). A prepared statement keeps that plan after the table has grown, so these are
 * planned on each run (pg-prepared.ts): on an empty table a lookup by (type, name_key) ties with the
 * (type, id) index, and the plan kept from then filtered every User (27 ms a read at 10,000 Users).
 * SQLite plans the `in` list on the index as it is.
 */
export async function selectByKeys<R>(db: Db, lookup: KeyedLookup, keys: readonly string[]): Promise<R[]> {
  const out: R[] = [];
  for (const part of chunk([...new Set(keys)], KEYS_PER_STATEMENT)) {
    out.push(...(await keyedQuery<R>(db, lookup, part).execute(db)).rows);
  }
  return out;
}

/**
 * The statement {@link selectByKeys} sends for `keys` (distinct, at most {@link KEYS_PER_STATEMENT}):
 * for a caller that joins two lookups into one statement with `union all`.
 */
export function keyedQuery<R>(db: Db, lookup: KeyedLookup, keys: readonly string[]): RawBuilder<R> {
  const { table, columns, fixed, key } = lookup;
  const equal = Object.entries(fixed).map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
  const selected = sql.join(columns.map((c) => sql.ref(c)));
  return usesDollar(db)
    ? sql<R>`${sql.raw(PLAN_EACH_RUN)}select ${sql.join(columns.map((c) => sql.ref(`found.${c}`)))}
        from unnest(${keys}::text[]) as wanted(v)
        cross join lateral (
          select ${selected} from ${sql.table(table)}
          where ${sql.join([...equal, sql`${sql.ref(key)} = wanted.v`], sql` and `)}
          limit 1
        ) as found`
    : sql<R>`select ${selected} from ${sql.table(table)}
        where ${sql.join([...equal, sql`${sql.ref(key)} in (${sql.join(keys)})`], sql` and `)}`;
}
