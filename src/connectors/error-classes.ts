import { ConnectorError } from "./connector-types.js";

/** How a failure in a target system is reported: the ConnectorError kind and whether a retry can help. */
export interface ErrorClass {
  kind: ConnectorError["kind"];
  retryable: boolean;
}

export const UNREACHABLE: ErrorClass = { kind: "unreachable", retryable: true };
export const CONFLICT: ErrorClass = { kind: "conflict", retryable: true };
export const AUTH: ErrorClass = { kind: "auth", retryable: false };
export const PERMISSION: ErrorClass = { kind: "permission", retryable: false };
export const INVALID: ErrorClass = { kind: "invalid", retryable: false };
export const OTHER: ErrorClass = { kind: "other", retryable: false };

/** Node socket error codes that mean the server could not be reached (yet): worth retrying. */
export const SOCKET_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EPIPE",
]);

/** How one kind of driver (ldapts, pg, mysql2, better-sqlite3) says what went wrong. */
export interface DriverErrorRules {
  /** What kind of failure it is, and whether trying again later may help. */
  classify(err: unknown): ErrorClass;
  /** The cause in words, the driver's code where people search for it, with every secret masked. */
  describe(err: unknown, secrets: readonly string[]): string;
}

/**
 * The one wrapping of a driver's error: `<system>: <what> failed on <target> (<cause>)`, classified by
 * the driver's rules. A ConnectorError passes as it is. The driver's error is not attached as `cause`:
 * a logger would print it with whatever the client kept (a password in its options).
 */
export function wrapDriverError(
  rules: DriverErrorRules,
  system: string,
  what: string,
  target: string,
  err: unknown,
  secrets: readonly string[],
): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const { kind, retryable } = rules.classify(err);
  return new ConnectorError(system, kind, `${what} failed on ${target} (${rules.describe(err, secrets)})`, {
    retryable,
  });
}
