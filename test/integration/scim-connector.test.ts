import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connector, ConnectorError } from "../../src/connectors/connector-types.js";
import {
  createScimConnector,
  ENTERPRISE_USER_SCHEMA,
  parseScimConnectorConfig,
  type ScimConnectorConfigInput,
} from "../../src/connectors/scim/index.js";
import { runConnectorConformance } from "../conformance/connector-conformance.js";
import { freePort } from "../helpers/net.js";
import { type LoggedRequest, type ScimPeer, startScimPeer } from "../helpers/scim-peer.js";

/** Attribute mapping used throughout: a filtered multi-valued path, a sub-attribute and the extension. */
const ATTRIBUTES = {
  email: 'emails[type eq "work"].value',
  displayName: "displayName",
  givenName: "name.givenName",
  department: `${ENTERPRISE_USER_SCHEMA}:department`,
};

/** Fast settings for tests that are not about rate limits or retries. */
const FAST = {
  rateLimit: { requestsPerMinute: 600_000, burst: 1000 },
  retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 2000 },
};

function connectorFor(
  system: string,
  peer: ScimPeer,
  extra: Partial<ScimConnectorConfigInput> = {},
): Connector {
  const input: ScimConnectorConfigInput = {
    baseUrl: peer.baseUrl,
    auth: { type: "bearer", token: peer.token },
    attributes: ATTRIBUTES,
    ...FAST,
    ...extra,
  };
  return createScimConnector(system, parseScimConnectorConfig(system, input));
}

async function errorOf(promise: Promise<unknown>): Promise<ConnectorError> {
  await expect(promise).rejects.toBeInstanceOf(ConnectorError);
  return promise.catch((e: unknown) => e as ConnectorError) as Promise<ConnectorError>;
}

const filtersSent = (peer: ScimPeer, path = "/Users") =>
  peer.requests
    .filter((r) => r.method === "GET" && r.path === path && r.query.filter !== undefined)
    .map((r) => r.query.filter!);

const patchesTo = (peer: ScimPeer, groupId: string): LoggedRequest[] =>
  peer.requests.filter((r) => r.method === "PATCH" && r.path === `/Groups/${groupId}` && !r.fault);

let conformancePeer: ScimPeer | undefined;

runConnectorConformance("scim connector (scimmy peer)", async () => {
  const peer = await startScimPeer();
  conformancePeer = peer;
  peer.createGroup("tenure-conformance-a");
  peer.createGroup("tenure-conformance-b");
  return {
    connector: connectorFor("saas", peer),
    textAttributes: ["email", "displayName", "givenName", "department"],
    // "Refuses use" in SCIM is the service's own `active` flag: ask the peer, not the connector.
    refusesUse: async (username) => {
      const user = peer.user(username);
      if (user === undefined) throw new Error(`the peer holds no user ${username}`);
      return user.active === false;
    },
    unreachable: async () => {
      const port = await freePort();
      return {
        connector: createScimConnector(
          "saasdown",
          parseScimConnectorConfig("saasdown", {
            baseUrl: `http://127.0.0.1:${port}/scim/v2`,
            auth: { type: "bearer", token: peer.token },
            timeoutMs: 2000,
          }),
        ),
        secrets: [peer.token],
      };
    },
    badCredentials: async () => {
      const wrong = `wrong-${peer.token.slice(5)}-x`;
      return {
        connector: connectorFor("saasdenied", peer, { auth: { type: "bearer", token: wrong } }),
        secrets: [wrong, peer.token],
      };
    },
    cleanup: () => peer.close(),
  };
});

afterAll(async () => {
  await conformancePeer?.close();
});

