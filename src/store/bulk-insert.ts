import { CompiledQuery, sql } from "kysely";
import type { Db } from "./schema-types.js";

// Both SQLite (32,766) and PostgreSQL (65,535) cap bound parameters per statement.
const MAX_PARAMETERS = 30_000;
// PostgreSQL takes each column as one JSON array parameter: this many rows a statement at most.
const COLUMN_ROWS = 5_000;
// SQLite statement texts kept for reuse: the full chunk's, and short ones (a text of n rows is n × width marks).
const CACHED_ROWS = 64;

export interface BulkInsertSpec {
  table: string;
  /** Column names, in the order of each row's values. Trusted: they come from code, never input. */
  columns: readonly string[];
  /** `on conflict (…) do update` for an upsert: the conflict target and the columns to overwrite. */
  upsert?: { conflict: readonly string[]; update: readonly string[] };
  /** `on conflict (…) do nothing`: rows that already exist are left as they are. */
  ignoreConflicts?: readonly string[];
  /** Columns of the rows written to return (with `ignoreConflicts`, the rows skipped are not returned). */
  returning?: readonly string[];
  /**
   * Columns whose values are JSON texts (never null), stored as text as they are. PostgreSQL gets such a
   * column as one text, its values separated by U+001E (which JSON never holds unescaped), split by the
   * server: nothing escaped here nor parsed there, where a column of JSON strings escaped a campaign's
   * 226 MB of packed items (1.5 s of its main thread) and as JSON elements made the server parse them.
   * SQLite binds them as any text. A value that is not a text, or holds U+001E, is refused.
   */
  jsonColumns?: readonly string[];
}

const textCache = new Map<string, string>();

function conflictClause(spec: BulkInsertSpec): string {
  let text = "";
  if (spec.upsert) {
    const sets = spec.upsert.update.map((c) => `${c} = excluded.${c}`).join(", ");
    text += ` on conflict (${spec.upsert.conflict.join(", ")}) do update set ${sets}`;
  } else if (spec.ignoreConflicts) {
    text += ` on conflict (${spec.ignoreConflicts.join(", ")}) do nothing`;
  }
  if (spec.returning) text += ` returning ${spec.returning.join(", ")}`;
  return text;
}

function specKey(spec: BulkInsertSpec): string {
  return `${spec.table}|${spec.columns.join(",")}|${spec.upsert?.conflict.join(",")}|${spec.upsert?.update.join(",")}|${spec.ignoreConflicts?.join(",")}|${spec.returning?.join(",")}|${spec.jsonColumns?.join(",")}`;
}

/** SQLite: a multi-row VALUES statement of `rows` rows of `?`. */
function valuesStatement(spec: BulkInsertSpec, rows: number, full: boolean): string {
  const key = `${specKey(spec)}|${rows}`;
  const cached = textCache.get(key);
  if (cached !== undefined) return cached;
  const tuple = `(${new Array(spec.columns.length).fill("?").join(", ")})`;
  const text = `insert into ${spec.table} (${spec.columns.join(", ")}) values ${new Array(rows).fill(tuple).join(", ")}${conflictClause(spec)}`;
  // Batches end in any size: texts of every size seen would pile up in a long-running process.
  if (full || rows <= CACHED_ROWS) textCache.set(key, text);
  return text;
}

/**
 * PostgreSQL: one statement whatever the number of rows, each column bound as one JSON array whose
 * elements `rows from (json_array_elements_text(…), …)` zips back into rows, cast to the column types.
 */
function columnsStatement(spec: BulkInsertSpec, types: ReadonlyMap<string, string>): string {
  // The types are part of the text: stores at other versions of a table get a text of their own.
  const key = `columns|${specKey(spec)}|${spec.columns.map((c) => types.get(c)).join(",")}`;
  const cached = textCache.get(key);
  if (cached !== undefined) return cached;
  const values = spec.columns.map((c, k) => {
    const type = types.get(c);
    if (type === undefined) throw new Error(`bulk insert: ${spec.table} has no column ${c}`);
    return `c${k}::${type}`;
  });
  const arrays = spec.columns.map((c, k) =>
    spec.jsonColumns?.includes(c)
      ? `string_to_table($${k + 1}::text, E'\\x1e')`
      : `json_array_elements_text($${k + 1}::json)`,
  );
  const names = spec.columns.map((_, k) => `c${k}`);
  const text = `insert into ${spec.table} (${spec.columns.join(", ")}) select ${values.join(", ")} from rows from (${arrays.join(", ")}) as r(${names.join(", ")})${conflictClause(spec)}`;
  textCache.set(key, text);
  return text;
}

/**
 * Whether `db` speaks PostgreSQL, asked of the dialect's compiler (how it writes a parameter) rather
 * than guessed from its class: only PostgreSQL writes $1 (and only it has row locks to skip).
 */
