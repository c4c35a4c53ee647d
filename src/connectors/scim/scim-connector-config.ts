import { z } from "zod";
import { secret } from "../../shared/secret-field.js";
import { parseConnectorConfig } from "../connector-config.js";
import { parseScimPath } from "./scim-attributes.js";

const nonEmpty = z.string().min(1, { error: "must not be empty" });
const positiveInt = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .positive({ error: `expected ${what}` });

/** Whether a URL's parts pass `test`; the URL itself is valid by then (z.url ran first). */
const urlParts = (test: (url: URL) => boolean) => (url: string) => URL.canParse(url) && test(new URL(url));

// Messages never echo the URL: a misplaced token may sit in it.
const baseUrl = z
  .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
  .refine(
    urlParts((url) => url.username === "" && url.password === ""),
    { error: "must not contain credentials (user:password@); use `auth:`" },
  )
  .refine(
    urlParts((url) => url.search === "" && url.hash === ""),
    { error: "must not have a query or fragment; it is the SCIM base, e.g. …/scim/v2" },
  );

const authSchema = z.discriminatedUnion("type", [
  /** `Authorization: Bearer <token>` (Slack, Okta, Entra, most SaaS). */
  z.strictObject({ type: z.literal("bearer"), token: secret(nonEmpty) }),
  /** `Authorization: Basic base64(username:password)`. */
  z.strictObject({ type: z.literal("basic"), username: secret(nonEmpty), password: secret(nonEmpty) }),
]);

const scimPath = z.string().superRefine((text, ctx) => {
  const parsed = parseScimPath(text);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
});

export const scimConnectorConfigSchema = z
  .strictObject({
    /** The SCIM base URL, under which `/Users` and `/Groups` live, e.g. `https://api.slack.com/scim/v2`. */
    baseUrl: secret(baseUrl),
    /** How requests authenticate. The token and password never appear in messages. */
    auth: authSchema,
    /**
     * Which SCIM attribute holds the Tenure username and finds accounts (`filter=<attr> eq "…"`):
     * `userName` (default), or `externalId` when the service's userName is something else (an email)
     * mapped under `attributes`.
     */
    correlation: z.enum(["userName", "externalId"]).default("userName"),
    /** Tenure attribute name → SCIM path, e.g. `email: emails[type eq "work"].value`. */
    attributes: z.record(nonEmpty, scimPath).default({}),
    groups: z
      .strictObject({
        /**
         * What an entitlement key is: the group's `displayName` (default; readable in tenure.yaml and
         * the same in every environment) or its `id` (stable across renames).
         */
        key: z.enum(["displayName", "id"]).default("displayName"),
      })
      .prefault({}),
    /** Resources per page when listing (`count`); servers may return fewer. */
    pageSize: positiveInt("a whole number of resources per page, at least 1")
      .max(1000, { error: "expected at most 1000" })
      .default(100),
    /** One token bucket per connector instance, shared by every concurrent call. */
    rateLimit: z
      .strictObject({
        /** Requests (reads and writes) per minute. Slack allows 600 writes a minute. */
        requestsPerMinute: positiveInt("a whole number of requests per minute, at least 1").default(600),
        /** Requests that may go at once after a quiet spell. 1 spaces every request evenly. */
        burst: positiveInt("a whole number of requests, at least 1").default(1),
      })
      .prefault({}),
    /**
     * Retries inside one call, for 429 (after its Retry-After) and 5xx (exponential backoff with
     * jitter). When they run out, or a Retry-After is longer than `maxDelayMs`, the call fails with a
     * retryable error and Tenure's own retry schedule (`systems.<name>.retry`) takes over.
     */
    retry: z
      .strictObject({
        maxAttempts: positiveInt("a whole number of attempts, at least 1")
          .max(10, { error: "expected at most 10" })
          .default(4),
        baseDelayMs: z.number().int().min(0).default(500),
        maxDelayMs: z.number().int().min(0).default(30_000),
      })
      .prefault({}),
    /**
     * How long grants and revokes for one group wait for others to share their PATCH, in milliseconds.
     * 0 still combines the calls made in the same tick.
     */
    batchWindowMs: z.number().int().min(0).max(1000).default(10),
    /** Per-request timeout (connect, send, whole answer), in milliseconds. */
    timeoutMs: positiveInt("a whole number of milliseconds").default(30_000),
  })
  .superRefine((config, ctx) => {
    if (config.retry.maxDelayMs < config.retry.baseDelayMs) {
      ctx.addIssue({
        code: "custom",
        path: ["retry", "maxDelayMs"],
        message: "expected at least baseDelayMs",
      });
    }
    for (const [name, path] of Object.entries(config.attributes)) {
      if (path.toLowerCase() === config.correlation.toLowerCase()) {
        ctx.addIssue({
          code: "custom",
          path: ["attributes", name],
          message: `${config.correlation} holds the Tenure username (correlation) and cannot be mapped`,
        });
      }
    }
  });

/** The parsed configuration of one `scim` system (defaults applied). */
export type ScimConnectorConfig = z.output<typeof scimConnectorConfigSchema>;
/** The configuration as written in tenure.yaml, before defaults. */
export type ScimConnectorConfigInput = z.input<typeof scimConnectorConfigSchema>;

/**
 * Parses the `scim` configuration of one system, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem; never echoes the token,
 *   password or URL.
 */
export function parseScimConnectorConfig(system: string, raw: unknown): ScimConnectorConfig {
  return parseConnectorConfig("scim", scimConnectorConfigSchema, system, raw);
}
