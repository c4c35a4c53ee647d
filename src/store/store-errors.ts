import { TenureError } from "../shared/errors.js";
import { describeHolder, runHolder } from "./run-lock.js";
import type { Db } from "./schema-types.js";

/**
 * The store named by `database:` is not Tenure's: a file that does not exist, an empty database, or
 * another application's tables. Nothing was written to it. Only `tenure init` and `tenure demo` create
 * Tenure's schema, and never in a database that holds someone else's tables.
 */
export class NotATenureStoreError extends TenureError {
  constructor(message: string) {
    super("not_a_tenure_store", message, { exitCode: 1, httpStatus: 500 });
  }
}

/**
 * The store answered with a failure of its own — busy (another process holds the write lock past the
 * busy timeout), damaged, full, unreachable — said in one line that names the store. `cause` keeps the
 * driver's error for logs; the message never holds a password.
 */
export class StoreFailureError extends TenureError {}

interface DriverError {
  code?: unknown;
  message?: unknown;
}

/**
 * Turns a driver error (better-sqlite3's SqliteError, pg's DatabaseError, a Node system error) into a
 * StoreFailureError naming `where` (the store's `describe`), or returns `undefined` when it is not a
 * failure of the store itself (a constraint violation is a bug to report, not a store condition).
 * `busyHolder`, when known, says which process holds the lock (`pid 123 on host h, tenure sync`).
 */
export function storeFailure(
  err: unknown,
  where: string,
  busyHolder?: string,
): StoreFailureError | undefined {
  if (err instanceof TenureError || typeof err !== "object" || err === null) return undefined;
  const e = err as DriverError;
  const code = typeof e.code === "string" ? e.code : "";
  const said = typeof e.message === "string" ? e.message : String(err);
  const fail = (c: string, message: string, httpStatus: number) =>
    new StoreFailureError(c, message, { exitCode: 1, httpStatus, cause: err });
  if (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED") {
    const who = busyHolder ? ` (${busyHolder})` : "";
    return fail(
      "store_busy",
      `another tenure process${who} is writing to ${where} and did not finish within the busy timeout; try again when it has finished`,
      503,
    );
  }
  if (code === "SQLITE_CORRUPT" || code.startsWith("SQLITE_CORRUPT_") || code === "SQLITE_NOTADB") {
    return fail(
      "store_corrupt",
      `${where} is damaged or not a SQLite database (${said}); restore it from a backup`,
      500,
    );
  }
  if (code === "SQLITE_FULL" || code === "ENOSPC" || code === "53100") {
    return fail(
      "store_full",
      `the disk holding ${where} is full (${said}); the change in progress was not written — free space and run again`,
      507,
    );
  }
  if (code === "SQLITE_CANTOPEN" || code.startsWith("SQLITE_CANTOPEN_")) {
    return fail("store_unavailable", `cannot open ${where}: ${said}`, 503);
  }
  if (code === "SQLITE_READONLY" || code.startsWith("SQLITE_READONLY_")) {
    return fail(
      "store_unavailable",
      `${where} is read-only here (${said}); tenure needs to write to it`,
      503,
    );
  }
  if (code.startsWith("SQLITE_IOERR")) {
    return fail("store_io", `reading or writing ${where} failed (${code}: ${said})`, 500);
  }
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "57P03") {
    return fail("store_unavailable", `cannot reach the database ${where} (${code})`, 503);
  }
  return undefined;
}

/**
 * `storeFailure` for an error thrown while `store` is open: when the store is busy, it also says which
 * process holds the sync lock, if one does (read without waiting: SQLite readers do not wait for writers).
 */
export async function explainStoreError(err: unknown, store: { db: Db; describe: string }): Promise<unknown> {
  const failure = storeFailure(err, store.describe);
  if (failure?.code !== "store_busy") return failure ?? err;
  const holder = await runHolder(store.db, "sync").catch(() => undefined);
  return holder ? storeFailure(err, store.describe, `${describeHolder(holder)}`) : failure;
}

/** Whether a database error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505";
}
