import type { CompiledQuery } from "kysely";
import { openWorkerConnection } from "./sqlite-worker-connection.js";

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

/** Starts a reader of the SQLite file `file` (a store's, as `sqliteFileOf` gives it). */
export function openArrayRowReader(file: string): ArrayRowReader {
  const connection = openWorkerConnection(file, { readOnly: true });
  return {
    async query(compiled) {
      // A statement that returns no rows (a write) is refused: it would have been refused by SQLite.
      const { rows } = await connection.query(compiled, true);
      if (rows === undefined) throw new Error("the population reader only reads");
      return rows as unknown[][];
    },
    close: () => connection.close(),
  };
}
