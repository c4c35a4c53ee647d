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

/** Removes `user:password@` from URLs and every occurrence of the given secrets. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(\/\/[^:/@\s]*):[^@\s]*@/g, "$1:***@");
  for (const secret of secrets) {
    // A one- or two-character password would turn every message into asterisks while hiding nothing.
    if (secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}
