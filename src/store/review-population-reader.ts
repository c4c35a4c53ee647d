import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { CompiledQuery } from "kysely";

/**
 * A SQLite connection of its own in a worker thread, for a review campaign's paged read of its
 * population (store/review-population-repository.ts): SQLite answers one page on the second core while
 * the campaign computes the page before (desired state, candidates, peers) on the first, where the
 * store's own connection would answer it in line. The connection only reads (`query_only`) and sees
 * what is committed when each statement starts, like any other reader in WAL mode.
 *
 * Rows come back as arrays of their columns in select order. A statement that fails rejects its
 * promise with SQLite's message; a worker that dies rejects everything asked of it, and every later
 * query.
 */
export interface ArrayRowReader {
  query(compiled: CompiledQuery): Promise<unknown[][]>;
  /**
   * Ends the thread (and its connection). A query still pending then never settles (a page asked for
   * ahead that nobody will await: rejecting it would be an unhandled rejection); later ones reject.
   */
  close(): Promise<void>;
}

/** The worker, as CommonJS source: it needs nothing of Tenure's but the driver, found by its path. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = 10000");
db.pragma("query_only = 1");
const statements = new Map();
parentPort.on("message", (m) => {
  try {
    let statement = statements.get(m.sql);
    if (statement === undefined) {
      statement = db.prepare(m.sql).raw(true);
      statements.set(m.sql, statement);
    }
    parentPort.postMessage({ id: m.id, rows: statement.all(...m.parameters) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

const driverPath = (): string => createRequire(import.meta.url).resolve("better-sqlite3");

/** Starts a reader of the SQLite file `file` (a store's, as `sqliteFileOf` gives it). */
export function openArrayRowReader(file: string): ArrayRowReader {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver: driverPath() } });
  const pending = new Map<number, { resolve: (rows: unknown[][]) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failure: Error | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on("message", (m: { id: number; rows?: unknown[][]; error?: string }) => {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.rows!);
  });
  let closed = false;
  worker.on("error", fail);
  worker.on("exit", (code) => {
    if (closed) pending.clear();
    fail(new Error(`the population reader's thread ended (exit code ${code})`));
  });
  return {
    query(compiled) {
      if (failure !== null) return Promise.reject(failure);
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, sql: compiled.sql, parameters: compiled.parameters });
      });
    },
    async close() {
      closed = true;
      await worker.terminate();
    },
  };
}
