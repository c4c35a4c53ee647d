import { type RawBuilder, sql } from "kysely";
import { usesDollar } from "./bulk-insert.js";
import type { Db } from "./schema-types.js";

/**
 * Reads of every NHI (the sync's index, the risk report's rows), as arrays of values. On SQLite as pages
 * of JSON: the database builds one JSON array of rows per page (`json_group_array`) and the process parses
 * it at once — better-sqlite3 handing 100,000 rows over one by one, each an object of a dozen properties,
 * took about twice as long as the same values in one JSON text; pages keep each text a few megabytes. On
 * PostgreSQL the other way round: building the JSON (`json_agg`) cost the server more than the driver's
 * rows cost the process, so the rows come as rows (docs/performance.md, non-human identities).
 */

/** Rows per page, in name order. */
const PAGE = 20_000;

/**
 * Every NHI row `columns` selects (SQL expressions, the first the NHI's name), as arrays in that order,
 * by name (on PostgreSQL only when `ordered`: its sort by a collation costs), of the rows `where` keeps
 * (an SQL condition, or none). Values come as JSON makes them: text, numbers, null, and JSON columns
 * (written as `json(column)`) parsed.
 */
export async function nhiJsonRows(
  db: Db,
  columns: readonly string[],
  where: string | null,
  ordered: boolean,
): Promise<unknown[][]> {
  if (usesDollar(db)) return postgresRows(db, columns, where, ordered);
  const out: unknown[][] = [];
  let after: string | null = null;
  for (;;) {
    const page = await pageOf(columns, where, after).execute(db);
    const raw = page.rows[0]?.page ?? null;
    const rows = (raw === null ? [] : JSON.parse(raw)) as unknown[][];
    for (const r of rows) out.push(r);
    if (rows.length < PAGE) return out;
    after = rows[rows.length - 1]![0] as string;
  }
}

/** JSON columns, written `json(column)`: their text parsed. */
const JSON_COLUMN = /^json\((\w+)\)$/;

async function postgresRows(
  db: Db,
  columns: readonly string[],
  where: string | null,
  ordered: boolean,
): Promise<unknown[][]> {
  const list = columns.map((c, i) => `${c.replace(JSON_COLUMN, "$1")} as c${i}`).join(", ");
  const filter = where === null ? "" : ` where ${where}`;
  const { rows } = await sql
    .raw<Record<string, unknown>>(
      `select ${list} from non_human_identities${filter}${ordered ? " order by name" : ""}`,
    )
    .execute(db);
  const keys = columns.map((_, i) => `c${i}`);
  const parsed = columns.map((c) => JSON_COLUMN.test(c));
  // Plain loops: a closure per row and value is measurable over 100,000 rows.
  const out: unknown[][] = new Array(rows.length);
  for (let n = 0; n < rows.length; n++) {
    const r = rows[n]!;
    const values: unknown[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const v = r[keys[i]!];
      values[i] = parsed[i] ? JSON.parse(v as string) : v;
    }
    out[n] = values;
  }
  return out;
}

function pageOf(
  columns: readonly string[],
  where: string | null,
  after: string | null,
): RawBuilder<{ page: string | null }> {
  const conditions = [
    ...(where === null ? [] : [sql.raw(where)]),
    ...(after === null ? [] : [sql`name > ${after}`]),
  ];
  const filter = conditions.length === 0 ? sql`` : sql`where ${sql.join(conditions, sql` and `)}`;
  const row = sql.raw(`json_array(${columns.join(", ")})`);
  return sql<{
    page: string | null;
  }>`select json_group_array(${row} order by name) as page from (select * from non_human_identities ${filter} order by name limit ${PAGE}) page_rows`;
}
