/**
 * The `ldap` connector against a private OpenLDAP slapd (test/helpers/slapd.ts): the shared conformance
 * suite with the ppolicy disable strategy (a disabled account's bind is refused by the server) and with
 * the moveToOu strategy, plus hostile usernames and group names, password binds, the last member of a
 * groupOfNames, and error mapping (missing base, a bind DN without write access).
 */

import { randomBytes } from "node:crypto";
import { Attribute, Change, Client, InvalidCredentialsError } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connector, ConnectorError } from "../../src/connectors/connector-types.js";
import { createLdapConnector } from "../../src/connectors/ldap/ldap-connector.js";
import { escapeDnValue, escapeFilterValue } from "../../src/connectors/ldap/ldap-escape.js";
import {
  type LdapConnectorConfigInput,
  parseLdapConnectorConfig,
} from "../../src/connectors/ldap/ldap-schemas.js";
import { runConnectorConformance } from "../conformance/connector-conformance.js";
import { freePort } from "../helpers/net.js";
import {
  ADMIN_DN,
  enableLastBind,
  findSlapd,
  SLAPD_INSTALL,
  type Slapd,
  SUFFIX,
  startSlapd,
} from "../helpers/slapd.js";

const installed = (await findSlapd()) !== undefined;
if (!installed) {
  const message = `slapd is not installed; install it: ${SLAPD_INSTALL}`;
  if (process.env.CI === "true") {
    it("slapd is installed (required under CI=true)", () => {
      throw new Error(message);
    });
  } else {
    console.warn(`skipping ldap connector tests: ${message}`);
    describe.skip(`ldap connector — ${message}`, () => {
      it("skipped", () => {});
    });
  }
}

const slapd: Slapd | undefined = installed ? await startSlapd() : undefined;
afterAll(async () => {
  await slapd?.stop();
});

const rand = () => randomBytes(4).toString("hex");

/** Fresh organisational units for one suite, so suites do not see each other's accounts. */
async function freshTree(s: Slapd, label: string, groupNames: readonly string[]) {
  const people = `ou=${label}-people-${rand()},${SUFFIX}`;
  const disabled = `ou=${label}-disabled-${rand()},${SUFFIX}`;
  const groups = `ou=${label}-groups-${rand()},${SUFFIX}`;
  const admin = await s.admin();
  try {
    for (const dn of [people, disabled, groups]) {
      await admin.add(dn, { objectClass: "organizationalUnit", ou: dn.slice(3, dn.indexOf(",")) });
    }
    for (const name of groupNames) {
      await admin.add(`cn=${escapeDnValue(name)},${groups}`, {
        objectClass: "groupOfNames",
        cn: name,
        member: ADMIN_DN,
      });
    }
  } finally {
    await admin.unbind();
  }
  return { people, disabled, groups };
}

function configInput(
  s: Slapd,
  tree: { people: string; groups: string },
  extra: Partial<LdapConnectorConfigInput> = {},
): LdapConnectorConfigInput {
  return {
    url: s.url,
    bindDn: s.adminDn,
    bindPassword: s.adminPassword,
    users: {
      base: tree.people,
      attributes: { displayName: "displayName", email: "mail", title: "title" },
      passwordAttribute: "userPassword",
    },
    groups: { base: tree.groups },
    timeoutMs: 3000,
    ...extra,
  };
}

/** Binds as the entry with this uid under `base`; true when the server refuses (invalidCredentials). */
async function bindRefused(s: Slapd, base: string, username: string, password: string): Promise<boolean> {
  const admin = await s.admin();
  let dn: string;
  try {
    const { searchEntries } = await admin.search(base, { filter: `(uid=${escapeFilterValue(username)})` });
    expect(searchEntries).toHaveLength(1);
    dn = searchEntries[0]!.dn;
  } finally {
    await admin.unbind();
  }
  const client = new Client({ url: s.url, timeout: 3000, connectTimeout: 3000 });
  try {
    await client.bind(dn, password);
    return false;
  } catch (err) {
    if (err instanceof InvalidCredentialsError) return true;
    throw err;
  } finally {
    await client.unbind().catch(() => {});
  }
}