describe("scim connector against the scimmy peer", () => {
  let peer: ScimPeer;
  beforeAll(async () => {
    peer = await startScimPeer();
  });
  afterAll(async () => {
    await peer.close();
  });

  it("creates Users with the mapped core, multi-valued and enterprise attributes", async () => {
    const c = connectorFor("saas", peer);
    const created = await c.create({
      username: "ann.lee",
      attributes: {
        email: "ann@example.test",
        displayName: "Ann Lee",
        givenName: "Ann",
        department: "Sales",
      },
      enabled: false,
    });
    expect(created.changed).toBe(true);
    const stored = peer.user("ann.lee")!;
    expect(stored).toMatchObject({
      id: created.nativeId,
      userName: "ann.lee",
      active: false,
      displayName: "Ann Lee",
      name: { givenName: "Ann" },
      emails: [{ type: "work", value: "ann@example.test" }],
      [ENTERPRISE_USER_SCHEMA]: { department: "Sales" },
    });
    // An update touches only what changed; other elements of `emails` survive.
    peer.clearLog();
    expect(
      (await c.update({ username: "ann.lee" }, { department: "Support", email: "ann@example.test" })).changed,
    ).toBe(true);
    const patch = peer.requests.find((r) => r.method === "PATCH")!;
    expect(patch.body).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: `${ENTERPRISE_USER_SCHEMA}:department`, value: "Support" }],
    });
    expect(peer.user("ann.lee")![ENTERPRISE_USER_SCHEMA]).toEqual({ department: "Support" });
    expect((await c.delete({ username: "ann.lee" })).changed).toBe(true);
  });

  it("finds accounts by userName filter, escaping the value as a JSON string", async () => {
    const c = connectorFor("saas", peer);
    await c.create({ username: "bo.yang", attributes: {}, enabled: true });
    peer.clearLog();
    expect((await c.disable({ username: "bo.yang" })).changed).toBe(true);
    expect(filtersSent(peer)).toEqual(['userName eq "bo.yang"']);
    expect((await c.delete({ username: "bo.yang" })).changed).toBe(true);
  });

  it('quotes and backslashes (O"Brien\\) are escaped, never widen the filter, and still find the account', async () => {
    const c = connectorFor("saas", peer);
    const tricky = 'O"Brien\\';
    // Look-alikes the filter must not confuse with the account.
    await c.create({ username: 'O"Brien', attributes: {}, enabled: true });
    await c.create({ username: "O", attributes: {}, enabled: true });
    peer.clearLog();
    const created = await c.create({
      username: tricky,
      attributes: { displayName: "Tricky" },
      enabled: true,
    });
    expect(created.changed).toBe(true);
    const [first] = filtersSent(peer);
    expect(first).toBe('userName eq "O\\"Brien\\\\"');
    // RFC 7644 §3.4.2.2: the comparison value is a JSON string; parsed as one, it is the username.
    expect(JSON.parse(first!.slice("userName eq ".length))).toBe(tricky);
    expect(peer.user(tricky)?.id).toBe(created.nativeId);
    // scimmy 1.3 rejects escaped quotes (400); the connector widens to `sw "O"` and compares itself.
    expect(await c.create({ username: tricky, attributes: {}, enabled: true })).toEqual({
      changed: false,
      nativeId: created.nativeId,
    });
    expect((await c.update({ username: tricky }, { displayName: "Still tricky" })).changed).toBe(true);
    expect(peer.user(tricky)?.displayName).toBe("Still tricky");
    expect(peer.user('O"Brien')?.displayName).toBeUndefined();
    // A value that would widen an unescaped filter to every user matches nobody.
    const injection = await errorOf(c.enable({ username: 'x" or userName pr "' }));
    expect(injection.kind).toBe("not_found");
    expect((await c.delete({ username: tricky })).changed).toBe(true);
    expect(peer.user(tricky)).toBeUndefined();
    expect(peer.user('O"Brien')).toBeDefined();
    expect((await c.delete({ username: 'O"Brien' })).changed).toBe(true);
    expect((await c.delete({ username: "O" })).changed).toBe(true);
  });

  it("a backslash the server compares unescaped is still found (no duplicate account)", async () => {
    const c = connectorFor("saas", peer);
    const first = await c.create({ username: "dom\\ann", attributes: {}, enabled: true });
    const again = await c.create({ username: "dom\\ann", attributes: {}, enabled: true });
    expect(again).toEqual({ changed: false, nativeId: first.nativeId });
    expect((await c.delete({ username: "dom\\ann" })).changed).toBe(true);
  });

  it("correlates by externalId when configured, with userName mapped from an attribute", async () => {
    const c = connectorFor("okta", peer, {
      correlation: "externalId",
      attributes: { email: "userName", displayName: "displayName" },
    });
    peer.clearLog();
    const created = await c.create({
      username: "E1001",
      attributes: { email: "cy@example.test" },
      enabled: true,
    });
    expect(created.changed).toBe(true);
    expect(peer.user("cy@example.test")).toMatchObject({ externalId: "E1001", id: created.nativeId });
    expect(filtersSent(peer)).toEqual(['externalId eq "E1001"']);
    expect((await c.create({ username: "E1001", attributes: {}, enabled: true })).changed).toBe(false);
    const listed = (await c.listAccounts()).find((a) => a.nativeId === created.nativeId);
    expect(listed).toMatchObject({ username: "E1001", attributes: { email: "cy@example.test" } });
    expect((await c.update({ username: "E1001" }, { email: "cy.new@example.test" })).changed).toBe(true);
    expect(peer.user("cy.new@example.test")?.externalId).toBe("E1001");
    // Another person whose userName is taken by someone else: a conflict retrying cannot fix.
    const taken = await errorOf(
      c.create({ username: "E1002", attributes: { email: "cy.new@example.test" }, enabled: true }),
    );
    expect(taken).toMatchObject({ kind: "conflict", retryable: false });
    expect(taken.message).toContain("409");
    expect((await c.delete({ username: "E1001" })).changed).toBe(true);
  });

  it("createMissingGroups: a grant of a missing group POSTs it with the account as member; without, the error names it", async () => {
    const off = connectorFor("saas", peer);
    const username = `grp-${Date.now()}`;
    await off.create({ username, attributes: {}, enabled: true });
    const refused = await errorOf(off.grant({ username }, "dept-new"));
    expect(refused).toMatchObject({ kind: "invalid", retryable: false, system: "saas" });
    expect(refused.message).toContain("group dept-new does not exist");
    expect(refused.message).toContain("systems.saas.createMissingGroups: true");

    const input: ScimConnectorConfigInput = {
      baseUrl: peer.baseUrl,
      auth: { type: "bearer", token: peer.token },
      attributes: ATTRIBUTES,
      ...FAST,
    };
    const on = createScimConnector(
      "saas",
      parseScimConnectorConfig("saas", input),
      {},
      { createMissingGroups: true },
    );
    peer.clearLog();
    expect(await on.grant({ username }, "dept-new")).toMatchObject({ changed: true });
    expect(peer.requests.filter((r) => r.method === "POST" && r.path === "/Groups")).toHaveLength(1);
    expect(await on.grant({ username }, "dept-new")).toMatchObject({ changed: false });
    expect(peer.requests.filter((r) => r.method === "POST" && r.path === "/Groups")).toHaveLength(1);
    const account = (await on.listAccounts()).find((a) => a.username === username);
    expect(account?.entitlements).toEqual(["dept-new"]);
  });

  it("pages through Users and Groups with startIndex/count", async () => {
    const paged = await startScimPeer({ userGroups: false });
    try {
      const c = connectorFor("saas", paged, { pageSize: 2 });
      const group = paged.createGroup("pagers");
      for (const n of [1, 2, 3]) paged.createGroup(`extra-${n}`);
      const names = [1, 2, 3, 4, 5].map((n) => `pager${n}`);
      for (const username of names) await c.create({ username, attributes: {}, enabled: true });
      await Promise.all(names.slice(0, 3).map((username) => c.grant({ username }, "pagers")));
      paged.clearLog();
      const accounts = await c.listAccounts();
      expect(accounts.map((a) => a.username).sort()).toEqual(names);
      expect(
        accounts
          .filter((a) => a.entitlements.includes("pagers"))
          .map((a) => a.username)
          .sort(),
      ).toEqual(names.slice(0, 3));
      const starts = (path: string) =>
        paged.requests
          .filter((r) => r.method === "GET" && r.path === path)
          .map((r) => [r.query.startIndex, r.query.count]);
      expect(starts("/Users")).toEqual([
        ["1", "2"],
        ["3", "2"],
        ["5", "2"],
      ]);
      // Users carry no `groups` here, so memberships come from the (paged) Groups.
      expect(starts("/Groups")).toEqual([
        ["1", "2"],
        ["3", "2"],
      ]);
      expect((await c.listEntitlements()).map((e) => e.key).sort()).toEqual([
        "extra-1",
        "extra-2",
        "extra-3",
        "pagers",
      ]);
      expect(patchesTo(paged, group)).toHaveLength(0);
    } finally {
      await paged.close();
    }
  });

  it("combines concurrent grants and revokes for one group into one PATCH", async () => {
    const c = connectorFor("saas", peer, { batchWindowMs: 20 });
    const group = peer.createGroup("batched");
    const other = peer.createGroup("batched-other");
    const names = [1, 2, 3, 4, 5].map((n) => `batch-${n}`);
    const ids = await Promise.all(
      names.map(async (username) => (await c.create({ username, attributes: {}, enabled: true })).nativeId!),
    );
    peer.clearLog();
    const granted = await Promise.all([
      ...names.map((username, i) => c.grant({ username, nativeId: ids[i] }, "batched")),
      c.grant({ username: names[0]! }, "batched"),
      c.grant({ username: names[0]! }, "batched-other"),
    ]);
    expect(granted.map((r) => r.changed)).toEqual([true, true, true, true, true, false, true]);
    expect(granted[5]!.nativeId).toBe(ids[0]);
    const [patch] = patchesTo(peer, group);
    expect(patchesTo(peer, group)).toHaveLength(1);
    expect(patchesTo(peer, other)).toHaveLength(1);
    expect(patch!.body).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "add", path: "members", value: ids.map((value) => ({ value })) }],
    });
    const accounts = await c.listAccounts();
    for (const username of names) {
      expect(accounts.find((a) => a.username === username)?.entitlements).toContain("batched");
    }

    peer.clearLog();
    const revoked = await Promise.all([
      c.revoke({ username: names[0]! }, "batched"),
      c.revoke({ username: names[1]! }, "batched"),
      c.revoke({ username: names[1]! }, "batched"),
      c.revoke({ username: "batch-ghost" }, "batched"),
    ]);
    expect(revoked.map((r) => r.changed)).toEqual([true, true, false, false]);
    expect(patchesTo(peer, group)).toHaveLength(1);
    expect((patchesTo(peer, group)[0]!.body as { Operations: unknown[] }).Operations).toEqual([
      { op: "remove", path: `members[value eq "${ids[0]}"]` },
      { op: "remove", path: `members[value eq "${ids[1]}"]` },
    ]);
    const after = await c.listAccounts();
    expect(after.find((a) => a.username === names[0])?.entitlements).toEqual(["batched-other"]);
    expect(after.find((a) => a.username === names[2])?.entitlements).toEqual(["batched"]);
    // A missing group: grant is invalid (Tenure does not create groups), revoke is a no-op.
    const missing = await errorOf(c.grant({ username: names[0]! }, "no-such-group"));
    expect(missing).toMatchObject({ kind: "invalid", retryable: false });
    expect(missing.message).toContain("no-such-group");
    expect((await c.revoke({ username: names[0]! }, "no-such-group")).changed).toBe(false);
    await Promise.all(names.map((username) => c.delete({ username })));
  });

  it("keys entitlements by group id when groups.key is id", async () => {
    const c = connectorFor("saas", peer, { groups: { key: "id" } });
    const group = peer.createGroup("by-id");
    await c.create({ username: "id-user", attributes: {}, enabled: true });
    expect((await c.grant({ username: "id-user" }, group)).changed).toBe(true);
    expect((await c.grant({ username: "id-user" }, group)).changed).toBe(false);
    expect((await c.listAccounts()).find((a) => a.username === "id-user")?.entitlements).toEqual([group]);
    expect((await c.listEntitlements()).find((e) => e.key === group)?.displayName).toBe("by-id");
    expect((await c.revoke({ username: "id-user" }, group)).changed).toBe(true);
    expect((await c.delete({ username: "id-user" })).changed).toBe(true);
  });

  it("honours 429 Retry-After: the next request waits at least that long", async () => {
    const c = connectorFor("saas", peer);
    await c.create({ username: "throttled", attributes: {}, enabled: true });
    peer.clearLog();
    peer.failNext(1, 429, { retryAfter: "1" });
    expect((await c.disable({ username: "throttled" })).changed).toBe(true);
    const [limited, next] = peer.requests;
    expect(limited).toMatchObject({ fault: true, status: 429 });
    expect(next!.fault).toBe(false);
    expect(next!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    expect((await c.delete({ username: "throttled" })).changed).toBe(true);
  });

  it("a Retry-After longer than retry.maxDelayMs fails at once, retryable, for the engine to retry later", async () => {
    const c = connectorFor("saas", peer, { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 500 } });
    peer.clearLog();
    peer.failNext(1, 429, { retryAfter: "120" });
    const started = Date.now();
    const err = await errorOf(c.listEntitlements());
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ kind: "conflict", retryable: true });
    expect(err.message).toContain("HTTP 429");
    expect(err.message).toContain("Retry-After 120 s");
    expect(peer.requests).toHaveLength(1);
  });

  it("retries 5xx with backoff and succeeds; gives up after retry.maxAttempts with a retryable error", async () => {
    const c = connectorFor("saas", peer);
    peer.clearLog();
    peer.failNext(2, 503);
    const created = await c.create({ username: "flaky", attributes: {}, enabled: true });
    expect(created.changed).toBe(true);
    expect(peer.requests.slice(0, 3).map((r) => [r.status, r.fault])).toEqual([
      [503, true],
      [503, true],
      [200, false],
    ]);
    peer.failNext(3, 500, { method: "DELETE" });
    const err = await errorOf(c.delete({ username: "flaky" }));
    expect(err).toMatchObject({ kind: "unreachable", retryable: true, system: "saas" });
    expect(err.message).toContain("delete account flaky");
    expect(err.message).toContain("HTTP 500");
    expect((await c.delete({ username: "flaky" })).changed).toBe(true);
  });

  it("spaces requests by rateLimit, shared by concurrent calls", async () => {
    const c = connectorFor("saas", peer, { rateLimit: { requestsPerMinute: 1200, burst: 1 } });
    // Warm up the connection and the peer's code paths, so the first measured request leaves no later
    // than the others.
    await c.listEntitlements();
    peer.clearLog();
    const started = Date.now();
    await Promise.all(Array.from({ length: 12 }, () => c.listEntitlements()));
    const elapsed = Date.now() - started;
    // 12 requests at 20 a second: the first at once, then one every 50 ms.
    expect(elapsed).toBeGreaterThanOrEqual(11 * 50 - 10);
    const times = peer.requests.map((r) => r.at);
    expect(times).toHaveLength(12);
    // Arrival at the peer jitters with both event loops: a request that leaves late shortens the gap to
    // the next one by as much, so spacing is checked over every pair of gaps (100 ms nominal) and over
    // the run. Without the limiter every gap would be ~0 ms.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(11 * 50 - 20);
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(60);
  });

  it("never puts the token or password into an error, even when the server echoes it", async () => {
    const c = connectorFor("saas", peer);
    peer.failNext(1, 400, { detail: `bad request from Bearer ${peer.token}` });
    const echoed = await errorOf(c.listEntitlements());
    expect(echoed).toMatchObject({ kind: "invalid", retryable: false });
    expect(echoed.message).toContain("bad request from Bearer ***");
    expect(inspect(echoed, { depth: 10, showHidden: true })).not.toContain(peer.token);

    const password = "s3cret-basic-password";
    const basic = connectorFor("saasbasic", peer, { auth: { type: "basic", username: "tenure", password } });
    const denied = await errorOf(basic.listAccounts());
    expect(denied).toMatchObject({ kind: "auth", retryable: false, system: "saasbasic" });
    expect(denied.message).toMatch(
      /^saasbasic: list accounts: GET http:\/\/127\.0\.0\.1:\d+\/scim\/v2\/Users answered HTTP 401/,
    );
    const everything = inspect(denied, { depth: 10, showHidden: true });
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(Buffer.from(`tenure:${password}`).toString("base64"));
  });

  it("refuses unmapped attributes before any request", async () => {
    const c = connectorFor("saas", peer);
    peer.clearLog();
    const err = await errorOf(c.create({ username: "x", attributes: { shoeSize: "44" }, enabled: true }));
    expect(err).toMatchObject({ kind: "invalid", retryable: false });
    expect(err.message).toContain("shoeSize");
    expect(peer.requests).toHaveLength(0);
  });
});

