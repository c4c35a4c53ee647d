import { z } from "zod";
import { secret } from "../../shared/secret-field.js";
import { parseConnectorConfig } from "../connector-config.js";

/** Headers the connector sets itself; `headers:` may not replace them. */
export const RESERVED_HEADERS: readonly string[] = [
  "content-type",
  "content-length",
  "host",
  "tenure-signature",
  "tenure-operation",
];

/** An RFC 9110 token, the form of an HTTP header name. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Messages never echo the URL: it may carry credentials or a token in its query.
export const httpUrl = z.string().superRefine((url, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not a valid URL" });
    return;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    ctx.addIssue({ code: "custom", message: "must be an http:// or https:// URL" });
  } else if (parsed.hostname === "") {
    ctx.addIssue({ code: "custom", message: "needs a host" });
  }
  if (parsed.username !== "" || parsed.password !== "") {
    ctx.addIssue({
      code: "custom",
      message: "must not contain credentials (user:password@); send them with `headers:` instead",
    });
  }
});

const headerName = z
  .string()
  .regex(HEADER_NAME, { error: "is not a valid HTTP header name" })
  .refine((name) => !RESERVED_HEADERS.includes(name.toLowerCase()), {
    error: `may not be one of ${RESERVED_HEADERS.join(", ")} (set by Tenure)`,
  });

const headerValue = z.string().refine((value) => !/[\r\n]/.test(value) && !value.includes("\u0000"), {
  error: "must not contain CR, LF or NUL",
});

export const webhookConnectorConfigSchema = z.strictObject({
  /** Where every write is POSTed as JSON: `http://…` or `https://…`. */
  url: secret(httpUrl),
  /** The shared HMAC-SHA256 key the receiver verifies signatures with. Never appears in messages. */
  secret: secret(z.string().min(16, { error: "must be at least 16 characters" })),
  /** Optional: a GET here returns `{ accounts: [...], entitlements?: [...] }`; without it nothing is listed. */
  listUrl: secret(httpUrl).optional(),
  /** Per-request timeout (connect, send and read the whole response), in milliseconds. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** Extra static headers sent with every request (e.g. an API gateway key). Their values are never logged. */
  headers: z.record(headerName, secret(headerValue)).optional(),
});

/** The parsed configuration of one `webhook` system (defaults applied). */
export type WebhookConnectorConfig = z.output<typeof webhookConnectorConfigSchema>;
/** The configuration as written in tenure.yaml, before defaults. */
export type WebhookConnectorConfigInput = z.input<typeof webhookConnectorConfigSchema>;

/**
 * Parses the `webhook` configuration of one system, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem; never echoes the URL or secret.
 */
export function parseWebhookConnectorConfig(system: string, raw: unknown): WebhookConnectorConfig {
  return parseConnectorConfig("webhook", webhookConnectorConfigSchema, system, raw);
}
