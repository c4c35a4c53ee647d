import { CompiledQuery, sql } from "kysely";
import type { Db } from "./schema-types.js";

// Both SQLite (32,766) and PostgreSQL (65,535) cap bound parameters per statement.
const MAX_PARAMETERS = 30_000;

export interface BulkInsertSpec {
  table: string;
  /** Column names, in the order of each row's values. Trusted: they come from code, never input. */
  columns: readonly string[];
  /** `on conflict (…) do update` for an upsert: the conflict target and the columns to overwrite. */
  upsert?: { conflict: readonly string[]; update: readonly string[] };
  /** `on conflict (…) do nothing`: rows that already exist are left as they are. */
  ignoreConflicts?: readonly string[];
}

const textCache = new Map<string, string>();

function statement(spec: BulkInsertSpec, rows: number, dollar: boolean): string {
  const key = `${spec.table}|${spec.columns.join(",")}|${spec.upsert?.conflict.join(",")}|${spec.ignoreConflicts?.join(",")}|${rows}|${dollar}`;
  const cached = textCache.get(key);
  if (cached !== undefined) return cached;
  const width = spec.columns.length;
  const tuples: string[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const marks: string[] = new Array(width);
    for (let c = 0; c < width; c++) marks[c] = dollar ? `$${r * width + c + 1}` : "?";
    tuples[r] = `(${marks.join(", ")})`;
  }
  let text = `insert into ${spec.table} (${spec.columns.join(", ")}) values ${tuples.join(", ")}`;
  if (spec.upsert) {
    const sets = spec.upsert.update.map((c) => `${c} = excluded.${c}`).join(", ");
    text += ` on conflict (${spec.upsert.conflict.join(", ")}) do update set ${sets}`;
  } else if (spec.ignoreConflicts) {
    text += ` on conflict (${spec.ignoreConflicts.join(", ")}) do nothing`;
  }
  textCache.set(key, text);
  return text;
}

const dollarStyle = new WeakMap<object, boolean>();

/**
 * Whether `db` speaks PostgreSQL, asked of the dialect's compiler (how it writes a parameter) rather
 * than guessed from its class: only PostgreSQL writes $1 (and only it has row locks to skip).
 */
export function usesDollar(db: Db): boolean {
  return sql`select ${1}`.compile(db).sql.includes("$1");
}

/**
 * Inserts (or upserts) many rows with precompiled multi-row statements. Kysely's builder turns every
 * bound value into an AST node, which for 100,000 rows was most of a sync's write time; this keeps
 * values bound (never spliced into SQL) and reuses the statement text across chunks.
 */
export async function bulkInsert(
  db: Db,
  spec: BulkInsertSpec,
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<void> {
  if (rows.length === 0) return;
  let dollar = dollarStyle.get(db);
  if (dollar === undefined) {
    dollar = usesDollar(db);
    dollarStyle.set(db, dollar);
  }
  const width = spec.columns.length;
  const perChunk = Math.max(1, Math.floor(MAX_PARAMETERS / width));
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk = rows.slice(start, start + perChunk);
    const params: unknown[] = new Array(chunk.length * width);
    for (let r = 0; r < chunk.length; r++) {
      const row = chunk[r]!;
      for (let c = 0; c < width; c++) params[r * width + c] = row[c];
    }
    await db.executeQuery(CompiledQuery.raw(statement(spec, chunk.length, dollar), params));
  }
}
