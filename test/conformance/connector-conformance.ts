import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Account, type Connector, ConnectorError } from "../../src/connectors/connector-types.js";

/** A connector that is expected to fail, with the secrets its configuration holds. */
export interface ConformanceErrorCase {
  connector: Connector;
  /** Passwords or tokens in its configuration; no message or error property may contain them. */
  secrets?: readonly string[];
}

/** What a connector test file hands the suite: a working connector and what the target can do. */
export interface ConformanceTarget {
  /** A connector to a target the suite may write to freely. The suite closes it (twice, to test that). */
  connector: Connector;
  /**
   * Two entitlement keys `grant` accepts. Default `["tenure-conformance-a", "tenure-conformance-b"]`.
   * Targets whose groups must exist beforehand create these in setup.
   */
  entitlements?: readonly [string, string];
  /**
   * Configured attribute names holding free text (UTF-8, apostrophes); at least one. The suite writes
   * them and reads them back. Default `["displayName"]`.
   */
  textAttributes?: readonly string[];
  /** Whether `listEntitlements` shows an entitlement once it is granted. Default true. */
  listsGrantedEntitlements?: boolean;
  /**
   * Asks the target itself whether it refuses use (login, bind) of the account. When given, disable must
   * make it refuse and enable must make it accept again.
   */
  refusesUse?: (username: string) => Promise<boolean>;
  /** A connector to the same kind of system at an address where nothing answers (a closed port). */
  unreachable?: () => Promise<ConformanceErrorCase>;
  /** A connector whose credentials the target rejects. */
  badCredentials?: () => Promise<ConformanceErrorCase>;
  /** Removes what setup created. Runs after the suite has closed the connector. */
  cleanup: () => Promise<void>;
}

/**
 * Registers the tests every `Connector` must pass (connector-types.ts contract) in a `describe(name)`.
 * `setup` runs once before them; the tests run in order on that one target and share accounts, the
 * way a real lifecycle does: create → update → disable → enable → grant → revoke → delete.
 * Usernames carry a random suffix, so a shared target may hold other data.
 */