describe("scim config", () => {
  const attempt = (input: unknown) => {
    try {
      parseScimConnectorConfig("slack", input);
      return "";
    } catch (error) {
      return inspect(error, { depth: 5 });
    }
  };

  it("applies defaults: userName correlation, displayName group keys, 600 requests a minute", () => {
    const config = parseScimConnectorConfig("slack", {
      baseUrl: "https://api.slack.test/scim/v2",
      auth: { type: "bearer", token: "xoxp-token-value" },
    });
    expect(config).toMatchObject({
      correlation: "userName",
      groups: { key: "displayName" },
      pageSize: 100,
      rateLimit: { requestsPerMinute: 600, burst: 1 },
      retry: { maxAttempts: 4 },
      batchWindowMs: 10,
    });
    expect(Object.isFrozen(config.auth)).toBe(true);
  });

  it("names every problem by path and never echoes the token or URL", () => {
    const bad = attempt({
      baseUrl: "ftp://leak-user:leak-pw@x.test/scim?token=leak-query",
      auth: { type: "bearer", token: "" },
      attributes: { email: "emails[type eq work].value", id: "id", status: 'emails[type eq "work"]' },
      retry: { baseDelayMs: 500, maxDelayMs: 100 },
      extra: true,
    });
    for (const path of [
      "baseUrl",
      "auth.token",
      "attributes.email",
      "attributes.id",
      "attributes.status",
      "retry.maxDelayMs",
    ]) {
      expect(bad).toContain(`systems.slack.${path}`);
    }
    expect(bad).toContain("extra");
    expect(bad).not.toContain("leak");
  });

  it("refuses mapping the correlation attribute", () => {
    const bad = attempt({
      baseUrl: "https://x.test/scim/v2",
      auth: { type: "basic", username: "u", password: "p" },
      correlation: "externalId",
      attributes: { employeeId: "externalId" },
    });
    expect(bad).toContain("systems.slack.attributes.employeeId");
  });
});
