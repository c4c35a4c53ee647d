import { ConnectorError } from "../connector-types.js";
import { describeRequest } from "../http-errors.js";

const INVALID_JSON = Symbol.for("invalid-json");

/** A short reason from the receiver's error body (`error` or `message`), at most 200 characters. */
function reasonOf(parsed: unknown, redact: (text: string) => string): string {
  if (parsed === undefined || parsed === INVALID_JSON || parsed === null || typeof parsed !== "object") {
    return "";
  }
  const body = parsed as Record<string, unknown>;
  const reason =
    typeof body.error === "string" ? body.error : typeof body.message === "string" ? body.message : "";
  if (reason === "") return "";
  // Control characters are dropped so a receiver cannot forge log lines.
  const clean = redact(reason).replace(/\p{Cc}/gu, " ");
  return `: ${clean.length > 200 ? `${clean.slice(0, 200)}…` : clean}`;
}

/** The Retry-After header, when it is a number of seconds or an HTTP date (nothing else is echoed). */
function retryAfterOf(response: Response): string {
  const value = response.headers.get("retry-after")?.trim();
  if (value === undefined || value === "" || value.length > 64) return "";
  if (/^\d+$/.test(value) || /^[A-Za-z0-9 ,:]+$/.test(value)) return `; Retry-After: ${value}`;
  return "";
}

/** The ConnectorError for a non-2xx answer (see createWebhookConnector for the mapping). */
export function errorForStatus(
  system: string,
  doing: string,
  method: string,
  url: string,
  response: Response,
  parsed: unknown,
  redact: (text: string) => string,
): ConnectorError {
  const status = response.status;
  const text = `${redact(doing)}: ${describeRequest(method, url)} answered HTTP ${status}${reasonOf(parsed, redact)}`;
  if (status === 408 || status >= 500) {
    return new ConnectorError(system, "unreachable", `${text}${retryAfterOf(response)}`, { retryable: true });
  }
  if (status === 409 || status === 425 || status === 429) {
    return new ConnectorError(system, "conflict", `${text}${retryAfterOf(response)}`, { retryable: true });
  }
  if (status === 401) {
    return new ConnectorError(
      system,
      "auth",
      `${text} (the receiver rejected the signature or credentials)`,
      {
        retryable: false,
      },
    );
  }
  if (status === 403) return new ConnectorError(system, "permission", text, { retryable: false });
  if (status === 404) return new ConnectorError(system, "not_found", text, { retryable: false });
  if (status >= 300 && status < 400) {
    return new ConnectorError(
      system,
      "invalid",
      `${text} (redirects are not followed; configure the final URL)`,
      {
        retryable: false,
      },
    );
  }
  return new ConnectorError(system, "invalid", text, { retryable: false });
}
