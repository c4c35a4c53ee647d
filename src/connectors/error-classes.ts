import type { ConnectorError } from "./connector-types.js";

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