export function runConnectorConformance(name: string, setup: () => Promise<ConformanceTarget>): void {
  describe(name, () => {
    let target: ConformanceTarget | undefined;
    let connector: Connector;
    let system: string;
    let entitlements: readonly [string, string];
    let textAttributes: readonly string[];
    const suffix = randomBytes(3).toString("hex");
    const user = (label: string) => `conf-${label}-${suffix}`;

    const attrs = (value: string) => Object.fromEntries(textAttributes.map((a) => [a, `${value} ${a}`]));
    const listed = async (username: string): Promise<Account | undefined> => {
      const accounts = await connector.listAccounts();
      const matches = accounts.filter((a) => a.username === username);
      expect(matches.length, `accounts named ${username}`).toBeLessThanOrEqual(1);
      return matches[0];
    };
    const mustList = async (username: string): Promise<Account> => {
      const account = await listed(username);
      expect(account, `${username} is listed`).toBeDefined();
      return account!;
    };
    const expectAttributes = (account: Account, expected: Record<string, string | null>) => {
      for (const [attribute, value] of Object.entries(expected)) {
        expect(account.attributes[attribute] ?? null, `attribute ${attribute}`).toBe(value);
      }
    };
    const expectConnectorError = async (
      promise: Promise<unknown>,
      expected: {
        kind?: ConnectorError["kind"];
        retryable: boolean;
        system: string;
        secrets?: readonly string[];
      },
    ) => {
      const err = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, "throws").toBeInstanceOf(ConnectorError);
      const ce = err as ConnectorError;
      expect(ce.system).toBe(expected.system);
      expect(ce.message.startsWith(`${expected.system}: `), ce.message).toBe(true);
      expect(ce.retryable, ce.message).toBe(expected.retryable);
      if (expected.kind !== undefined) expect(ce.kind, ce.message).toBe(expected.kind);
      const everything = inspect(ce, { depth: 10, showHidden: true });
      for (const secret of expected.secrets ?? []) expect(everything).not.toContain(secret);
      return ce;
    };

    const state = { id: "" };
    const alice = user("alice");

    beforeAll(async () => {
      target = await setup();
      connector = target.connector;
      system = connector.describe().system;
      entitlements = target.entitlements ?? ["tenure-conformance-a", "tenure-conformance-b"];
      textAttributes = target.textAttributes ?? ["displayName"];
    });

    afterAll(async () => {
      if (target === undefined) return;
      await connector.close();
      await connector.close();
      await target.cleanup();
    });

    it("describes itself", () => {
      const description = connector.describe();
      expect(description.type).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(description.system).not.toBe("");
      expect(typeof description.disableRefusesUse).toBe("boolean");
      expect(typeof description.supportsRotation).toBe("boolean");
      // This suite reads every write back; a connector that cannot (manual) has its own lifecycle test.
      expect(description.readsAccounts).toBe(true);
    });

    it("create makes an enabled account, listed with its attributes and no entitlements", async () => {
      expect(await listed(alice)).toBeUndefined();
      const result = await connector.create({ username: alice, attributes: attrs("Alice"), enabled: true });
      expect(result.changed).toBe(true);
      expect(result.nativeId).toEqual(expect.any(String));
      expect(result.nativeId).not.toBe("");
      state.id = result.nativeId!;
      const account = await mustList(alice);
      expect(account.nativeId).toBe(state.id);
      expect(account.enabled).toBe(true);
      expect(account.entitlements).toEqual([]);
      expectAttributes(account, attrs("Alice"));
      if (target!.refusesUse) expect(await target!.refusesUse(alice)).toBe(false);
    });

    it("create again is a no-op: changed false, the same native id, nothing duplicated or altered", async () => {
      const result = await connector.create({ username: alice, attributes: attrs("Other"), enabled: false });
      expect(result).toMatchObject({ changed: false, nativeId: state.id });
      const account = await mustList(alice);
      expect(account.enabled).toBe(true);
      expectAttributes(account, attrs("Alice"));
    });

    it("update changes attributes; the same update again reports changed false", async () => {
      const ref = { username: alice, nativeId: state.id };
      expect((await connector.update(ref, attrs("Alicia"))).changed).toBe(true);
      expectAttributes(await mustList(alice), attrs("Alicia"));
      expect((await connector.update(ref, attrs("Alicia"))).changed).toBe(false);
      expect((await connector.update(ref, {})).changed).toBe(false);
    });

    it("update with null clears an attribute", async () => {
      const ref = { username: alice, nativeId: state.id };
      const [first] = textAttributes;
      expect((await connector.update(ref, { [first!]: null })).changed).toBe(true);
      expect((await mustList(alice)).attributes[first!] ?? null).toBeNull();
      expect((await connector.update(ref, { [first!]: null })).changed).toBe(false);
      expect((await connector.update(ref, attrs("Alicia"))).changed).toBe(true);
    });

    it("disable turns the account off; again reports changed false", async () => {
      const ref = { username: alice, nativeId: state.id };
      expect((await connector.disable(ref)).changed).toBe(true);
      expect((await mustList(alice)).enabled).toBe(false);
      if (target!.refusesUse) expect(await target!.refusesUse(alice)).toBe(true);
      expect((await connector.disable(ref)).changed).toBe(false);
      expect((await mustList(alice)).enabled).toBe(false);
    });

    it("enable turns it back on; again reports changed false", async () => {
      const ref = { username: alice, nativeId: state.id };
      expect((await connector.enable(ref)).changed).toBe(true);
      expect((await mustList(alice)).enabled).toBe(true);
      if (target!.refusesUse) expect(await target!.refusesUse(alice)).toBe(false);
      expect((await connector.enable(ref)).changed).toBe(false);
      expectAttributes(await mustList(alice), attrs("Alicia"));
    });

    it("grant adds an entitlement; again reports changed false", async () => {
      const ref = { username: alice, nativeId: state.id };
      expect((await connector.grant(ref, entitlements[0])).changed).toBe(true);
      expect((await mustList(alice)).entitlements).toEqual([entitlements[0]]);
      expect((await connector.grant(ref, entitlements[0])).changed).toBe(false);
      expect((await connector.grant(ref, entitlements[1])).changed).toBe(true);
      expect([...(await mustList(alice)).entitlements].sort()).toEqual([...entitlements].sort());
      if (target!.listsGrantedEntitlements !== false) {
        const keys = (await connector.listEntitlements()).map((e) => e.key);
        expect(keys).toEqual(expect.arrayContaining([...entitlements]));
        expect(new Set(keys).size).toBe(keys.length);
      }
    });

    it("revoke removes an entitlement; again reports changed false", async () => {
      const ref = { username: alice, nativeId: state.id };
      expect((await connector.revoke(ref, entitlements[0])).changed).toBe(true);
      expect((await mustList(alice)).entitlements).toEqual([entitlements[1]]);
      expect((await connector.revoke(ref, entitlements[0])).changed).toBe(false);
      expect((await mustList(alice)).entitlements).toEqual([entitlements[1]]);
    });

    it("an AccountRef without a native id finds the account by username", async () => {
      const ref = { username: alice };
      expect((await connector.disable(ref)).changed).toBe(true);
      expect((await connector.enable({ username: alice, nativeId: null })).changed).toBe(true);
      expect((await connector.grant(ref, entitlements[0])).changed).toBe(true);
      expect((await connector.revoke(ref, entitlements[0])).changed).toBe(true);
      expect((await mustList(alice)).entitlements).toEqual([entitlements[1]]);
    });

    it("delete removes the account; again reports changed false", async () => {
      const ref = { username: alice, nativeId: state.id };
      expect((await connector.delete(ref)).changed).toBe(true);
      expect(await listed(alice)).toBeUndefined();
      expect((await connector.delete(ref)).changed).toBe(false);
      expect((await connector.delete({ username: alice })).changed).toBe(false);
    });

    it("an account created again after delete starts without the old entitlements", async () => {
      const result = await connector.create({ username: alice, attributes: attrs("Alice"), enabled: true });
      expect(result.changed).toBe(true);
      expect((await mustList(alice)).entitlements).toEqual([]);
      expect((await connector.delete({ username: alice, nativeId: result.nativeId })).changed).toBe(true);
    });

    it("create with enabled false makes a disabled account (pre-hire)", async () => {
      const username = user("prehire");
      const result = await connector.create({ username, attributes: attrs("Pre"), enabled: false });
      expect(result.changed).toBe(true);
      expect((await mustList(username)).enabled).toBe(false);
      if (target!.refusesUse) expect(await target!.refusesUse(username)).toBe(true);
      expect((await connector.enable({ username, nativeId: result.nativeId })).changed).toBe(true);
      expect((await mustList(username)).enabled).toBe(true);
      expect((await connector.delete({ username, nativeId: result.nativeId })).changed).toBe(true);
    });

    it("apostrophes and non-ASCII letters round-trip in usernames and attributes", async () => {
      const username = `o'brien-zoë-${suffix}`;
      const value = "Zoë O'Brien “Ωmega” Łódź";
      const result = await connector.create({ username, attributes: attrs(value), enabled: true });
      expect(result.changed).toBe(true);
      const account = await mustList(username);
      expect(account.username).toBe(username);
      expectAttributes(account, attrs(value));
      expect((await connector.create({ username, attributes: {}, enabled: true })).changed).toBe(false);
      expect((await connector.grant({ username }, entitlements[0])).changed).toBe(true);
      expect((await mustList(username)).entitlements).toEqual([entitlements[0]]);
      expect((await connector.delete({ username })).changed).toBe(true);
      expect(await listed(username)).toBeUndefined();
    });

    it("writes to an absent account: update, enable, disable, grant throw not_found; revoke, delete are no-ops", async () => {
      const ref = { username: user("ghost") };
      const expected = { kind: "not_found" as const, retryable: false, system };
      await expectConnectorError(connector.update(ref, attrs("Ghost")), expected);
      await expectConnectorError(connector.enable(ref), expected);
      await expectConnectorError(connector.disable(ref), expected);
      await expectConnectorError(connector.grant(ref, entitlements[0]), expected);
      expect((await connector.revoke(ref, entitlements[0])).changed).toBe(false);
      expect((await connector.delete(ref)).changed).toBe(false);
      expect(await listed(ref.username)).toBeUndefined();
    });

    it("concurrent creates of one username make one account and report one change", async () => {
      const username = user("race");
      const spec = { username, attributes: attrs("Race"), enabled: true };
      const results = await Promise.all([1, 2, 3, 4].map(() => connector.create(spec)));
      expect(results.filter((r) => r.changed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.nativeId)).size).toBe(1);
      await mustList(username);
      const grants = await Promise.all([1, 2, 3].map(() => connector.grant({ username }, entitlements[0])));
      expect(grants.filter((r) => r.changed)).toHaveLength(1);
      expect((await mustList(username)).entitlements).toEqual([entitlements[0]]);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("concurrent operations on different accounts all succeed", async () => {
      const names = [1, 2, 3, 4, 5].map((n) => user(`batch${n}`));
      const created = await Promise.all(
        names.map((username) => connector.create({ username, attributes: attrs(username), enabled: true })),
      );
      expect(created.every((r) => r.changed)).toBe(true);
      await Promise.all(names.map((username) => connector.grant({ username }, entitlements[1])));
      const accounts = (await connector.listAccounts()).filter((a) => names.includes(a.username));
      expect(accounts).toHaveLength(names.length);
      for (const account of accounts) expect(account.entitlements).toEqual([entitlements[1]]);
      const deleted = await Promise.all(names.map((username) => connector.delete({ username })));
      expect(deleted.every((r) => r.changed)).toBe(true);
    });

    it("an unreachable target throws a retryable ConnectorError naming the system", async (ctx) => {
      if (target!.unreachable === undefined) return ctx.skip();
      const { connector: down, secrets } = await target!.unreachable();
      const downSystem = down.describe().system;
      try {
        const expected = { retryable: true, system: downSystem, secrets };
        const err = await expectConnectorError(down.listAccounts(), expected);
        expect(err.kind).toBe("unreachable");
        await expectConnectorError(
          down.create({ username: user("down"), attributes: {}, enabled: true }),
          expected,
        );
      } finally {
        await down.close();
        await down.close();
      }
    });

    it("rejected credentials throw a non-retryable auth ConnectorError without the secret", async (ctx) => {
      if (target!.badCredentials === undefined) return ctx.skip();
      const { connector: denied, secrets } = await target!.badCredentials();
      const deniedSystem = denied.describe().system;
      try {
        const expected = { kind: "auth" as const, retryable: false, system: deniedSystem, secrets };
        await expectConnectorError(denied.listAccounts(), expected);
        await expectConnectorError(denied.grant({ username: user("denied") }, entitlements[0]), expected);
      } finally {
        await denied.close();
      }
    });
  });
}
