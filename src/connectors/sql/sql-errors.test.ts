import { describe, expect, it } from "vitest";
import { redactSecrets } from "../../shared/redact.js";
import { ConnectorError } from "../connector-types.js";
import { classifySqlError, toConnectorError } from "./sql-errors.js";

// The shapes below are the fields node-postgres, mysql2 and better-sqlite3 set on their errors; the
// integration test sees the real ones for the cases a local server can produce.
const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
const mysqlError = (code: string, errno: number) => Object.assign(new Error(code), { code, errno });
const sqliteError = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("classifySqlError", () => {
  it.each([
    ["refused", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", errno: -111 })],
    [
      "unknown host",
      Object.assign(new Error("getaddrinfo ENOTFOUND db"), { code: "ENOTFOUND", errno: -3008 }),
    ],
    ["timeout", Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" })],
    [
      "happy-eyeballs AggregateError",
      Object.assign(new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })], ""), {
        code: "ECONNREFUSED",
      }),
    ],
    ["pg-pool timeout", new Error("timeout exceeded when trying to connect")],
    ["pg connection lost", new Error("Connection terminated unexpectedly")],
    ["pg admin shutdown", pgError("57P01")],
    ["pg too many connections", pgError("53300")],
    ["mysql connection lost", mysqlError("PROTOCOL_CONNECTION_LOST", 0)],
    ["mysql too many connections", mysqlError("ER_CON_COUNT_ERROR", 1040)],
    ["sqlite missing file", sqliteError("SQLITE_CANTOPEN")],
  ])("%s is unreachable and retryable", (_, err) => {
    expect(classifySqlError(err)).toEqual({ kind: "unreachable", retryable: true });
  });

  it.each([
    ["pg serialization failure", pgError("40001")],
    ["pg deadlock", pgError("40P01")],
    ["pg lock not available", pgError("55P03")],
    ["mysql deadlock", mysqlError("ER_LOCK_DEADLOCK", 1213)],
    ["mysql lock wait timeout", mysqlError("ER_LOCK_WAIT_TIMEOUT", 1205)],
    ["sqlite busy", sqliteError("SQLITE_BUSY")],
    ["sqlite busy snapshot", sqliteError("SQLITE_BUSY_SNAPSHOT")],
    ["sqlite locked", sqliteError("SQLITE_LOCKED")],
  ])("%s is a retryable conflict", (_, err) => {
    expect(classifySqlError(err)).toEqual({ kind: "conflict", retryable: true });
  });

  it.each([
    ["pg wrong password", pgError("28P01"), "auth"],
    ["pg unknown role / no hba entry", pgError("28000"), "auth"],
    ["mysql access denied", mysqlError("ER_ACCESS_DENIED_ERROR", 1045), "auth"],
    ["pg permission denied", pgError("42501"), "permission"],
    ["mysql table access denied", mysqlError("ER_TABLEACCESS_DENIED_ERROR", 1142), "permission"],
    ["mysql database access denied", mysqlError("ER_DBACCESS_DENIED_ERROR", 1044), "permission"],
    ["sqlite read-only", sqliteError("SQLITE_READONLY"), "permission"],
    ["pg missing table", pgError("42P01"), "invalid"],
    ["pg missing column", pgError("42703"), "invalid"],
    ["pg missing schema", pgError("3F000"), "invalid"],
    ["pg missing database", pgError("3D000"), "invalid"],
    ["pg not null violation", pgError("23502"), "invalid"],
    ["mysql missing table", mysqlError("ER_NO_SUCH_TABLE", 1146), "invalid"],
    ["mysql missing column", mysqlError("ER_BAD_FIELD_ERROR", 1054), "invalid"],
    ["sqlite missing table", sqliteError("SQLITE_ERROR", "no such table: users"), "invalid"],
    ["sqlite missing column", sqliteError("SQLITE_ERROR", "table users has no column named x"), "invalid"],
    ["sqlite constraint", sqliteError("SQLITE_CONSTRAINT_NOTNULL"), "invalid"],
    ["anything else", new Error("boom"), "other"],
    ["a thrown string", "boom", "other"],
  ])("%s is %s and not retryable", (_, err, kind) => {
    expect(classifySqlError(err)).toEqual({ kind, retryable: false });
  });
});

describe("redactSecrets and toConnectorError", () => {
  it("masks URL passwords and the configured secrets", () => {
    expect(redactSecrets("at postgres://app:hunter22@db:5432/x and mysql://u:p%40ss@h/d", [])).toBe(
      "at postgres://app:***@db:5432/x and mysql://u:***@h/d",
    );
    expect(redactSecrets("password hunter22 rejected", ["hunter22"])).toBe("password *** rejected");
  });

  it("names the system, the operation, the target and the cause, without the password", () => {
    const err = toConnectorError(
      "hr-app",
      "list accounts",
      "postgres://app:***@db/x",
      Object.assign(new Error('password authentication failed for user "app" (hunter22)'), { code: "28P01" }),
      ["hunter22"],
    );
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.message).toBe(
      'hr-app: list accounts failed on postgres://app:***@db/x (28P01: password authentication failed for user "app" (***))',
    );
    expect(err).toMatchObject({ system: "hr-app", kind: "auth", retryable: false });
    expect(err.cause).toBeUndefined();
  });

  it("uses the first inner error when an AggregateError has no message", () => {
    const inner = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const err = toConnectorError(
      "a",
      "list accounts",
      "t",
      Object.assign(new AggregateError([inner], ""), { code: "ECONNREFUSED" }),
      [],
    );
    expect(err.message).toBe("a: list accounts failed on t (connect ECONNREFUSED 127.0.0.1:1)");
    expect(err.retryable).toBe(true);
  });

  it("passes a ConnectorError through unchanged", () => {
    const original = new ConnectorError("a", "not_found", "gone");
    expect(toConnectorError("a", "x", "t", original, [])).toBe(original);
  });
});