/** The conformance suite's error cases: a closed loopback port, and a wrong admin password. */
function errorCases(s: Slapd, tree: { people: string; groups: string }) {
  return {
    unreachable: async () => {
      const port = await freePort();
      return {
        connector: createLdapConnector(
          "directory-down",
          parseLdapConnectorConfig(
            "down",
            configInput(s, tree, { url: `ldap://127.0.0.1:${port}`, bindPassword: "down-secret-xyz" }),
          ),
        ),
        secrets: ["down-secret-xyz"],
      };
    },
    badCredentials: async () => ({
      connector: createLdapConnector(
        "directory-denied",
        parseLdapConnectorConfig("denied", configInput(s, tree, { bindPassword: "wrong-secret-xyz" })),
      ),
      secrets: ["wrong-secret-xyz", s.adminPassword],
    }),
  };
}

if (slapd !== undefined) {
  const s = slapd;
  const conformanceGroups = ["readers, (EU)*", "#admins+\\"] as const;

  runConnectorConformance("ldap connector conformance on OpenLDAP (ppolicy disable)", async () => {
    const tree = await freshTree(s, "conf", conformanceGroups);
    const password = `pw-${rand()}`;
    return {
      connector: createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree)),
      ),
      entitlements: conformanceGroups,
      textAttributes: ["displayName", "title"],
      // The suite creates accounts without a password: give each one, as the admin, before binding.
      refusesUse: async (username) => {
        const admin = await s.admin();
        try {
          const { searchEntries } = await admin.search(tree.people, {
            filter: `(uid=${escapeFilterValue(username)})`,
            attributes: ["userPassword", "pwdAccountLockedTime"],
          });
          const entry = searchEntries[0]!;
          // ldapts lists a requested attribute the entry lacks as an empty array.
          const absent = (value: unknown) => [value ?? []].flat().length === 0;
          if (absent(entry.userPassword)) {
            const replace = (type: string, value: string) =>
              new Change({ operation: "replace", modification: new Attribute({ type, values: [value] }) });
            await admin.modify(entry.dn, replace("userPassword", password));
            // ppolicy unlocks an account whose password an administrator sets: lock it again.
            if (!absent(entry.pwdAccountLockedTime)) {
              await admin.modify(entry.dn, replace("pwdAccountLockedTime", "000001010000Z"));
            }
          }
        } finally {
          await admin.unbind();
        }
        return bindRefused(s, tree.people, username, password);
      },
      ...errorCases(s, tree),
      cleanup: async () => {},
    };
  });

  runConnectorConformance("ldap connector conformance on OpenLDAP (moveToOu disable)", async () => {
    const tree = await freshTree(s, "move", ["move-a", "move-b"]);
    return {
      connector: createLdapConnector(
        "directory-move",
        parseLdapConnectorConfig(
          "directory-move",
          configInput(s, tree, { disable: { strategy: "moveToOu", disabledBase: tree.disabled } }),
        ),
      ),
      entitlements: ["move-a", "move-b"],
      textAttributes: ["displayName", "title"],
      ...errorCases(s, tree),
      cleanup: async () => {},
    };
  });

  describe("ldap connector on OpenLDAP", () => {
    const hostile = ["O'Brien", "Zoë, Ltd+", "*)(uid=*))(|(uid=*", "#admin"] as const;
    const injection = hostile[2];
    const passwords = Object.fromEntries(hostile.map((u) => [u, `pw-${rand()}`]));
    let tree: Awaited<ReturnType<typeof freshTree>>;
    let connector: Connector;

    beforeAll(async () => {
      tree = await freshTree(s, "inject", ["staff", "ops (EU)*"]);
      connector = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree)),
      );
    });
    afterAll(async () => {
      await connector?.close();
    });

    it("hostile usernames round-trip and operations on one touch nothing else", async () => {
      for (const username of hostile) {
        const result = await connector.create({
          username,
          attributes: { displayName: `Name of ${username}`, password: passwords[username]! },
          enabled: true,
        });
        expect(result.changed).toBe(true);
      }
      const listed = await connector.listAccounts();
      expect(listed.map((a) => a.username).sort()).toEqual([...hostile].sort());
      for (const account of listed) {
        expect(account.enabled).toBe(true);
        expect(account.attributes.displayName).toBe(`Name of ${account.username}`);
        // The password is write-only.
        expect(Object.keys(account.attributes).sort()).toEqual(["displayName", "email", "title"]);
      }

      expect((await connector.disable({ username: injection })).changed).toBe(true);
      const afterDisable = await connector.listAccounts();
      for (const account of afterDisable) expect(account.enabled).toBe(account.username !== injection);
      for (const username of hostile) {
        expect(await bindRefused(s, tree.people, username, passwords[username]!)).toBe(
          username === injection,
        );
      }

      for (const username of hostile) {
        expect((await connector.grant({ username }, "ops (EU)*")).changed).toBe(true);
      }
      expect((await connector.revoke({ username: injection }, "ops (EU)*")).changed).toBe(true);
      expect((await connector.update({ username: injection }, { displayName: "changed" })).changed).toBe(
        true,
      );
      const afterRevoke = await connector.listAccounts();
      for (const account of afterRevoke) {
        expect(account.entitlements).toEqual(account.username === injection ? [] : ["ops (EU)*"]);
        expect(account.attributes.displayName).toBe(
          account.username === injection ? "changed" : `Name of ${account.username}`,
        );
      }

      expect((await connector.delete({ username: injection })).changed).toBe(true);
      const afterDelete = await connector.listAccounts();
      expect(afterDelete.map((a) => a.username).sort()).toEqual(
        hostile.filter((u) => u !== injection).sort(),
      );
      for (const account of afterDelete) {
        expect(account.enabled).toBe(true);
        expect(account.entitlements).toEqual(["ops (EU)*"]);
      }
      expect((await connector.delete({ username: "*" })).changed).toBe(false);
      expect(await connector.listAccounts()).toHaveLength(hostile.length - 1);
    });

    it("a disabled (ppolicy) account can no longer bind with its password; enabled it can", async () => {
      const username = `binder-${rand()}`;
      const password = `pw-${rand()}`;
      await connector.create({ username, attributes: { password }, enabled: true });
      expect(await bindRefused(s, tree.people, username, password)).toBe(false);
      expect(await bindRefused(s, tree.people, username, "not-the-password")).toBe(true);
      expect((await connector.disable({ username })).changed).toBe(true);
      expect(await bindRefused(s, tree.people, username, password)).toBe(true);
      expect((await connector.enable({ username })).changed).toBe(true);
      expect(await bindRefused(s, tree.people, username, password)).toBe(false);
      // ppolicy unlocks an account whose password an administrator sets; the connector locks it again.
      await connector.disable({ username });
      expect((await connector.update({ username }, { password: `${password}-x` })).changed).toBe(true);
      expect((await connector.listAccounts()).find((a) => a.username === username)?.enabled).toBe(false);
      expect(await bindRefused(s, tree.people, username, `${password}-x`)).toBe(true);
      await connector.enable({ username });
      await connector.update({ username }, { password });
      // The same password again is no change; a new one is.
      expect((await connector.update({ username }, { password })).changed).toBe(false);
      expect((await connector.update({ username }, { password: `${password}-2` })).changed).toBe(true);
      expect(await bindRefused(s, tree.people, username, `${password}-2`)).toBe(false);
      expect((await connector.delete({ username })).changed).toBe(true);
    });

    it("an account created disabled with a password stays disabled", async () => {
      const username = `prehire-${rand()}`;
      const password = `pw-${rand()}`;
      await connector.create({ username, attributes: { password }, enabled: false });
      expect((await connector.listAccounts()).find((a) => a.username === username)?.enabled).toBe(false);
      expect(await bindRefused(s, tree.people, username, password)).toBe(true);
      await connector.enable({ username });
      expect(await bindRefused(s, tree.people, username, password)).toBe(false);
      await connector.delete({ username });
    });

    it("revoking the last member of a groupOfNames leaves the configured placeholder", async () => {
      const username = `last-${rand()}`;
      const group = `solo-${rand()}`;
      const created = await connector.create({ username, attributes: {}, enabled: true });
      const admin = await s.admin();
      try {
        const { searchEntries } = await admin.search(tree.people, {
          filter: `(uid=${escapeFilterValue(username)})`,
        });
        await admin.add(`cn=${group},${tree.groups}`, {
          objectClass: "groupOfNames",
          cn: group,
          member: searchEntries[0]!.dn,
        });
        expect((await connector.revoke({ username, nativeId: created.nativeId }, group)).changed).toBe(true);
        const after = await admin.search(tree.groups, { filter: `(cn=${group})`, attributes: ["member"] });
        expect(after.searchEntries[0]!.member).toBe(ADMIN_DN);
        expect((await connector.listAccounts()).every((a) => !a.entitlements.includes(group))).toBe(true);
        expect((await connector.grant({ username }, group)).changed).toBe(true);
        expect((await connector.delete({ username })).changed).toBe(true);
        const gone = await admin.search(tree.groups, { filter: `(cn=${group})`, attributes: ["member"] });
        expect(gone.searchEntries[0]!.member).toBe(ADMIN_DN);
      } finally {
        await admin.unbind();
      }
    });

    it("reuses bound connections, and replaces one the server dropped while it was idle", async () => {
      const clients: Client[] = [];
      const pooled = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", { ...configInput(s, tree), maxConnections: 2 }),
        {
          newClient: (options) => {
            const client = new Client(options);
            clients.push(client);
            return client;
          },
        },
      );
      try {
        const username = `pool-${rand()}`;
        await pooled.create({ username, attributes: {}, enabled: true });
        for (let i = 0; i < 10; i++) await pooled.grant({ username }, "staff");
        expect(clients.length).toBe(1);
        // The server (or a firewall) closes the idle connection: the next call must not fail for it.
        const socket = (clients[0] as unknown as { socket?: { destroy(): void } }).socket;
        expect(socket, "ldapts keeps its socket as client.socket").toBeDefined();
        socket!.destroy();
        expect((await pooled.revoke({ username }, "staff")).changed).toBe(true);
        expect(clients.length).toBe(2);
        await Promise.all(Array.from({ length: 6 }, () => pooled.grant({ username }, "staff")));
        await pooled.delete({ username });
      } finally {
        await pooled.close();
        await pooled.close();
      }
      await expect(pooled.listAccounts()).rejects.toThrow(/closed/);
    });

    it("keeps as many bound connections as the system's concurrency when maxConnections is not set", async () => {
      const clients: Client[] = [];
      const pooled = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree)),
        {
          newClient: (options) => {
            const client = new Client(options);
            clients.push(client);
            return client;
          },
        },
        { concurrency: 16 },
      );
      try {
        const username = `keep-${rand()}`;
        await pooled.create({ username, attributes: {}, enabled: true });
        // Rounds of 16 calls at once: the connections of the first round serve the others. With 8
        // kept (the old default) every round connected and bound 8 more.
        for (let round = 0; round < 4; round++) {
          await Promise.all(Array.from({ length: 16 }, () => pooled.grant({ username }, "staff")));
        }
        expect(clients.length).toBeLessThanOrEqual(16);
        await pooled.delete({ username });
      } finally {
        await pooled.close();
      }
    });

    it("a missing base is invalid, not retryable; an unknown group is invalid", async () => {
      const missing = createLdapConnector(
        "directory",
        parseLdapConnectorConfig(
          "directory",
          configInput(s, { people: `ou=nowhere,${SUFFIX}`, groups: tree.groups }),
        ),
      );
      const err = await missing.listAccounts().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ kind: "invalid", retryable: false, system: "directory" });
      expect((err as Error).message).toMatch(
        /^directory: list accounts failed on ldap:\/\/127\.0\.0\.1:\d+ \(no such object, result 32/,
      );
      const username = `nogroup-${rand()}`;
      await connector.create({ username, attributes: {}, enabled: true });
      await expect(connector.grant({ username }, "no-such-group")).rejects.toMatchObject({ kind: "invalid" });
      await connector.delete({ username });
    });

    it("a wrong bind password says 'invalid credentials' in words, with the code, and not the password", async () => {
      const denied = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree, { bindPassword: "wrong-secret-xyz" })),
      );
      try {
        const err = await denied.listAccounts().catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: "auth", retryable: false });
        expect((err as Error).message).toMatch(/\(invalid credentials, result 49: /);
        expect((err as Error).message).not.toContain("wrong-secret-xyz");
      } finally {
        await denied.close();
      }
    });

    it("createMissingGroups: a grant of a missing group creates it with the account as first member", async () => {
      const username = `joiner-${rand()}`;
      await connector.create({ username, attributes: {}, enabled: true });
      const group = `dept-${rand()}, R&D+`;
      // Off (the default): the error names the group, where it was looked for, and the option.
      const refused = await connector.grant({ username }, group).catch((e: unknown) => e);
      expect(refused).toMatchObject({ kind: "invalid", retryable: false, system: "directory" });
      expect((refused as Error).message).toContain(
        `group ${group} does not exist under groups.base (${tree.groups})`,
      );
      expect((refused as Error).message).toContain("systems.directory.createMissingGroups: true");

      const creating = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree)),
        undefined,
        { createMissingGroups: true },
      );
      try {
        expect(await creating.grant({ username }, group)).toMatchObject({ changed: true });
        expect(await creating.grant({ username }, group)).toMatchObject({ changed: false });
        const admin = await s.admin();
        try {
          const { searchEntries } = await admin.search(tree.groups, {
            filter: `(cn=${escapeFilterValue(group)})`,
          });
          expect(searchEntries).toHaveLength(1);
          expect(searchEntries[0]!.objectClass).toBe("groupOfNames");
          expect(String(searchEntries[0]!.member)).toContain(`uid=${username},`);
        } finally {
          await admin.unbind();
        }
        const account = (await creating.listAccounts()).find((a) => a.username === username);
        expect(account?.entitlements).toEqual([group]);
        expect((await creating.listEntitlements()).map((e) => e.key)).toContain(group);
      } finally {
        await creating.delete({ username });
        await creating.close();
      }
    });

    it("a bind DN without write access gets a non-retryable permission error", async () => {
      const username = `reader-${rand()}`;
      const password = `pw-${rand()}`;
      await connector.create({ username, attributes: { password }, enabled: true });
      const readOnly = createLdapConnector(
        "directory",
        parseLdapConnectorConfig(
          "directory",
          configInput(s, tree, { bindDn: `uid=${username},${tree.people}`, bindPassword: password }),
        ),
      );
      expect((await readOnly.listAccounts()).some((a) => a.username === username)).toBe(true);
      const err = await readOnly
        .create({ username: `x-${rand()}`, attributes: {}, enabled: true })
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ kind: "permission", retryable: false });
      expect((err as Error).message).not.toContain(password);
      await connector.delete({ username });
    });
  });

  describe("last use", () => {
    it("reads authTimestamp of the lastbind overlay when configured; nothing when not", async () => {
      await enableLastBind(s);
      const tree = await freshTree(s, "lastuse", []);
      const connector = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree, { lastUsedAttribute: "authTimestamp" })),
      );
      const plain = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree)),
      );
      try {
        const used = `used-${rand()}`;
        const idle = `idle-${rand()}`;
        for (const username of [used, idle]) {
          await connector.create({ username, attributes: { password: `pw-${username}` }, enabled: true });
        }
        const before = Date.now();
        expect(await bindRefused(s, tree.people, used, `pw-${used}`)).toBe(false);
        const accounts = await connector.listAccounts();
        const lastUse = accounts.find((a) => a.username === used)?.lastUsedAt;
        expect(lastUse).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
        expect(Math.abs(Date.parse(lastUse!) - before)).toBeLessThan(60_000);
        expect(accounts.find((a) => a.username === idle)?.lastUsedAt).toBeNull();
        // Not configured: last use is not reported at all (not "never used").
        expect((await plain.listAccounts()).find((a) => a.username === used)).not.toHaveProperty(
          "lastUsedAt",
        );
      } finally {
        await connector.close();
        await plain.close();
      }
    });

    it("reads a FILETIME or a generalized time from any attribute, and a value that is neither as never", async () => {
      const tree = await freshTree(s, "lastattr", []);
      const connector = createLdapConnector(
        "directory",
        parseLdapConnectorConfig("directory", configInput(s, tree, { lastUsedAttribute: "title" })),
      );
      try {
        const values = {
          [`ft-${rand()}`]: "134092183970000000",
          [`gt-${rand()}`]: "20251203085317+0200",
          [`bad-${rand()}`]: "last tuesday",
          [`zero-${rand()}`]: "0",
        };
        for (const [username, title] of Object.entries(values)) {
          await connector.create({ username, attributes: { title }, enabled: true });
        }
        const read = new Map((await connector.listAccounts()).map((a) => [a.username, a.lastUsedAt]));
        expect(Object.keys(values).map((u) => read.get(u))).toEqual([
          "2025-12-03T06:53:17.000Z",
          "2025-12-03T06:53:17.000Z",
          null,
          null,
        ]);
      } finally {
        await connector.close();
      }
    });
  });
}
