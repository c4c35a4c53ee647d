import { createHash, randomUUID } from "node:crypto";
import os from "node:os";
import { sql } from "kysely";
import { TenureError } from "../shared/errors.js";
import type { Db, RunLocksTable } from "./schema-types.js";
import type { Store } from "./store-types.js";

/** Who holds a run lock, as said in messages: `pid 123 on host h, tenure sync, since 2026-…`. */
export interface RunHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/**
 * Another process runs `what` on this store now. Nothing was done. CLI exit 1; API 409 with the code
 * `<what>_running` (`sync_running`).
 */
export class RunInProgressError extends TenureError {
  readonly holder: RunHolder | undefined;
  constructor(what: string, where: string, holder: RunHolder | undefined) {
    super(
      `${what}_running`,
      `a ${what} is running on ${where}${holder ? ` (${describeHolder(holder)})` : ""}; nothing was done — try again when it has finished`,
      { exitCode: 1, httpStatus: 409 },
    );
    this.holder = holder;
  }
}

export function describeHolder(h: RunHolder): string {
  return `pid ${h.pid} on host ${h.host}, ${h.command}, since ${h.since}`;
}

export interface RunLockOptions {
  /** What the holder runs, for the other process's message (`tenure sync`, `api POST /api/sync`). */
  command: string;
  now: Date;
}

/**
 * Runs `fn` while holding the store-wide lock named `what` (`sync`), so two processes on one store never
 * run it at once: a second one gets RunInProgressError at once, naming the holder, and does nothing.
 *
 * PostgreSQL: `pg_try_advisory_lock` on a connection of its own (keys: Tenure's run-lock class and a
 * hash of schema and name), held until `fn` settles; PostgreSQL releases it if the process dies. A row
 * in `run_locks` says who holds it. SQLite: the row in `run_locks` is the lock (one atomic insert); a
 * row left by a process that died on this host is taken over. Either way the row is removed when `fn`
 * settles, whether it resolved or threw.
 */
export async function withRunLock<T>(
  store: Pick<Store, "db" | "kind" | "describe" | "schema">,
  what: string,
  options: RunLockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const row: RunLocksTable = {
    name: what,
    token: randomUUID(),
    pid: process.pid,
    host: os.hostname(),
    command: options.command,
    acquired_at: options.now.toISOString(),
  };
  if (store.kind === "postgres") return withAdvisoryLock(store, row, fn);
  if (!(await takeRow(store.db, row))) {
    throw new RunInProgressError(what, store.describe, await runHolder(store.db, what));
  }
  try {
    return await fn();
  } finally {
    await releaseRow(store.db, row);
  }
}

/**
 * A sync under the store's `sync` lock (the CLI's and the API's): another process's sync makes this one
 * a RunInProgressError (`sync_running`). A dry run changes nothing, so it runs without the lock.
 */
export function withSyncLock<T>(
  store: Pick<Store, "db" | "kind" | "describe" | "schema">,
  options: RunLockOptions & { dryRun: boolean },
  fn: () => Promise<T>,
): Promise<T> {
  if (options.dryRun) return fn();
  return withRunLock(store, "sync", { command: options.command, now: options.now }, fn);
}

/** The holder of the lock `what`, if a process holds it (read without waiting for writers). */
export async function runHolder(db: Db, what: string): Promise<RunHolder | undefined> {
  const r = await db.selectFrom("run_locks").selectAll().where("name", "=", what).executeTakeFirst();
  return r && { pid: Number(r.pid), host: r.host, command: r.command, since: r.acquired_at };
}

// 'TnRn' in ASCII: the first key of every run lock, apart from the scheduler's leadership lock.
const RUN_LOCK_CLASS = 0x546e526e;

async function withAdvisoryLock<T>(
  store: Pick<Store, "db" | "describe" | "schema">,
  row: RunLocksTable,
  fn: () => Promise<T>,
): Promise<T> {
  return store.db.connection().execute(async (conn) => {
    const schema =
      store.schema ??
      (await sql<{ schema: string }>`select current_schema() as schema`.execute(conn)).rows[0]?.schema ??
      "public";
    const key = createHash("sha256").update(`${schema}\0${row.name}`).digest().readInt32BE(0) & 0x7fffffff;
    const { rows } = await sql<{
      ok: boolean;
    }>`select pg_try_advisory_lock(${RUN_LOCK_CLASS}::int4, ${key}::int4) as ok`.execute(conn);
    if (rows[0]?.ok !== true) {
      throw new RunInProgressError(row.name, store.describe, await runHolder(conn, row.name));
    }
    try {
      await conn.transaction().execute(async (trx) => {
        await trx.deleteFrom("run_locks").where("name", "=", row.name).execute();
        await trx.insertInto("run_locks").values(row).execute();
      });
      try {
        return await fn();
      } finally {
        await releaseRow(conn, row);
      }
    } finally {
      // A connection that broke has lost the lock already (it goes with the session); the run's own
      // outcome, not the unlock's failure, is what the caller must see.
      await sql`select pg_advisory_unlock(${RUN_LOCK_CLASS}::int4, ${key}::int4)`
        .execute(conn)
        .catch(() => {});
    }
  });
}

/** SQLite: takes the lock row; a row whose holder died on this host is removed first. */
async function takeRow(db: Db, row: RunLocksTable): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const inserted = await db
      .insertInto("run_locks")
      .values(row)
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return true;
    const held = await db.selectFrom("run_locks").selectAll().where("name", "=", row.name).executeTakeFirst();
    if (held === undefined) continue;
    if (!diedHere(held)) return false;
    await db.deleteFrom("run_locks").where("name", "=", row.name).where("token", "=", held.token).execute();
  }
  return false;
}

async function releaseRow(db: Db, row: RunLocksTable): Promise<void> {
  await db.deleteFrom("run_locks").where("name", "=", row.name).where("token", "=", row.token).execute();
}

/** Whether the holder was a process on this host that no longer exists (it crashed or was killed). */
function diedHere(held: RunLocksTable): boolean {
  if (held.host !== os.hostname()) return false;
  try {
    process.kill(Number(held.pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
