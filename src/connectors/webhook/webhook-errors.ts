import { ConnectorError } from "../connector-types.js";

/** Replaces every occurrence of the given secrets (those of 4+ characters) with `***`. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const present = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of present) out = out.split(secret).join("***");
    return out;
  };
}

/** `METHOD origin/path`: a URL as it may appear in messages, without credentials, query or fragment. */
export function describeRequest(method: string, url: string): string {
  try {
    const parsed = new URL(url);
    return `${method} ${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return `${method} (invalid URL)`;
  }
}

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

/** The ConnectorError for a request that got no answer: refused, reset, DNS failure, timeout. */
export function networkError(
  system: string,
  method: string,
  url: string,
  timeoutMs: number,
  error: unknown,
  redact: (text: string) => string,
): ConnectorError {
  const where = describeRequest(method, url);
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError" || name === "AbortError") {
    return new ConnectorError(system, "unreachable", `${where}: no answer within ${timeoutMs} ms`, {
      retryable: true,
    });
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code =
    cause !== null && typeof cause === "object" && typeof (cause as { code?: unknown }).code === "string"
      ? (cause as { code: string }).code
      : "";
  const message = cause instanceof Error ? redact(cause.message) : "network error";
  // The raw error is not attached as `cause`: undici errors can carry the request, with its headers.
  return new ConnectorError(
    system,
    "unreachable",
    `${where}: ${code === "" ? message : `${code} ${message}`}`,
    {
      retryable: true,
    },
  );
}