export function usesDollar(db: Db): boolean {
  // Asked once per store (its adapter, which its transactions share): compiling costs more than a claim's statement.
  const adapter = db.getExecutor().adapter;
  let known = dollarDialects.get(adapter);
  if (known === undefined) {
    known = sql`select ${1}`.compile(db).sql.includes("$1");
    dollarDialects.set(adapter, known);
  }
  return known;
}

const dollarDialects = new WeakMap<object, boolean>();

/** What a store's catalogue says of its tables: their columns' SQL types, by table and column. */
interface Catalogue {
  /** Every table of the store's schema (the first on its search path), read at the first insert. */
  schema?: Promise<ReadonlyMap<string, ReadonlyMap<string, string>>>;
  /** Tables read alone: found elsewhere on the search path, or changed since the schema was read. */
  tables: Map<string, Promise<ReadonlyMap<string, string>>>;
}

/** Per store (its Kysely adapter, which its transactions share): whether it is PostgreSQL, its catalogue. */
const dialects = new WeakMap<object, { postgres: boolean; catalogue: Catalogue }>();

function dialectOf(db: Db): { postgres: boolean; catalogue: Catalogue } {
  const adapter = db.getExecutor().adapter;
  let known = dialects.get(adapter);
  if (known === undefined) {
    known = { postgres: usesDollar(db), catalogue: { tables: new Map() } };
    dialects.set(adapter, known);
  }
  return known;
}

/** Every table of the store's schema (the first on its search path): its columns' types. Read once. */
function schemaTypes(
  db: Db,
  catalogue: Catalogue,
): Promise<ReadonlyMap<string, ReadonlyMap<string, string>>> {
  catalogue.schema ??= sql<{ table: string; name: string; type: string }>`select c.relname as table,
      a.attname as name, format_type(a.atttypid, a.atttypmod) as type
    from pg_attribute a join pg_class c on c.oid = a.attrelid
    where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
      and a.attnum > 0 and not a.attisdropped`
    .execute(db)
    .then((r) => {
      const byTable = new Map<string, Map<string, string>>();
      for (const c of r.rows) {
        const types = byTable.get(c.table) ?? new Map<string, string>();
        types.set(c.name, c.type);
        byTable.set(c.table, types);
      }
      return byTable;
    })
    .catch((err: unknown) => {
      // Not kept when it failed (in a transaction aborted meanwhile, say): the next insert asks again.
      catalogue.schema = undefined;
      throw err;
    });
  return catalogue.schema;
}

/**
 * The SQL type of each of `columns` of `table`, from the catalogue: each column's values are cast to
 * its type, as bound values would be. Read once per store — every table of its schema at the first
 * insert — and again for a table when a column is missing (a migration added it since) or the table is
 * elsewhere on the search path (a temporary table).
 */
async function columnTypes(
  db: Db,
  catalogue: Catalogue,
  table: string,
  columns: readonly string[],
): Promise<ReadonlyMap<string, string>> {
  const complete = (types: ReadonlyMap<string, string> | undefined) =>
    types !== undefined && columns.every((c) => types.has(c));
  const inSchema = (await schemaTypes(db, catalogue)).get(table);
  if (complete(inSchema)) return inSchema!;
  let alone = catalogue.tables.get(table);
  if (alone === undefined || !complete(await alone.catch(() => undefined))) {
    alone = sql<{
      name: string;
      type: string;
    }>`select attname as name, format_type(atttypid, atttypmod) as type
      from pg_attribute where attrelid = ${table}::regclass and attnum > 0 and not attisdropped`
      .execute(db)
      .then((r) => new Map(r.rows.map((c) => [c.name, c.type])));
    catalogue.tables.set(table, alone);
  }
  return alone;
}

/**
 * Reads now what {@link bulkInsert} needs of the catalogue (PostgreSQL: the column types of the store's
 * tables, once per store), so that an insert queued later among other statements goes out at once.
 */
export async function prepareBulkInsert(db: Db): Promise<void> {
  const dialect = dialectOf(db);
  if (dialect.postgres) await schemaTypes(db, dialect.catalogue);
}

type Row = readonly unknown[] | object;

/** The value of column `c` of `row`: by position in an array, by name in an object. */
function columnValue(row: Row, columns: readonly string[], c: number): unknown {
  return Array.isArray(row) ? row[c] : (row as Readonly<Record<string, unknown>>)[columns[c]!];
}

// JSON.stringify writes a lone surrogate as an escape (`\udxxx`), which PostgreSQL's JSON functions
// refuse; a bound text parameter carries U+FFFD in its place, and so does a column written here.
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * The value of JSON column `c` of `row`, refused unless a text without U+001E: JSON never holds that
 * character unescaped, and PostgreSQL gets a JSON column as its texts separated by it.
 */
function jsonText(row: Row, spec: BulkInsertSpec, c: number): string {
  const text = columnValue(row, spec.columns, c);
  if (typeof text !== "string" || text === "" || text.includes(RECORD_SEPARATOR))
    throw new Error(`bulk insert: ${spec.table}.${spec.columns[c]} takes JSON texts`);
  return text;
}

