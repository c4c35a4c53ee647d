import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelaySeconds } from "../../shared/backoff.js";
import { redactor } from "../../shared/redact.js";
import { ConnectorError } from "../connector-types.js";
import { networkError } from "../http-errors.js";
import { property } from "./scim-attributes.js";
import type { ScimConnectorConfig } from "./scim-connector-config.js";
import { createRateLimiter, type RateLimiter } from "./scim-rate-limiter.js";
import { errorForResponse, isTransient, retryAfterMs, type ScimResponse } from "./scim-response-errors.js";

type Json = Record<string, unknown>;

/** The HTTP side of the `scim` connector: authentication, rate limit, retries, timeouts, paging. */
export interface ScimClient {
  /**
   * Sends one request (through the rate limiter; 429 and 5xx retried per `retry`) and returns the
   * answer, whatever its status, for callers to whom a 404 or 409 means something.
   * @throws ConnectorError `unreachable` (retryable) when no answer came: refused, reset, timeout.
   */
  request(method: string, path: string, options?: RequestOptions): Promise<ScimResponse>;
  /** Like `request`, but a non-2xx answer throws its ConnectorError (scim-response-errors.ts). */
  ok(method: string, path: string, options?: RequestOptions): Promise<ScimResponse>;
  /** Every resource of a list endpoint, paged with `startIndex`/`count` (RFC 7644 §3.4.2.4). */
  list(path: string, query: Record<string, string>, doing: string): Promise<Json[]>;
  /** The ConnectorError of a non-2xx answer. */
  fail(method: string, path: string, response: ScimResponse, doing: string): ConnectorError;
  /** Refuses every later request. */
  close(): void;
}

export interface RequestOptions {
  query?: Record<string, string>;
  body?: unknown;
  /** What the connector was doing, for messages: `create account ann`. */
  doing?: string;
}

export interface ScimClientDeps {
  limiter?: RateLimiter;
  /** [0, 1), for the backoff jitter. */
  random?: () => number;
}

/** Socket failures worth one more try at once: a kept-alive connection the server had just closed. */
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

function resetCode(error: unknown): boolean {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === "string" && RESET_CODES.has(code);
}

/** `a=1&b=2`, with every value percent-encoded (a space as %20, never `+`, which some servers keep). */
function queryString(query: Record<string, string> | undefined): string {
  if (query === undefined) return "";
  const pairs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return pairs.length === 0 ? "" : `?${pairs.join("&")}`;
}

/** The secrets of a configuration, and the forms they travel in, for redaction. */
export function scimSecrets(config: ScimConnectorConfig): string[] {
  if (config.auth.type === "bearer") return [config.auth.token];
  const pair = `${config.auth.username}:${config.auth.password}`;
  return [config.auth.password, pair, Buffer.from(pair).toString("base64")];
}

export function createScimClient(
  system: string,
  config: ScimConnectorConfig,
  deps: ScimClientDeps = {},
): ScimClient {
  const base = config.baseUrl.replace(/\/+$/, "");
  const limiter = deps.limiter ?? createRateLimiter(config.rateLimit);
  const random = deps.random ?? Math.random;
  const redact = redactor(scimSecrets(config));
  const authorization =
    config.auth.type === "bearer"
      ? `Bearer ${config.auth.token}`
      : `Basic ${Buffer.from(`${config.auth.username}:${config.auth.password}`).toString("base64")}`;
  let closed = false;

  const backoffMs = (attempt: number) =>
    backoffDelaySeconds(
      attempt,
      { baseDelaySeconds: config.retry.baseDelayMs / 1000, maxDelaySeconds: config.retry.maxDelayMs / 1000 },
      random,
    ) * 1000;

  function fail(method: string, path: string, response: ScimResponse, doing: string): ConnectorError {
    return errorForResponse(system, doing, method, `${base}${path}`, response, redact);
  }

  async function attempt(method: string, url: string, body: string | undefined): Promise<ScimResponse> {
    const response = await fetch(url, {
      method,
      headers: {
        authorization,
        accept: "application/scim+json, application/json",
        ...(body === undefined ? {} : { "content-type": "application/scim+json" }),
      },
      body,
      // Never follow a redirect: it would carry the Authorization header to wherever it points.
      redirect: "manual",
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text.trim() === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  async function request(method: string, path: string, options: RequestOptions = {}): Promise<ScimResponse> {
    const url = `${base}${path}${queryString(options.query)}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    for (let n = 1; ; n++) {
      if (closed) throw new ConnectorError(system, "other", "the connector is closed", { retryable: false });
      await limiter.take();
      let response: ScimResponse;
      try {
        response = await attempt(method, url, body);
      } catch (error) {
        if (n < config.retry.maxAttempts && resetCode(error)) {
          await sleep(backoffMs(n));
          continue;
        }
        const e = networkError(system, method, url, config.timeoutMs, error, redact);
        const detail = e.message.slice(`${system}: `.length);
        throw new ConnectorError(system, e.kind, `${redact(options.doing ?? method)}: ${detail}`, {
          retryable: e.retryable,
        });
      }
      if (!isTransient(response.status) || n >= config.retry.maxAttempts) return response;
      const delay = retryAfterMs(response.headers) ?? backoffMs(n);
      // A long Retry-After is not slept through here: the engine retries the operation later.
      if (delay > config.retry.maxDelayMs) return response;
      if (response.status === 429) limiter.pause(delay);
      await sleep(delay);
    }
  }

  async function ok(method: string, path: string, options: RequestOptions = {}): Promise<ScimResponse> {
    const response = await request(method, path, options);
    if (response.status < 200 || response.status > 299) {
      throw fail(method, path, response, options.doing ?? method);
    }
    return response;
  }

  async function list(path: string, query: Record<string, string>, doing: string): Promise<Json[]> {
    const out: Json[] = [];
    const seen = new Set<string>();
    let startIndex = 1;
    for (;;) {
      const page = { ...query, startIndex: String(startIndex), count: String(config.pageSize) };
      const { body } = await ok("GET", path, { query: page, doing });
      const resources = property(body, "Resources") ?? [];
      const total = property(body, "totalResults");
      if (body === undefined || !Array.isArray(resources)) {
        throw new ConnectorError(
          system,
          "invalid",
          `${doing}: GET ${path} did not answer a SCIM ListResponse`,
          {
            retryable: false,
          },
        );
      }
      let fresh = 0;
      for (const resource of resources) {
        if (resource === null || typeof resource !== "object") continue;
        const id = property(resource, "id");
        // A server that ignores startIndex sends the first page again: stop instead of looping.
        if (typeof id === "string" && seen.has(id)) continue;
        if (typeof id === "string") seen.add(id);
        out.push(resource as Json);
        fresh++;
      }
      startIndex += resources.length;
      if (fresh === 0 || typeof total !== "number" || startIndex > total) return out;
    }
  }

  return {
    request,
    ok,
    list,
    fail,
    close: () => {
      closed = true;
    },
  };
}
