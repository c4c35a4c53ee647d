import { redactSecrets } from "../../shared/redact.js";
import { ConnectorError } from "../connector-types.js";
import {
  AUTH,
  CONFLICT,
  type DriverErrorRules,
  type ErrorClass,
  INVALID,
  OTHER,
  PERMISSION,
  SOCKET_CODES,
  UNREACHABLE,
  wrapDriverError,
} from "../error-classes.js";

/** How a database failure is reported: the ConnectorError kind and whether trying again can help. */
export type SqlErrorClass = ErrorClass;

/** The fields of node-postgres, mysql2, better-sqlite3 and Node socket errors the mapping reads. */
interface DriverErrorShape {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  errors?: unknown;
}

// mysql2's own codes for a connection that went away, besides Node's socket codes.
const DRIVER_SOCKET_CODES: ReadonlySet<string> = new Set([
  ...SOCKET_CODES,
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
]);

/** mysql2 reports server errors with the numeric MySQL/MariaDB error number in `errno`. */
const MYSQL_ERRNO: ReadonlyMap<number, SqlErrorClass> = new Map([
  [1045, AUTH], // ER_ACCESS_DENIED_ERROR
  [1698, AUTH], // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
  [1251, AUTH], // ER_NOT_SUPPORTED_AUTH_MODE
  [1044, PERMISSION], // ER_DBACCESS_DENIED_ERROR
  [1142, PERMISSION], // ER_TABLEACCESS_DENIED_ERROR
  [1143, PERMISSION], // ER_COLUMNACCESS_DENIED_ERROR
  [1227, PERMISSION], // ER_SPECIFIC_ACCESS_DENIED_ERROR
  [1213, CONFLICT], // ER_LOCK_DEADLOCK
  [1205, CONFLICT], // ER_LOCK_WAIT_TIMEOUT
  [1040, UNREACHABLE], // ER_CON_COUNT_ERROR: too many connections, passes
  [1053, UNREACHABLE], // ER_SERVER_SHUTDOWN
  [2002, UNREACHABLE],
  [2003, UNREACHABLE],
  [2006, UNREACHABLE], // server has gone away
  [2013, UNREACHABLE], // lost connection during query
]);

/**
 * Classifies an error thrown by node-postgres, mysql2, better-sqlite3 or the socket beneath them.
 * Unknown errors are `other` and not retryable, so a bug is not retried forever.
 */
export function classifySqlError(err: unknown): SqlErrorClass {
  if (err instanceof ConnectorError) return { kind: err.kind, retryable: err.retryable };
  const e = (typeof err === "object" && err !== null ? err : {}) as DriverErrorShape;
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : "";

  if (DRIVER_SOCKET_CODES.has(code)) return UNREACHABLE;
  // Node's happy-eyeballs connect reports an AggregateError whose members carry the socket codes.
  if (Array.isArray(e.errors) && e.errors.some((inner) => classifySqlError(inner).kind === "unreachable")) {
    return UNREACHABLE;
  }

  if (code.startsWith("SQLITE_")) return classifySqlite(code, message);
  if (/^[0-9A-Z]{5}$/.test(code) && typeof e.errno !== "number") return classifyPostgres(code);
  if (typeof e.errno === "number") {
    const known = MYSQL_ERRNO.get(e.errno);
    if (known !== undefined) return known;
    // MySQL 1xxx server errors left are about the statement or the data: missing table or column,
    // syntax, duplicates, foreign keys, values out of range.
    if (code.startsWith("ER_")) return INVALID;
  }
  // node-postgres and pg-pool time out without a code.
  if (/timeout|timed out|Connection terminated/i.test(message)) return UNREACHABLE;
  return OTHER;
}

function classifyPostgres(sqlstate: string): SqlErrorClass {
  if (sqlstate === "28P01" || sqlstate === "28000") return AUTH;
  if (sqlstate === "42501") return PERMISSION;
  if (sqlstate === "40001" || sqlstate === "40P01" || sqlstate === "55P03") return CONFLICT;
  const sqlClass = sqlstate.slice(0, 2);
  // 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown, cancel).
  if (sqlClass === "08" || sqlClass === "53" || sqlClass === "57") return UNREACHABLE;
  // 22 data, 23 integrity, 3D missing database, 3F missing schema, 42 missing table/column or syntax.
  if (["22", "23", "3D", "3F", "42"].includes(sqlClass)) return INVALID;
  return OTHER;
}

function classifySqlite(code: string, message: string): SqlErrorClass {
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return CONFLICT;
  // A missing file is treated like a server that is not there yet.
  if (code.startsWith("SQLITE_CANTOPEN")) return UNREACHABLE;
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_PERM" || code === "SQLITE_AUTH")
    return PERMISSION;
  if (code.startsWith("SQLITE_IOERR") || code === "SQLITE_FULL") return { kind: "other", retryable: true };
  if (code === "SQLITE_ERROR" && !/no such (table|column)|syntax error|has no column/i.test(message)) {
    return OTHER;
  }
  return INVALID;
}

/** The driver's own words for what went wrong, without secrets. */
export function describeCause(err: unknown, secrets: readonly string[]): string {
  const e = (typeof err === "object" && err !== null ? err : {}) as DriverErrorShape;
  let text = typeof e.message === "string" ? e.message : String(err);
  if (text === "" && Array.isArray(e.errors) && e.errors.length > 0) {
    text = describeCause(e.errors[0], secrets);
  }
  if (text === "" && typeof e.code === "string") text = e.code;
  return redactSecrets(text.trim(), secrets) || "unknown error";
}

/** pg, mysql2 and better-sqlite3 errors, for `wrapDriverError`, with the driver's code beside the cause. */
export const SQL_ERRORS: DriverErrorRules = {
  classify: classifySqlError,
  describe(err, secrets) {
    const e = (typeof err === "object" && err !== null ? err : {}) as DriverErrorShape;
    const cause = describeCause(err, secrets);
    // The code (SQLSTATE, ER_…, SQLITE_…) is what people search for; socket messages already carry theirs.
    const code = typeof e.code === "string" && e.code !== "" && !cause.includes(e.code) ? `${e.code}: ` : "";
    return `${code}${cause}`;
  },
};

/** Wraps a database driver's error (see `wrapDriverError`). */
export function toConnectorError(
  system: string,
  what: string,
  target: string,
  err: unknown,
  secrets: readonly string[],
): ConnectorError {
  return wrapDriverError(SQL_ERRORS, system, what, target, err, secrets);
}
