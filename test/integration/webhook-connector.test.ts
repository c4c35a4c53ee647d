/**
 * The `webhook` connector against a real receiver: a `node:http` server on loopback that verifies every
 * request with `verifyWebhookSignature` (401 otherwise) and keeps accounts in memory, so the shared
 * conformance suite runs end to end. Plus what only HTTP can show: the request body, replay refusal,
 * status mapping (503 then 200, Retry-After, 403, 422), timeouts and a missing `listUrl`.
 */

import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Account, ConnectorError } from "../../src/connectors/connector-types.js";
import {
  createWebhookConnector,
  parseWebhookConnectorConfig,
  signWebhookBody,
  verifyWebhookSignature,
  type WebhookConnectorConfigInput,
  type WebhookRequestBody,
  webhookOperationId,
} from "../../src/connectors/webhook/index.js";
import { runConnectorConformance } from "../conformance/connector-conformance.js";
import { freePort } from "../helpers/net.js";

const SECRET = `whsec-${randomBytes(16).toString("hex")}`;

interface Receiver {
  base: string;
  /** Every request received, with its parsed body (after signature verification). */
  received: { method: string; headers: http.IncomingHttpHeaders; body: WebhookRequestBody | undefined }[];
  /** Answers queued for the next POSTs, before the store is consulted. */
  queue: { status: number; headers?: Record<string, string>; body?: unknown; delayMs?: number }[];
  close(): Promise<void>;
}

