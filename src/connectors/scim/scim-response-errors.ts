import { ConnectorError } from "../connector-types.js";
import { AUTH, CONFLICT, type ErrorClass, INVALID, PERMISSION, UNREACHABLE } from "../error-classes.js";
// The webhook connector's HTTP helpers: one way to redact and describe a request across HTTP connectors.
import { describeRequest } from "../http-errors.js";
import { property } from "./scim-attributes.js";

/** One answer of a SCIM server: status, headers and the JSON body (undefined when empty or not JSON). */
export interface ScimResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Statuses retried inside a call (RFC 7644 §3.12 plus the usual proxy answers); 501 is a refusal. */
export function isTransient(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501);
}

/**
 * The delay a `Retry-After` header asks for, in milliseconds: a number of seconds or an HTTP date
 * (RFC 9110 §10.2.3). Undefined when absent or unreadable; never negative.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const value = headers.get("retry-after")?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The class of a SCIM error answer:
 * 401 auth; 403 permission; 404 not_found; 409 `uniqueness` conflict (another resource holds the
 * value: retrying cannot help), other 409 and 412 conflict (a concurrent change: retry); 429, 408 and
 * 5xx but 501 unreachable-or-throttled (retry); 3xx (redirects are not followed, so the token is never
 * sent elsewhere), 501 and any other 4xx invalid.
 */
export function classifyStatus(status: number, scimType: string | undefined): ErrorClass {
  if (status === 401) return AUTH;
  if (status === 403) return PERMISSION;
  if (status === 404) return { kind: "not_found", retryable: false };
  if (status === 409) return scimType === "uniqueness" ? { kind: "conflict", retryable: false } : CONFLICT;
  if (status === 412 || status === 429) return CONFLICT;
  if (isTransient(status)) return UNREACHABLE;
  return INVALID;
}

/** `scimType` and `detail` of a SCIM error body (RFC 7644 §3.12), or `message`/`error` of another. */
function reasonOf(body: unknown): { scimType?: string; detail: string } {
  const scimType = property(body, "scimType");
  const detail = [property(body, "detail"), property(body, "message"), property(body, "error")].find(
    (v): v is string => typeof v === "string" && v !== "",
  );
  const out: { scimType?: string; detail: string } = { detail: detail ?? "" };
  if (typeof scimType === "string" && /^[A-Za-z]{1,40}$/.test(scimType)) out.scimType = scimType;
  return out;
}

const HINTS: Partial<Record<number, string>> = {
  401: "the server rejected the credentials in auth",
  403: "the credentials lack a permission this needs",
  501: "the server does not implement this request",
};

/** The ConnectorError for a non-2xx answer. */
export function errorForResponse(
  system: string,
  doing: string,
  method: string,
  url: string,
  response: ScimResponse,
  redact: (text: string) => string,
): ConnectorError {
  const { status } = response;
  const { scimType, detail } = reasonOf(response.body);
  // Control characters are dropped so a server cannot forge log lines.
  const clean = redact(detail).replace(/\p{Cc}/gu, " ");
  const reason = clean === "" ? "" : `: ${clean.length > 200 ? `${clean.slice(0, 200)}…` : clean}`;
  const parts = [`${redact(doing)}: ${describeRequest(method, url)} answered HTTP ${status}`];
  if (scimType !== undefined) parts.push(` (${scimType})`);
  parts.push(reason);
  const hint =
    status >= 300 && status < 400 ? "redirects are not followed; configure the final baseUrl" : HINTS[status];
  if (hint !== undefined) parts.push(` — ${hint}`);
  const wait = retryAfterMs(response.headers);
  if (wait !== undefined && isTransient(status)) parts.push(`; Retry-After ${Math.ceil(wait / 1000)} s`);
  const { kind, retryable } = classifyStatus(status, scimType);
  return new ConnectorError(system, kind, parts.join(""), { retryable });
}