const RECORD_SEPARATOR = "\x1e";

/** One column of `rows` as a JSON array (null for a missing value); a JSON column as its texts, separated. */
function columnJson(rows: readonly Row[], spec: BulkInsertSpec, c: number): string {
  const { columns } = spec;
  if (spec.jsonColumns?.includes(columns[c]!)) {
    const texts: string[] = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) texts[r] = jsonText(rows[r]!, spec, c);
    return texts.join(RECORD_SEPARATOR);
  }
  const values: unknown[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) values[r] = columnValue(rows[r]!, columns, c) ?? null;
  const json = JSON.stringify(values);
  if (!json.includes("\\ud")) return json;
  return JSON.stringify(values.map((v) => (typeof v === "string" ? v.replace(LONE_SURROGATE, "\ufffd") : v)));
}

/**
 * Inserts (or upserts) many rows. Kysely's builder turns every bound value into an AST node, which for
 * 100,000 rows was most of a sync's write time; this keeps values bound (never spliced into SQL) and
 * reuses the statement text. SQLite takes multi-row VALUES statements of up to 30,000 parameters.
 * PostgreSQL takes one statement of up to 5,000 rows, each column one JSON array parameter zipped back
 * into rows in the server: no statement of tens of thousands of placeholders to parse, nor as many
 * VALUES rows to plan. Measured on 4,000 – 20,000 rows of the scan's and a sync's tables (CPU of the
 * server and of this process together), it costs as much as multi-row VALUES for narrow rows and a
 * third less for wide ones (accounts), with less of it in the server throughout; `unnest` of array
 * literals (quoted element by element here) and `json_populate_recordset` cost more (docs/performance.md,
 * separation of duties). A row is its values in the order of `columns`, or an object holding them by
 * column name (other keys are not read); values are strings, numbers or null. Returns the `returning`
 * columns of the rows written.
 */
export async function bulkInsert<R = Record<string, unknown>>(
  db: Db,
  spec: BulkInsertSpec,
  rows: ReadonlyArray<readonly unknown[]> | ReadonlyArray<object>,
): Promise<R[]> {
  const out: R[] = [];
  if (rows.length === 0) return out;
  const collect = (result: { rows: unknown[] }) => {
    if (spec.returning) for (const row of result.rows) out.push(row as R);
  };
  const dialect = dialectOf(db);
  if (dialect.postgres) {
    const text = columnsStatement(spec, await columnTypes(db, dialect.catalogue, spec.table, spec.columns));
    for (let start = 0; start < rows.length; start += COLUMN_ROWS) {
      const chunk: readonly Row[] = rows.slice(start, start + COLUMN_ROWS);
      const columns = spec.columns.map((_, c) => columnJson(chunk, spec, c));
      collect(await db.executeQuery(CompiledQuery.raw(text, columns)));
    }
    return out;
  }
  const width = spec.columns.length;
  const perChunk = Math.max(1, Math.floor(MAX_PARAMETERS / width));
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk: readonly Row[] = rows.slice(start, start + perChunk);
    const params: unknown[] = new Array(chunk.length * width);
    for (let r = 0; r < chunk.length; r++) {
      for (let c = 0; c < width; c++) params[r * width + c] = columnValue(chunk[r]!, spec.columns, c);
    }
    for (const column of spec.jsonColumns ?? []) {
      const c = spec.columns.indexOf(column);
      for (const r of chunk) jsonText(r, spec, c);
    }
    const text = valuesStatement(spec, chunk.length, chunk.length === perChunk);
    collect(await db.executeQuery(CompiledQuery.raw(text, params)));
  }
  return out;
}

/**
 * {@link bulkInsert} of `rows`, then `then` (a statement without its own result, e.g. an update): on
 * PostgreSQL, when the rows fit one statement, both go as one — the insert a data-modifying `with` of
 * the update — so a caller holding a lock for them holds it one round trip; otherwise one after the
 * other, in the caller's transaction.
 */
export async function bulkInsertThen(
  db: Db,
  spec: BulkInsertSpec,
  rows: ReadonlyArray<readonly unknown[]> | ReadonlyArray<object>,
  then: CompiledQuery,
): Promise<void> {
  const dialect = dialectOf(db);
  if (!dialect.postgres || rows.length === 0 || rows.length > COLUMN_ROWS || spec.returning) {
    await bulkInsert(db, spec, rows);
    await db.executeQuery(then);
    return;
  }
  const insert = columnsStatement(spec, await columnTypes(db, dialect.catalogue, spec.table, spec.columns));
  const width = spec.columns.length;
  // `then`'s own parameters follow the columns' arrays.
  const text = `with inserted as (${insert}) ${then.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + width}`)}`;
  const columns = spec.columns.map((_, c) => columnJson(rows as readonly Row[], spec, c));
  await db.executeQuery(CompiledQuery.raw(text, [...columns, ...then.parameters]));
}
