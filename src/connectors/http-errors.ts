import { ConnectorError } from "./connector-types.js";

// What the HTTP connectors (webhook, scim) and the notification webhooks share when they report a
// failure: messages name the request without credentials and never carry a secret.

/** `METHOD origin/path`: a URL as it may appear in messages, without credentials, query or fragment. */
export function describeRequest(method: string, url: string): string {
  try {
    const parsed = new URL(url);
    return `${method} ${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return `${method} (invalid URL)`;
  }
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
