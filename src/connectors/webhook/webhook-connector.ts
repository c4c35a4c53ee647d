import { createHash } from "node:crypto";
import { z } from "zod";
import { redactor } from "../../shared/redact.js";
import {
  type Account,
  type AccountRef,
  type AccountSpec,
  type Connector,
  ConnectorError,
  type EntitlementInfo,
  type WriteResult,
} from "../connector-types.js";
import { networkError } from "../http-errors.js";
import { errorForStatus } from "./webhook-errors.js";
import type { WebhookConnectorConfig } from "./webhook-schemas.js";
import { SIGNATURE_HEADER, signWebhookBody } from "./webhook-signature.js";

/** What a write asks the receiver to do; the `kind` field of the request body. */
export type WebhookOperationKind = "create" | "update" | "enable" | "disable" | "delete" | "grant" | "revoke";

/** The JSON body of every write POSTed to the receiver. */
export interface WebhookRequestBody {
  /**
   * sha256 (hex) of the requested change: kind, username, entitlement, attributes and enabled. The
   * same change asked again (a retry) has the same id, so a receiver may de-duplicate by it.
   */
  operation: string;
  system: string;
  kind: WebhookOperationKind;
  username: string;
  /** The receiver's id of the account, when Tenure knows it (never on create). */
  nativeId: string | null;
  /** create: the initial attributes; update: the attributes to set (null clears). */
  attributes?: Record<string, string | null>;
  /** create only: whether the account starts enabled. */
  enabled?: boolean;
  /** grant and revoke: the entitlement key. */
  entitlement?: string;
  /** When Tenure sent this request (ISO-8601). */
  sentAt: string;
}

const writeResponseSchema = z.looseObject({
  changed: z.boolean().optional(),
  nativeId: z.union([z.string(), z.number()]).nullish(),
});

const nativeIdSchema = z.union([z.string().min(1), z.number()]).transform(String);

const accountSchema = z.object({
  nativeId: nativeIdSchema,
  username: z.string().min(1),
  enabled: z.boolean(),
  attributes: z.record(z.string(), z.string().nullable()).default({}),
  entitlements: z.array(z.string()).default([]),
  lastUsedAt: z.string().nullish(),
});

const listResponseSchema = z.looseObject({
  accounts: z.array(accountSchema),
  entitlements: z.array(z.object({ key: z.string().min(1), displayName: z.string().nullish() })).optional(),
});

