import { sql } from "kysely";
import { sqliteFileOf } from "./database.js";
import type { Db } from "./schema-types.js";
import { openWorkerConnection, type WorkerConnection } from "./sqlite-worker-connection.js";

/**
 * A long-running process's SQLite store checkpoints its write-ahead log from a thread of its own. By
 * default SQLite copies the log into the database inside the commit that takes the log past 1,000 pages
 * (`wal_autocheckpoint`): on the event loop, in the commit of whichever push or operation happened to
 * cross it (a burst of SCIM creates spent about 56 µs a push there, docs/performance.md). Here a thread
 * runs a PASSIVE checkpoint every `intervalMs` (it waits for no reader and blocks no writer), and the
 * store's own connection keeps an automatic checkpoint only as a bound, at `boundPages`: under writes
 * that never pause, the thread's checkpoints leave the last frames behind, and the log restarts only
 * once a checkpoint has copied all of it.
 *
 * A checkpoint that fails (the thread died, the file is gone) is reported once, and the store's own
 * connection takes its checkpoints back. A store in memory or on PostgreSQL has nothing to checkpoint:
 * `stop` is then all there is.
 */

/** How often the thread checkpoints. */
const INTERVAL_MS = 250;
/** The store's own connection still checkpoints past this many pages (80 MB of 4 kB pages). */
const BOUND_PAGES = 20_000;
/** SQLite's default, put back when the thread stops. */
const DEFAULT_AUTOCHECKPOINT = 1_000;

export interface Checkpointer {
  /** Stops the thread (after its checkpoint in progress) and gives the store its own checkpoints back. */
  stop(): Promise<void>;
}

export async function startCheckpointer(
  db: Db,
  options: {
    intervalMs?: number;
    boundPages?: number;
    onError?: (err: unknown) => void;
    /** The thread's connection to `file` (tests give one whose checkpoints fail). */
    connect?: (file: string) => WorkerConnection;
  } = {},
): Promise<Checkpointer> {
  const file = sqliteFileOf(db);
  if (file === null) return { stop: async () => {} };
  const connection = (options.connect ?? ((f) => openWorkerConnection(f, { readOnly: false })))(file);
  connection.unref();
  await sql.raw(`pragma wal_autocheckpoint = ${options.boundPages ?? BOUND_PAGES}`).execute(db);
  const giveBack = () => sql.raw(`pragma wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`).execute(db);
  let running: Promise<unknown> | null = null;
  let failed = false;
  const timer = setInterval(() => {
    // After a failure the timer is cleared before `running` is let go: no tick comes after it.
    if (running !== null) return;
    running = connection
      .query({ sql: "pragma wal_checkpoint(PASSIVE)", parameters: [] })
      .catch(async (err) => {
        failed = true;
        clearInterval(timer);
        options.onError?.(err);
        await giveBack();
      })
      .finally(() => {
        running = null;
      });
  }, options.intervalMs ?? INTERVAL_MS);
  timer.unref();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await running;
        await connection.close();
        if (!failed) await giveBack();
      })();
      return stopped;
    },
  };
}
