import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import { type BulkInsertSpec, bulkInsert, usesDollar } from "./bulk-insert.js";
import { sqliteFileOf } from "./database.js";
import type { Database, Db } from "./schema-types.js";
import { openWorkerConnection, type WorkerConnection } from "./sqlite-worker-connection.js";

/**
 * One large write transaction — a review campaign's hundred thousand packs with its event and
 * notifications — whose SQLite work runs on the second core: on a SQLite store kept in a file, the
 * transaction is a connection of its own in a worker thread (store/sqlite-worker-connection.ts), and
 * the rows given to `insert` are sent to it without waiting for each batch, so SQLite inserts one batch
 * while the caller computes the next; the commit waits for them all. Everything else the transaction
 * runs (`trx`) is an ordinary Kysely transaction on that connection, answered in order.
 *
 * While it runs, the store's own connection is held, as by any transaction of the store: the process's
 * other store work waits for it, as it would for the transaction on the store's own connection (the
 * thread's connection holds SQLite's write lock). On PostgreSQL it is `db.transaction()` with the inserts
 * pipelined on its connection (the server inserts while the caller computes); in memory, inside a
 * transaction, or for fewer rows than a thread is worth starting for, `db.transaction()` with `insert` a
 * bulk insert.
 */

/** Rows to insert into `spec.table` in the transaction (single rows of `spec.columns`). */
export type TransactionInsert = (
  spec: Pick<BulkInsertSpec, "table" | "columns" | "jsonColumns">,
  rows: readonly unknown[][],
) => Promise<void>;

/** Rows below which a thread is not started: its start (tens of milliseconds) would cost more. */
export const WRITER_THREAD_ROWS = 5_000;

export async function largeWriteTransaction<T>(
  db: Db,
  expectedRows: number,
  /** `threadRows` absent: {@link WRITER_THREAD_ROWS}. */
  options: { threadRows?: number | undefined },
  fn: (trx: Db, insert: TransactionInsert) => Promise<T>,
): Promise<T> {
  const file = sqliteFileOf(db);
  if (file === null || expectedRows < (options.threadRows ?? WRITER_THREAD_ROWS)) {
    return db.transaction().execute((trx) =>
      usesDollar(trx)
        ? pipelined(trx, fn)
        : fn(trx, async (spec, rows) => {
            if (rows.length > 0) await bulkInsert(trx, spec, rows);
          }),
    );
  }
  // The store's connection held (no statement on it): the process's other store work waits, as it does
  // for any transaction, instead of meeting the thread's write lock (SQLITE_BUSY after the busy timeout).
  return db.connection().execute(async () => {
    const connection = openWorkerConnection(file, { readOnly: false });
    const writer = new Kysely<Database>({ dialect: threadDialect(connection) });
    let committed = false;
    try {
      const result = await writer
        .transaction()
        .execute((trx) =>
          fn(trx, (spec, rows) =>
            rows.length === 0 ? Promise.resolve() : connection.runEach(insertText(spec), rows),
          ),
        );
      committed = true;
      return result;
    } finally {
      // Committed: the thread copies the log into the database while the caller goes on.
      if (committed) connection.closeAfterCheckpoint();
      else await writer.destroy();
    }
  });
}

/** PostgreSQL inserts in flight at once on the transaction's connection. */
const PIPELINE_AHEAD = 4;

/**
 * PostgreSQL: each insert is sent on the transaction's connection without waiting for it (node-postgres
 * queues a connection's statements and runs them in order), so the server inserts one batch while the
 * caller computes the next; at most a few wait. The first failure is the transaction's: the next insert
 * throws it, and so does the end of the transaction, which waits for every insert before it commits.
 */
async function pipelined<T>(trx: Db, fn: (trx: Db, insert: TransactionInsert) => Promise<T>): Promise<T> {
  const inFlight = new Set<Promise<void>>();
  // Set by the inserts, asked after them (a cast: TypeScript would take it for null throughout).
  let failure = null as { error: unknown } | null;
  const insert: TransactionInsert = async (spec, rows) => {
    if (failure !== null) throw failure.error;
    if (rows.length === 0) return;
    const sent: Promise<void> = bulkInsert(trx, spec, rows).then(
      () => {
        inFlight.delete(sent);
      },
      (error: unknown) => {
        inFlight.delete(sent);
        failure ??= { error };
      },
    );
    inFlight.add(sent);
    while (inFlight.size >= PIPELINE_AHEAD) await Promise.race(inFlight);
  };
  let result: T;
  try {
    result = await fn(trx, insert);
  } catch (error) {
    await Promise.all(inFlight);
    // After a failed insert PostgreSQL refuses the rest of the transaction: the insert's error says why.
    throw failure?.error ?? error;
  }
  await Promise.all(inFlight);
  if (failure !== null) throw failure.error;
  return result;
}

const insertTexts = new Map<string, string>();

function insertText(spec: Pick<BulkInsertSpec, "table" | "columns">): string {
  const key = `${spec.table}|${spec.columns.join(",")}`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    text = `insert into ${spec.table} (${spec.columns.join(", ")}) values (${spec.columns.map(() => "?").join(", ")})`;
    insertTexts.set(key, text);
  }
  return text;
}

/** Kysely over the thread's one connection (one transaction at a time uses it: no pool, no mutex). */
function threadDialect(connection: WorkerConnection): Dialect {
  const conn: DatabaseConnection = {
    async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
      const r = await connection.query(compiled);
      // As Kysely's SQLite driver answers (rows for a statement that returns them, else the changes).
      if (r.rows !== undefined) return { rows: r.rows as R[] };
      return { rows: [], numAffectedRows: BigInt(r.changes ?? 0), insertId: BigInt(r.lastInsertRowid ?? 0) };
    },
    // biome-ignore lint/correctness/useYield: streaming is not offered by the thread's connection.
    async *streamQuery() {
      throw new Error("the writer thread's connection does not stream");
    },
  };
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => conn,
    // Takes the write lock at once, as the store's transactions do (sqlite-immediate-dialect.ts).
    beginTransaction: async (c) => void (await c.executeQuery(CompiledQuery.raw("begin immediate"))),
    commitTransaction: async (c) => void (await c.executeQuery(CompiledQuery.raw("commit"))),
    rollbackTransaction: async (c) => void (await c.executeQuery(CompiledQuery.raw("rollback"))),
    releaseConnection: async () => {},
    destroy: () => connection.close(),
  };
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}