/** The operation id of a write: sha256 over the canonical JSON of what it asks for. */
export function webhookOperationId(
  kind: WebhookOperationKind,
  username: string,
  details: { entitlement?: string; attributes?: Record<string, string | null>; enabled?: boolean } = {},
): string {
  const attributes =
    details.attributes === undefined
      ? null
      : Object.keys(details.attributes)
          .sort()
          .map((key) => [key, details.attributes![key] ?? null]);
  const canonical = JSON.stringify([
    kind,
    username,
    details.entitlement ?? null,
    attributes,
    details.enabled ?? null,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * What must never appear in a message: the secret, the configured header values (and each word of them,
 * so `Bearer <token>` echoed back as `<token>` is caught), and the URLs' query strings and passwords.
 */
function secretsOf(config: WebhookConnectorConfig): string[] {
  const secrets = [config.secret];
  for (const value of Object.values(config.headers ?? {})) {
    secrets.push(value, ...value.split(/\s+/).filter((word) => word.length >= 8));
  }
  for (const url of [config.url, config.listUrl]) {
    if (url === undefined) continue;
    secrets.push(url);
    try {
      const parsed = new URL(url);
      secrets.push(parsed.search, parsed.password, ...[...parsed.searchParams.values()]);
    } catch {
      // The schema only lets valid URLs through.
    }
  }
  return secrets;
}

/**
 * The `webhook` connector: for a system Tenure has no connector for, every write is POSTed as JSON to
 * `url`, signed with HMAC-SHA256 over `<unix seconds>.<body>` in `Tenure-Signature: t=…,v1=…`
 * (receivers check it with `verifyWebhookSignature`). The receiver does the work and answers:
 *
 * - 2xx: done. A JSON body may say `{ "changed": false }` (a no-op; default true) and give
 *   `"nativeId"` (returned to Tenure, needed on create);
 * - 404: the account does not exist: `not_found`, except for delete and revoke, which then succeed
 *   with `changed: false` as the connector contract requires;
 * - 408, 5xx, network errors and timeouts: `unreachable`; 409, 425, 429: `conflict` — both retryable,
 *   with any `Retry-After` in the message only (Tenure's own retry schedule decides when);
 * - 401: `auth`; 403: `permission`; any other 4xx: `invalid` — none retryable.
 *
 * Listing needs `listUrl` (a signed GET returning `{ accounts, entitlements? }`); without it both lists
 * are empty, so reconcile sees no accounts in this system and reports no drift for it.
 * `disable` is whatever the receiver does (`disableRefusesUse: false`). The secret, the URL's
 * credentials and query, and the configured header values never appear in messages.
 */
export function createWebhookConnector(system: string, config: WebhookConnectorConfig): Connector {
  const redact = redactor(secretsOf(config));
  let closed = false;

  async function request(method: "GET" | "POST", url: string, body: string): Promise<Response> {
    if (closed) throw new ConnectorError(system, "other", "the connector is closed", { retryable: false });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      ...(config.headers ?? {}),
      accept: "application/json",
      [SIGNATURE_HEADER]: signWebhookBody(config.secret, timestamp, body),
    };
    if (method === "POST") headers["content-type"] = "application/json";
    try {
      return await fetch(url, {
        method,
        headers,
        body: method === "POST" ? body : undefined,
        redirect: "manual",
        signal: AbortSignal.timeout(config.timeoutMs),
      });
    } catch (error) {
      throw networkError(system, method, url, config.timeoutMs, error, redact);
    }
  }

  async function readJson(response: Response, method: string, url: string): Promise<unknown> {
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw networkError(system, method, url, config.timeoutMs, error, redact);
    }
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return Symbol.for("invalid-json");
    }
  }

  async function write(
    kind: WebhookOperationKind,
    ref: AccountRef,
    details: { entitlement?: string; attributes?: Record<string, string | null>; enabled?: boolean } = {},
  ): Promise<WriteResult> {
    const payload: WebhookRequestBody = {
      operation: webhookOperationId(kind, ref.username, details),
      system,
      kind,
      username: ref.username,
      nativeId: ref.nativeId ?? null,
      ...(details.attributes === undefined ? {} : { attributes: details.attributes }),
      ...(details.enabled === undefined ? {} : { enabled: details.enabled }),
      ...(details.entitlement === undefined ? {} : { entitlement: details.entitlement }),
      sentAt: new Date().toISOString(),
    };
    const response = await request("POST", config.url, JSON.stringify(payload));
    const parsed = await readJson(response, "POST", config.url);
    if (response.status === 404 && (kind === "delete" || kind === "revoke")) return { changed: false };
    if (response.status < 200 || response.status > 299) {
      throw errorForStatus(system, `${kind} ${ref.username}`, "POST", config.url, response, parsed, redact);
    }
    const result = writeResponseSchema.safeParse(parsed ?? {});
    // A 2xx whose body is not our JSON (plain text, a proxy's page) still means "done".
    const answer = result.success ? result.data : {};
    const nativeId = answer.nativeId === undefined || answer.nativeId === null ? undefined : answer.nativeId;
    const out: WriteResult = { changed: answer.changed ?? true };
    if (nativeId !== undefined) out.nativeId = String(nativeId);
    else if (kind !== "create" && ref.nativeId) out.nativeId = ref.nativeId;
    return out;
  }

  async function list(): Promise<z.output<typeof listResponseSchema> | undefined> {
    if (config.listUrl === undefined) {
      if (closed) throw new ConnectorError(system, "other", "the connector is closed", { retryable: false });
      return undefined;
    }
    const response = await request("GET", config.listUrl, "");
    const parsed = await readJson(response, "GET", config.listUrl);
    if (response.status < 200 || response.status > 299) {
      throw errorForStatus(system, "list accounts", "GET", config.listUrl, response, parsed, redact);
    }
    const result = listResponseSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue === undefined ? "" : ` at ${issue.path.map(String).join(".") || "(root)"}`;
      throw new ConnectorError(
        system,
        "invalid",
        `list accounts: the listUrl response is not { "accounts": [...] }${where}: ${redact(issue?.message ?? "")}`,
        { retryable: false },
      );
    }
    return result.data;
  }

  return {
    describe: () => ({
      type: "webhook",
      system,
      disableRefusesUse: false,
      supportsRotation: false,
      readsAccounts: true,
    }),

    async listAccounts(): Promise<Account[]> {
      const data = await list();
      if (data === undefined) return [];
      return data.accounts.map((a) => {
        const account: Account = {
          nativeId: a.nativeId,
          username: a.username,
          enabled: a.enabled,
          attributes: a.attributes,
          entitlements: a.entitlements,
        };
        if (a.lastUsedAt !== undefined) account.lastUsedAt = a.lastUsedAt;
        return account;
      });
    },

    async listEntitlements(): Promise<EntitlementInfo[]> {
      const data = await list();
      if (data === undefined) return [];
      if (data.entitlements !== undefined) {
        const seen = new Map<string, EntitlementInfo>();
        for (const e of data.entitlements) {
          if (!seen.has(e.key)) seen.set(e.key, { key: e.key, displayName: e.displayName ?? null });
        }
        return [...seen.values()];
      }
      const keys = new Set(data.accounts.flatMap((a) => a.entitlements));
      return [...keys].sort().map((key) => ({ key }));
    },

    create: (account: AccountSpec) =>
      write(
        "create",
        { username: account.username },
        { attributes: account.attributes, enabled: account.enabled },
      ),
    update: (ref, attributes) => write("update", ref, { attributes }),
    enable: (ref) => write("enable", ref),
    disable: (ref) => write("disable", ref),
    delete: (ref) => write("delete", ref),
    grant: (ref, entitlement) => write("grant", ref, { entitlement }),
    revoke: (ref, entitlement) => write("revoke", ref, { entitlement }),

    async close(): Promise<void> {
      closed = true;
    },
  };
}
