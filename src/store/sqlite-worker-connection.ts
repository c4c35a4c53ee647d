import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * A SQLite connection of its own in a worker thread: SQLite's work on the second core while the main
 * thread computes. A review campaign reads its population through one (read-only, a page ahead of the
 * compute) and writes its items through another (store/large-write-transaction.ts). The connection sees
 * what is committed when each statement starts, like any other connection in WAL mode.
 *
 * A statement that fails rejects its promise with SQLite's message. Rows sent with `runEach` are not
 * answered one by one: the first failure among them fails every later query until a `rollback`, so a
 * transaction that wrote them learns of it at its next query or at its commit. A worker that dies
 * rejects everything asked of it, and every later query.
 */

export interface WorkerQueryResult {
  /** The rows of a statement that returns rows: objects by column name, or arrays when asked `raw`. */
  rows?: unknown[];
  /** A statement that returns no rows: the rows it changed, and the last rowid inserted. */
  changes?: number;
  lastInsertRowid?: number | bigint;
}

export interface WorkerConnection {
  query(
    statement: { sql: string; parameters: readonly unknown[] },
    raw?: boolean,
  ): Promise<WorkerQueryResult>;
  /**
   * Runs `sql` once per row of `rows`, in order after everything sent before, without an answer per
   * row. Resolves as soon as fewer than a few batches wait in the thread (so a writer faster than SQLite
   * holds a bounded queue, not the whole campaign).
   */
  runEach(sql: string, rows: readonly (readonly unknown[])[]): Promise<void>;
  /**
   * Ends the thread once it has copied the write-ahead log into the database (a checkpoint, which a
   * writer's commits leave undone: see `openWorkerConnection`), without waiting for it: the caller goes
   * on while SQLite copies a large transaction's pages on the other core. The thread does not keep the
   * process alive; a process that ends first leaves the log to the store's own connection, which
   * checkpoints when it closes.
   */
  closeAfterCheckpoint(): void;
  /** Lets the process end while the thread still runs (a helper of a server, stopped when it closes). */
  unref(): void;
  /**
   * Ends the thread (and its connection: SQLite rolls back a transaction still open). A query still
   * pending then never settles (a page asked for ahead that nobody will await: rejecting it would be an
   * unhandled rejection); later ones reject.
   */
  close(): Promise<void>;
}

/** Batches of `runEach` in the thread at most before the sender waits. */
const RUN_EACH_AHEAD = 4;

/** The worker, as CommonJS source: it needs nothing of Tenure's but the driver, found by its path. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = 10000");
if (workerData.readOnly) db.pragma("query_only = 1");
else {
  // As the store's own connection (store/database.ts), but its commits leave the checkpoint to
  // closeAfterCheckpoint: a large transaction's commit would copy every page it wrote once more first.
  db.pragma("foreign_keys = ON");
  db.pragma("synchronous = NORMAL");
  db.pragma("cache_size = -65536");
  db.pragma("wal_autocheckpoint = 0");
}
const statements = new Map();
const prepared = (sql) => {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
};
// SQLite's words and its code (SQLITE_CONSTRAINT_UNIQUE…), which the store's error checks read.
const described = (error) => ({
  error: error instanceof Error ? error.message : String(error),
  code: typeof error?.code === "string" ? error.code : undefined,
});
// The first failure of rows sent without an answer: every later query fails with it until a rollback.
let failure = null;
parentPort.on("message", (m) => {
  if (m.checkpoint === true) {
    // PASSIVE: copies what no reader still needs, never waits for a reader or blocks a writer.
    try {
      db.pragma("wal_checkpoint(PASSIVE)");
    } finally {
      db.close();
      parentPort.close();
    }
    return;
  }
  if (m.rows !== undefined) {
    if (failure === null) {
      try {
        const statement = prepared(m.sql);
        for (const row of m.rows) statement.run(...row);
      } catch (error) {
        failure = described(error);
      }
    }
    parentPort.postMessage({ ack: true });
    return;
  }
  try {
    const rollback = /^\\s*rollback\\b/i.test(m.sql);
    if (failure !== null && !rollback) {
      parentPort.postMessage({ id: m.id, ...failure });
      return;
    }
    if (rollback) failure = null;
    const statement = prepared(m.sql);
    if (statement.reader) {
      parentPort.postMessage({ id: m.id, rows: statement.raw(m.raw).all(...m.parameters) });
    } else {
      const { changes, lastInsertRowid } = statement.run(...m.parameters);
      parentPort.postMessage({ id: m.id, changes, lastInsertRowid });
    }
  } catch (error) {
    parentPort.postMessage({ id: m.id, ...described(error) });
  }
});
`;

const driverPath = (): string => createRequire(import.meta.url).resolve("better-sqlite3");

interface Answer extends WorkerQueryResult {
  id?: number;
  error?: string;
  code?: string;
  ack?: true;
}

/**
 * Starts a connection to the SQLite file `file` (a store's, as `sqliteFileOf` gives it) in a thread:
 * `readOnly` for reads only; otherwise a writer, whose commits do not checkpoint (`closeAfterCheckpoint`).
 */
export function openWorkerConnection(file: string, options: { readOnly: boolean }): WorkerConnection {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, driver: driverPath(), readOnly: options.readOnly },
  });
  const pending = new Map<number, { resolve: (r: WorkerQueryResult) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failure: Error | null = null;
  let ahead = 0;
  let room: Array<() => void> = [];
  const fail = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    const waiting = room;
    room = [];
    for (const go of waiting) go();
  };
  worker.on("message", (m: Answer) => {
    if (m.ack === true) {
      ahead--;
      room.shift()?.();
      return;
    }
    const p = pending.get(m.id!);
    if (p === undefined) return;
    pending.delete(m.id!);
    if (m.error !== undefined)
      p.reject(Object.assign(new Error(m.error), m.code === undefined ? {} : { code: m.code }));
    else p.resolve(m);
  });
  let closed = false;
  worker.on("error", fail);
  worker.on("exit", (code) => {
    if (closed) pending.clear();
    fail(new Error(`the SQLite connection's thread ended (exit code ${code})`));
  });
  return {
    query(statement, raw = false) {
      if (failure !== null) return Promise.reject(failure);
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, sql: statement.sql, parameters: statement.parameters, raw });
      });
    },
    async runEach(sql, rows) {
      if (failure !== null) throw failure;
      ahead++;
      worker.postMessage({ sql, rows });
      // A failure meanwhile releases the wait; the next query reports it.
      if (ahead > RUN_EACH_AHEAD) await new Promise<void>((go) => room.push(go));
    },
    closeAfterCheckpoint() {
      closed = true;
      worker.unref();
      worker.postMessage({ checkpoint: true });
    },
    unref() {
      worker.unref();
    },
    async close() {
      closed = true;
      await worker.terminate();
    },
  };
}