function ok(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

/** A receiver that does what the connector asks, idempotently, on an in-memory store. */
async function startReceiver(secret: string): Promise<Receiver> {
  const accounts = new Map<string, Account>();
  let nextId = 1;
  const received: Receiver["received"] = [];
  const queue: Receiver["queue"] = [];
  const find = (body: WebhookRequestBody) =>
    (body.nativeId ? [...accounts.values()].find((a) => a.nativeId === body.nativeId) : undefined) ??
    accounts.get(body.username);

  const apply = (body: WebhookRequestBody): [number, unknown] => {
    const account = find(body);
    if (body.kind === "create") {
      if (account) return [200, { changed: false, nativeId: account.nativeId }];
      const created: Account = {
        nativeId: `acct-${nextId++}`,
        username: body.username,
        enabled: body.enabled ?? true,
        attributes: { ...(body.attributes ?? {}) },
        entitlements: [],
      };
      accounts.set(body.username, created);
      return [201, { nativeId: created.nativeId }];
    }
    if (account === undefined) {
      return body.kind === "delete" || body.kind === "revoke"
        ? [200, { changed: false }]
        : [404, { error: "no such account" }];
    }
    switch (body.kind) {
      case "update": {
        let changed = false;
        for (const [k, v] of Object.entries(body.attributes ?? {})) {
          if ((account.attributes[k] ?? null) !== v) changed = true;
          if (v === null) delete account.attributes[k];
          else account.attributes[k] = v;
        }
        return [200, { changed }];
      }
      case "enable":
      case "disable": {
        const want = body.kind === "enable";
        const changed = account.enabled !== want;
        account.enabled = want;
        return [200, { changed }];
      }
      case "delete":
        accounts.delete(account.username);
        return [204, undefined];
      case "grant": {
        if (account.entitlements.includes(body.entitlement!)) return [200, { changed: false }];
        account.entitlements.push(body.entitlement!);
        return [200, {}];
      }
      case "revoke": {
        const before = account.entitlements.length;
        account.entitlements = account.entitlements.filter((e) => e !== body.entitlement);
        return [200, { changed: account.entitlements.length !== before }];
      }
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      if (!verifyWebhookSignature(secret, req.headers["tenure-signature"], raw, Date.now())) {
        return ok(res, 401, { error: "bad signature" });
      }
      if (req.method === "GET" && req.url === "/list") {
        received.push({ method: "GET", headers: req.headers, body: undefined });
        return ok(res, 200, { accounts: [...accounts.values()] });
      }
      if (req.method !== "POST" || req.url !== "/hook") return ok(res, 404, { error: "no route" });
      const body = JSON.parse(raw.toString("utf8")) as WebhookRequestBody;
      received.push({ method: "POST", headers: req.headers, body });
      const next = queue.shift();
      if (next !== undefined) {
        const send = () => ok(res, next.status, next.body, next.headers);
        if (next.delayMs) setTimeout(send, next.delayMs);
        else send();
        return;
      }
      const [status, answer] = apply(body);
      ok(res, status, answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    received,
    queue,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const connectorFor = (system: string, input: WebhookConnectorConfigInput) =>
  createWebhookConnector(system, parseWebhookConnectorConfig(system, input));

async function errorOf(promise: Promise<unknown>): Promise<ConnectorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectorError);
  return err as ConnectorError;
}

let conformanceReceiver: Receiver | undefined;

runConnectorConformance("webhook connector (node:http receiver)", async () => {
  const receiver = await startReceiver(SECRET);
  conformanceReceiver = receiver;
  return {
    connector: connectorFor("hookapp", {
      url: `${receiver.base}/hook`,
      listUrl: `${receiver.base}/list`,
      secret: SECRET,
    }),
    unreachable: async () => {
      const port = await freePort();
      return {
        connector: connectorFor("hookdown", {
          url: `http://127.0.0.1:${port}/hook`,
          listUrl: `http://127.0.0.1:${port}/list`,
          secret: SECRET,
          timeoutMs: 2000,
        }),
        secrets: [SECRET],
      };
    },
    badCredentials: async () => {
      const wrong = `wrong-${randomBytes(16).toString("hex")}`;
      return {
        connector: connectorFor("hookdenied", {
          url: `${receiver.base}/hook`,
          listUrl: `${receiver.base}/list`,
          secret: wrong,
        }),
        secrets: [wrong, SECRET],
      };
    },
    cleanup: () => receiver.close(),
  };
});

describe("webhook connector over HTTP", () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(SECRET);
  });
  afterAll(async () => {
    await receiver.close();
  });

  const connector = (extra: Partial<WebhookConnectorConfigInput> = {}) =>
    connectorFor("hookapp", {
      url: `${receiver.base}/hook`,
      listUrl: `${receiver.base}/list`,
      secret: SECRET,
      ...extra,
    });

  it("POSTs a signed JSON body naming the system, kind, username, attributes, entitlement and an operation id", async () => {
    const c = connector({ headers: { "X-Api-Key": "gateway-key-123456" } });
    const created = await c.create({ username: "zoë", attributes: { displayName: "Zoë" }, enabled: false });
    expect(created).toEqual({ changed: true, nativeId: expect.stringMatching(/^acct-/) });
    await c.grant({ username: "zoë", nativeId: created.nativeId }, "wiki-editors");
    const [create, grant] = receiver.received.slice(-2);
    expect(create!.body).toEqual({
      operation: webhookOperationId("create", "zoë", { attributes: { displayName: "Zoë" }, enabled: false }),
      system: "hookapp",
      kind: "create",
      username: "zoë",
      nativeId: null,
      attributes: { displayName: "Zoë" },
      enabled: false,
      sentAt: expect.any(String),
    });
    expect(grant!.body).toMatchObject({
      operation: webhookOperationId("grant", "zoë", { entitlement: "wiki-editors" }),
      kind: "grant",
      username: "zoë",
      nativeId: created.nativeId,
      entitlement: "wiki-editors",
    });
    expect(grant!.body!.operation).toMatch(/^[0-9a-f]{64}$/);
    expect(grant!.body!.operation).not.toBe(create!.body!.operation);
    expect(grant!.headers["content-type"]).toBe("application/json");
    expect(grant!.headers["tenure-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(grant!.headers["x-api-key"]).toBe("gateway-key-123456");
    expect((await c.grant({ username: "zoë" }, "wiki-editors")).changed).toBe(false);
    expect((await c.delete({ username: "zoë" })).changed).toBe(true);
    await c.close();
  });

  it("a 503 is a retryable unreachable error carrying Retry-After; the same call then succeeds", async () => {
    const c = connector();
    receiver.queue.push({ status: 503, headers: { "retry-after": "30" }, body: { error: "maintenance" } });
    const err = await errorOf(c.create({ username: "retry-me", attributes: {}, enabled: true }));
    expect(err).toMatchObject({ kind: "unreachable", retryable: true, system: "hookapp" });
    expect(err.message).toContain("HTTP 503");
    expect(err.message).toContain("Retry-After: 30");
    expect(err.message).toContain("maintenance");
    const ok = await c.create({ username: "retry-me", attributes: {}, enabled: true });
    expect(ok.changed).toBe(true);
    const [first, second] = receiver.received.slice(-2);
    expect(second!.body!.operation).toBe(first!.body!.operation);
    await c.delete({ username: "retry-me" });
  });

  it("maps statuses: 429 conflict retryable, 403 permission, 422 invalid, 401 auth — none leaking the secret", async () => {
    const c = connector({ headers: { Authorization: "Bearer gateway-token-abcdef" } });
    const cases: [number, ConnectorError["kind"], boolean][] = [
      [429, "conflict", true],
      [408, "unreachable", true],
      [500, "unreachable", true],
      [403, "permission", false],
      [422, "invalid", false],
      [401, "auth", false],
    ];
    for (const [status, kind, retryable] of cases) {
      receiver.queue.push({ status, body: { error: `echo ${SECRET} gateway-token-abcdef` } });
      const err = await errorOf(c.grant({ username: "someone" }, "x"));
      expect(err, `HTTP ${status}`).toMatchObject({ kind, retryable });
      const everything = inspect(err, { depth: 10, showHidden: true });
      expect(everything).not.toContain(SECRET);
      expect(everything).not.toContain("gateway-token-abcdef");
    }
  });

  it("a receiver that does not answer in time is a retryable unreachable error", async () => {
    const c = connector({ timeoutMs: 100 });
    receiver.queue.push({ status: 200, body: {}, delayMs: 500 });
    const err = await errorOf(c.enable({ username: "slow" }));
    expect(err).toMatchObject({ kind: "unreachable", retryable: true });
    expect(err.message).toContain("100 ms");
  });

  it("a URL's credentials and query never appear in messages", async () => {
    const port = await freePort();
    const c = connectorFor("hookdown", {
      url: `http://127.0.0.1:${port}/hook?token=tok-in-url`,
      secret: SECRET,
    });
    const err = await errorOf(c.disable({ username: "x" }));
    expect(err.kind).toBe("unreachable");
    expect(() => parseWebhookConnectorConfig("h", { url: "http://u:pw@x.test/", secret: SECRET })).toThrow();
    expect(err.message).not.toContain("tok-in-url");
  });

  it("without listUrl, both lists are empty (reconcile sees nothing)", async () => {
    const c = connectorFor("nolist", { url: `${receiver.base}/hook`, secret: SECRET });
    expect(await c.listAccounts()).toEqual([]);
    expect(await c.listEntitlements()).toEqual([]);
  });

  it("a listUrl answer of the wrong shape is an invalid error", async () => {
    const c = connectorFor("badlist", {
      url: `${receiver.base}/hook`,
      listUrl: `${receiver.base}/hook`,
      secret: SECRET,
    });
    const err = await errorOf(c.listAccounts());
    expect(err.kind).not.toBe("unreachable");
  });
});

describe("verifyWebhookSignature", () => {
  const body = JSON.stringify({ kind: "grant", username: "ann" });
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const t = Math.floor(now / 1000);

  it("accepts a fresh signature of the exact body", () => {
    expect(verifyWebhookSignature(SECRET, signWebhookBody(SECRET, t, body), body, now)).toBe(true);
    expect(
      verifyWebhookSignature(
        SECRET,
        signWebhookBody(SECRET, t - 299, body),
        Buffer.from(body),
        new Date(now),
      ),
    ).toBe(true);
  });

  it("rejects a replayed request whose timestamp is outside the window, either way", () => {
    expect(verifyWebhookSignature(SECRET, signWebhookBody(SECRET, t - 301, body), body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signWebhookBody(SECRET, t - 3600, body), body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signWebhookBody(SECRET, t + 301, body), body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signWebhookBody(SECRET, t - 60, body), body, now, 30)).toBe(false);
  });

  it("rejects another secret, a changed body, a moved timestamp and malformed headers", () => {
    const header = signWebhookBody(SECRET, t, body);
    expect(verifyWebhookSignature(`${SECRET}x`, header, body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, `${body} `, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header.replace(`t=${t}`, `t=${t + 1}`), body, now)).toBe(false);
    for (const bad of [undefined, "", "v1=abc", `t=${t}`, `t=abc,v1=${"0".repeat(64)}`, ["x"]]) {
      expect(verifyWebhookSignature(SECRET, bad, body, now)).toBe(false);
    }
  });
});

describe("webhook config", () => {
  it("refuses non-http URLs, short secrets, reserved headers and unknown keys, without echoing them", () => {
    const attempt = (input: unknown) => {
      try {
        parseWebhookConnectorConfig("hooks", input);
        return "";
      } catch (error) {
        return inspect(error, { depth: 5 });
      }
    };
    expect(attempt({ url: "https://example.test/hook", secret: SECRET })).toBe("");
    const bad = attempt({
      url: "ftp://user:leak-pw@example.test/",
      secret: "short-leak",
      headers: { "Tenure-Signature": "x" },
      extra: 1,
    });
    expect(bad).toContain("systems.hooks.url");
    expect(bad).toContain("systems.hooks.secret");
    expect(bad).toContain("systems.hooks.headers");
    expect(bad).toContain("extra");
    expect(bad).not.toContain("leak");
    expect(parseWebhookConnectorConfig("hooks", { url: "http://x.test/", secret: SECRET }).timeoutMs).toBe(
      10_000,
    );
  });
});

afterAll(async () => {
  await conformanceReceiver?.close();
});
