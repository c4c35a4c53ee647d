/**
 * The `ldap` connector in Active Directory mode against a real Samba AD DC (test/helpers/samba.ts):
 * the shared conformance suite, where disable must make a real bind as the user — with the password
 * from the sink file — fail with AD's "account disabled" (data 533) and enable must make it work again;
 * plus what only AD mode does: userAccountControl flags other than ACCOUNTDISABLE kept, hostile names
 * carried in the DN and displayName next to valid sAMAccountNames with a decoy left untouched, paged
 * listing past AD's 1000-entry page, password rotation, TLS verification with a CA file, and errors.
 *
 * Samba listens on fixed ports, so this is the only test file that starts it. Every entry this file
 * creates lives in OUs with a random name, in a copy of the domain that is thrown away afterwards.
 */

import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { Attribute, Change, Client } from "ldapts";
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
import { lastPasswordOf, readSinkFile } from "../helpers/password-sink-file.js";
import {
  AD_UPN_SUFFIX,
  findSamba,
  SAMBA_INSTALL,
  type SambaAd,
  type SambaSeed,
  startSambaAd,
} from "../helpers/samba.js";

const installed = (await findSamba()) !== undefined;
if (!installed) {
  const message = `Samba AD is not installed; install it: ${SAMBA_INSTALL}`;
  if (process.env.CI === "true") {
    it("Samba AD is installed (required under CI=true)", () => {
      throw new Error(message);
    });
  } else {
    console.warn(`skipping ldap Active Directory tests: ${message}`);
    describe.skip(`ldap connector on Active Directory — ${message}`, () => {
      it("skipped", () => {});
    });
  }
}

/** More users than AD serves in one page (MaxPageSize 1000), made once and kept in the cached domain. */
const BULK_USERS = 1200;
const BULK_OU = "OU=Bulk,DC=example,DC=test";
const bulkSeed: SambaSeed = {
  key: `bulk-${BULK_USERS}-v1`,
  populate: async (admin) => {
    await admin.add(BULK_OU, { objectClass: "organizationalUnit", ou: "Bulk" });
    // Several requests in flight on the one connection: Samba answers each as soon as it is written.
    let next = 0;
    const worker = async () => {
      while (next < BULK_USERS) {
        const n = String(next++).padStart(4, "0");
        await admin.add(`CN=Bulk ${n},${BULK_OU}`, {
          objectClass: "user",
          sAMAccountName: `bulk-${n}`,
          displayName: `Bulk ${n}`,
          userAccountControl: "514",
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  },
};

const samba: SambaAd | undefined = installed ? await startSambaAd({ seed: bulkSeed }) : undefined;
const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-ad-"));
const sinkFile = path.join(workDir, "passwords.jsonl");
afterAll(async () => {
  await samba?.stop();
  await fs.rm(workDir, { recursive: true, force: true });
});

const rand = () => randomBytes(3).toString("hex");

async function withAdmin<T>(s: SambaAd, fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = await s.admin();
  try {
    return await fn(admin);
  } finally {
    await admin.unbind();
  }
}

interface Tree {
  people: string;
  groups: string;
}

/** A fresh OU with People and Groups below it, and the given groups (cn = name). */
async function freshTree(s: SambaAd, label: string, groupNames: readonly string[]): Promise<Tree> {
  const top = `OU=${label}-${rand()},${s.baseDn}`;
  const tree = { people: `OU=People,${top}`, groups: `OU=Groups,${top}` };
  await withAdmin(s, async (admin) => {
    await admin.add(top, { objectClass: "organizationalUnit" });
    for (const dn of [tree.people, tree.groups]) await admin.add(dn, { objectClass: "organizationalUnit" });
    for (const name of groupNames) {
      await admin.add(`CN=${escapeDnValue(name)},${tree.groups}`, {
        objectClass: "group",
        sAMAccountName: `g-${rand()}`,
        description: `Group ${name}`,
      });
    }
  });
  return tree;
}

function configInput(
  s: SambaAd,
  tree: Tree,
  extra: Partial<LdapConnectorConfigInput> = {},
): LdapConnectorConfigInput {
  return {
    directory: "activeDirectory",
    url: s.ldapsUrl,
    tlsCaFile: s.caFile,
    bindDn: s.adminDn,
    bindPassword: s.adminPassword,
    users: {
      base: tree.people,
      rdnFrom: "displayName",
      upnSuffix: AD_UPN_SUFFIX,
      attributes: { displayName: "displayName", email: "mail", title: "title" },
    },
    groups: { base: tree.groups },
    passwordSink: { file: sinkFile },
    timeoutMs: 5000,
    ...extra,
  };
}

const connectorOf = (s: SambaAd, tree: Tree, system = "ad", extra: Partial<LdapConnectorConfigInput> = {}) =>
  createLdapConnector(system, parseLdapConnectorConfig(system, configInput(s, tree, extra)));

/** The entry of a sAMAccountName, read as the administrator. */
async function entryOf(s: SambaAd, username: string, attributes: string[] = ["cn"]) {
  return withAdmin(s, async (admin) => {
    const { searchEntries } = await admin.search(s.baseDn, {
      filter: `(sAMAccountName=${escapeFilterValue(username)})`,
      attributes: ["userAccountControl", ...attributes],
    });
    expect(searchEntries, `entries named ${username}`).toHaveLength(1);
    return searchEntries[0]!;
  });
}

/** Binds as `login` (a DN or a UPN); `ok`, or AD's reason code (`data 533`: disabled, `52e`: wrong password). */
async function bindAs(s: SambaAd, login: string, password: string): Promise<string> {
  const client = new Client({
    url: s.ldapsUrl,
    tlsOptions: { ca: await fs.readFile(s.caFile) },
    timeout: 5000,
  });
  try {
    await client.bind(login, password);
    return "ok";
  } catch (err) {
    const data = /\bdata ([0-9a-f]+)/i.exec(String((err as Error).message))?.[1];
    if (data === undefined) throw err;
    return data;
  } finally {
    await client.unbind().catch(() => {});
  }
}

/** Whether AD refuses the user's bind with the sink's password because the account is disabled. */
async function refusesUse(s: SambaAd, username: string): Promise<boolean> {
  const { dn } = await entryOf(s, username);
  const outcome = await bindAs(s, dn, await lastPasswordOf(sinkFile, username));
  if (outcome === "ok") return false;
  expect(outcome, `bind refusal of ${username} (533: account disabled)`).toBe("533");
  return true;
}

if (samba !== undefined) {
  const s = samba;

  it("the domain answers over LDAPS with a certificate verified against its CA file", async () => {
    if (s.provisionMs > 0)
      console.info(`Samba AD provisioned and seeded in ${s.provisionMs} ms (now cached)`);
    const entries = await withAdmin(
      s,
      async (admin) => (await admin.search(s.baseDn, { scope: "base" })).searchEntries,
    );
    expect(entries[0]?.dn).toMatch(/^DC=example,DC=test$/i);
  });

  const conformanceGroups = ["readers, (EU)*", "#admins+\\"] as const;
  runConnectorConformance("ldap connector conformance on Samba AD (userAccountControl disable)", async () => {
    const tree = await freshTree(s, "conf", conformanceGroups);
    return {
      connector: connectorOf(s, tree, "ad"),
      entitlements: conformanceGroups,
      textAttributes: ["displayName", "title"],
      refusesUse: (username) => refusesUse(s, username),
      unreachable: async () => ({
        connector: connectorOf(s, tree, "ad-down", {
          url: `ldaps://127.0.0.1:${await freePort()}`,
          bindPassword: "down-secret-xyz",
        }),
        secrets: ["down-secret-xyz"],
      }),
      badCredentials: async () => ({
        connector: connectorOf(s, tree, "ad-denied", { bindPassword: "wrong-secret-xyz" }),
        secrets: ["wrong-secret-xyz", s.adminPassword],
      }),
      cleanup: async () => {},
    };
  });

  describe("ldap connector on Samba AD", () => {
    let tree: Tree;
    let connector: Connector;

    beforeAll(async () => {
      tree = await freshTree(s, "ad", ["staff", "ops (EU)*"]);
      connector = connectorOf(s, tree);
    });
    afterAll(async () => {
      await connector?.close();
    });

    it("create delivers a generated password to the sink first; the user binds by DN and by UPN", async () => {
      const username = `new-${rand()}`;
      const result = await connector.create({
        username,
        attributes: { displayName: `New ${username}`, email: `${username}@example.test` },
        enabled: true,
      });
      expect(result).toMatchObject({ changed: true, nativeId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      const lines = (await readSinkFile(sinkFile)).filter((e) => e.username === username);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ system: "ad", username });
      const password = lines[0]!.password;
      expect(password.length).toBeGreaterThanOrEqual(32);
      const entry = await entryOf(s, username, ["cn", "userPrincipalName", "objectGUID"]);
      expect(entry.cn).toBe(`New ${username}`);
      expect(entry.userPrincipalName).toBe(`${username}@${AD_UPN_SUFFIX}`);
      expect(entry.userAccountControl).toBe("512");
      expect(await bindAs(s, entry.dn, password)).toBe("ok");
      expect(await bindAs(s, `${username}@${AD_UPN_SUFFIX}`, password)).toBe("ok");
      expect(await bindAs(s, entry.dn, `${password}x`)).toBe("52e");
      // The password is never listed, and the account's id is its objectGUID.
      const listed = (await connector.listAccounts()).find((a) => a.username === username)!;
      expect(listed.nativeId).toBe(result.nativeId);
      expect(JSON.stringify(listed)).not.toContain(password);
      expect((await connector.delete({ username, nativeId: result.nativeId })).changed).toBe(true);
    });

    it("disable and enable flip only ACCOUNTDISABLE: other userAccountControl flags stay", async () => {
      const username = `flags-${rand()}`;
      await connector.create({ username, attributes: { displayName: username }, enabled: true });
      const { dn } = await entryOf(s, username);
      // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD, as an administrator might have set it.
      await withAdmin(s, (admin) =>
        admin.modify(
          dn,
          new Change({
            operation: "replace",
            modification: new Attribute({ type: "userAccountControl", values: [String(0x10200)] }),
          }),
        ),
      );
      expect((await connector.disable({ username })).changed).toBe(true);
      expect((await entryOf(s, username)).userAccountControl).toBe(String(0x10202));
      expect(await refusesUse(s, username)).toBe(true);
      expect((await connector.enable({ username })).changed).toBe(true);
      expect((await entryOf(s, username)).userAccountControl).toBe(String(0x10200));
      expect(await refusesUse(s, username)).toBe(false);
      await connector.delete({ username });
    });

    it("a prehire account is created disabled with its password set, and enabled later", async () => {
      const username = `pre-${rand()}`;
      await connector.create({ username, attributes: { displayName: username }, enabled: false });
      expect((await entryOf(s, username)).userAccountControl).toBe("514");
      expect(await refusesUse(s, username)).toBe(true);
      await connector.enable({ username });
      expect((await entryOf(s, username)).userAccountControl).toBe("512");
      expect(await refusesUse(s, username)).toBe(false);
      await connector.delete({ username });
    });

    it("hostile names live in the DN and displayName; operations on one touch nothing else", async () => {
      // sAMAccountName forbids " / \ [ ] : ; | = , + * ? < >: the hostile strings that it refuses are
      // display names (and so CNs) of accounts with ordinary logon names.
      const people = [
        { username: "O'Brien", displayName: "O'Brien" },
        { username: "#admin", displayName: "#admin" },
        { username: `zoe-${rand()}`, displayName: "Zoë, Ltd+" },
        { username: `inj-${rand()}`, displayName: "*)(uid=*))(|(uid=*" },
        { username: `decoy-${rand()}`, displayName: "Decoy" },
      ];
      const injection = people[3]!.username;
      const decoy = people[4]!.username;
      const local = connectorOf(s, await freshTree(s, "hostile", ["ops (EU)*"]));
      try {
        for (const p of people) {
          const result = await local.create({
            username: p.username,
            attributes: { displayName: p.displayName },
            enabled: true,
          });
          expect(result.changed, p.username).toBe(true);
          expect((await entryOf(s, p.username)).cn, `cn of ${p.username}`).toBe(p.displayName);
        }
        const names = (accounts: { username: string }[]) => accounts.map((a) => a.username).sort();
        const all = people.map((p) => p.username).sort();
        expect(names(await local.listAccounts())).toEqual(all);

        // A username that is itself a filter or DN attack finds nothing and changes nothing.
        const attack = people[3]!.displayName;
        await expect(local.create({ username: attack, attributes: {}, enabled: true })).rejects.toMatchObject(
          {
            kind: "invalid",
            retryable: false,
          },
        );
        await expect(local.disable({ username: attack })).rejects.toMatchObject({ kind: "not_found" });
        await expect(local.disable({ username: "*" })).rejects.toMatchObject({ kind: "not_found" });
        expect((await local.delete({ username: "*" })).changed).toBe(false);
        expect((await local.revoke({ username: "*" }, "*")).changed).toBe(false);

        expect((await local.disable({ username: injection })).changed).toBe(true);
        for (const p of people) {
          expect(await refusesUse(s, p.username), `bind of ${p.username}`).toBe(p.username === injection);
        }
        for (const p of people)
          expect((await local.grant({ username: p.username }, "ops (EU)*")).changed).toBe(true);
        expect((await local.revoke({ username: injection }, "ops (EU)*")).changed).toBe(true);
        expect((await local.update({ username: injection }, { displayName: "changed" })).changed).toBe(true);
        for (const account of await local.listAccounts()) {
          const hit = account.username === injection;
          expect(account.enabled, account.username).toBe(!hit);
          expect(account.entitlements, account.username).toEqual(hit ? [] : ["ops (EU)*"]);
          const original = people.find((p) => p.username === account.username)!.displayName;
          expect(account.attributes.displayName, account.username).toBe(hit ? "changed" : original);
        }

        expect((await local.delete({ username: injection })).changed).toBe(true);
        const rest = await local.listAccounts();
        expect(names(rest)).toEqual(all.filter((u) => u !== injection));
        const untouched = rest.find((a) => a.username === decoy)!;
        expect(untouched).toMatchObject({
          enabled: true,
          entitlements: ["ops (EU)*"],
          attributes: { displayName: "Decoy" },
        });
        expect(await refusesUse(s, decoy)).toBe(false);
      } finally {
        for (const p of people) await local.delete({ username: p.username });
        await local.close();
      }
    });

    it("a second account with a taken display name is named 'name (username)'", async () => {
      const [a, b] = [`twin-${rand()}`, `twin-${rand()}`];
      await connector.create({ username: a, attributes: { displayName: "Jane Smith" }, enabled: true });
      await connector.create({ username: b, attributes: { displayName: "Jane Smith" }, enabled: true });
      expect((await entryOf(s, a)).cn).toBe("Jane Smith");
      expect((await entryOf(s, b)).cn).toBe(`Jane Smith (${b})`);
      const listed = (await connector.listAccounts()).filter((x) => [a, b].includes(x.username));
      expect(listed.map((x) => x.attributes.displayName)).toEqual(["Jane Smith", "Jane Smith"]);
      await connector.delete({ username: a });
      await connector.delete({ username: b });
    });

    it("an invalid sAMAccountName is refused before anything is written, the sink included", async () => {
      const before = (await readSinkFile(sinkFile)).length;
      for (const username of ["Zoë, Ltd+", "a-name-longer-than-20-chars", "trailing."]) {
        const err = await connector
          .create({ username, attributes: {}, enabled: true })
          .catch((e: unknown) => e);
        expect(err, username).toBeInstanceOf(ConnectorError);
        expect(err).toMatchObject({ kind: "invalid", retryable: false });
        expect((err as Error).message).toMatch(/sAMAccountName/);
      }
      expect((await readSinkFile(sinkFile)).length).toBe(before);
    });

    it("lists memberships made outside Tenure, only for groups under groups.base, and no computers", async () => {
      const username = `member-${rand()}`;
      await connector.create({ username, attributes: { displayName: username }, enabled: true });
      const { dn } = await entryOf(s, username);
      // A group outside groups.base is not an entitlement of this system.
      const outside = `CN=outside-${rand()},${tree.people}`;
      await withAdmin(s, async (admin) => {
        const add = new Change({
          operation: "add",
          modification: new Attribute({ type: "member", values: [dn] }),
        });
        await admin.modify(`CN=staff,${tree.groups}`, add);
        await admin.add(outside, { objectClass: "group", sAMAccountName: `o-${rand()}` });
        await admin.modify(outside, add);
        await admin.add(`CN=pc-${rand()},${tree.people}`, {
          objectClass: "computer",
          sAMAccountName: `pc-${rand()}$`,
        });
      });
      const listed = await connector.listAccounts();
      expect(listed.find((a) => a.username === username)?.entitlements).toEqual(["staff"]);
      expect(
        listed.every((a) => !a.username.endsWith("$")),
        "computers are not accounts",
      ).toBe(true);
      expect((await connector.revoke({ username }, "staff")).changed).toBe(true);
      expect((await connector.revoke({ username }, "staff")).changed).toBe(false);
      await connector.delete({ username });
      // AD drops a deleted object from its groups itself.
      const still = await withAdmin(s, (admin) =>
        admin.search(outside, { scope: "base", attributes: ["member"] }),
      );
      expect([still.searchEntries[0]?.member ?? []].flat()).toEqual([]);
    });

    it(`lists all ${BULK_USERS} users of an OU, more than one AD page, at any page size`, async () => {
      for (const pageSize of [1000, 250]) {
        const bulk = createLdapConnector(
          "ad-bulk",
          parseLdapConnectorConfig("ad-bulk", {
            ...configInput(s, tree),
            users: { base: BULK_OU },
            pageSize,
          }),
        );
        try {
          const accounts = await bulk.listAccounts();
          expect(accounts, `pageSize ${pageSize}`).toHaveLength(BULK_USERS);
          expect(new Set(accounts.map((a) => a.nativeId)).size).toBe(BULK_USERS);
          expect(accounts.every((a) => /^bulk-\d{4}$/.test(a.username) && !a.enabled)).toBe(true);
        } finally {
          await bulk.close();
        }
      }
    });

    it("rotateCredential delivers a new password and sets it; a disabled account stays disabled", async () => {
      const username = `rot-${rand()}`;
      expect(connector.describe()).toMatchObject({ disableRefusesUse: true, supportsRotation: true });
      await connector.create({ username, attributes: { displayName: "Rot Ation" }, enabled: true });
      const first = await lastPasswordOf(sinkFile, username);
      expect((await connector.rotateCredential!({ username })).changed).toBe(true);
      const second = await lastPasswordOf(sinkFile, username);
      expect(second).not.toBe(first);
      const { dn } = await entryOf(s, username);
      expect(await bindAs(s, dn, first)).toBe("52e");
      expect(await bindAs(s, dn, second)).toBe("ok");
      await connector.disable({ username });
      await connector.rotateCredential!({ username });
      expect(await refusesUse(s, username)).toBe(true);
      await expect(connector.rotateCredential!({ username: `ghost-${rand()}` })).rejects.toMatchObject({
        kind: "not_found",
      });
      await connector.delete({ username });
    });

    it("verifies the server certificate: refused without the CA file, accepted with it, also over StartTLS", async () => {
      const untrusted = connectorOf(s, tree, "ad-tls", { tlsCaFile: undefined });
      const err = await untrusted.listAccounts().catch((e: unknown) => e);
      await untrusted.close();
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ kind: "auth", retryable: false });
      expect((err as Error).message).toMatch(/self-signed certificate.*tlsCaFile/);
      expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(s.adminPassword);

      const testOnly = connectorOf(s, tree, "ad-tls", { tlsCaFile: undefined, tlsRejectUnauthorized: false });
      const startTls = connectorOf(s, tree, "ad-tls", { url: s.ldapUrl, startTls: true });
      const missingCa = connectorOf(s, tree, "ad-tls", { tlsCaFile: path.join(workDir, "no-such-ca.pem") });
      try {
        expect(Array.isArray(await testOnly.listAccounts())).toBe(true);
        const username = `tls-${rand()}`;
        expect((await startTls.create({ username, attributes: {}, enabled: true })).changed).toBe(true);
        expect(await refusesUse(s, username)).toBe(false);
        expect((await startTls.delete({ username })).changed).toBe(true);
        await expect(missingCa.listAccounts()).rejects.toMatchObject({
          kind: "invalid",
          message: expect.stringMatching(/cannot read tlsCaFile .*no-such-ca\.pem \(ENOENT\)/),
        });
      } finally {
        await Promise.all([testOnly.close(), startTls.close(), missingCa.close()]);
      }
    });

    it("a bind DN that may not create accounts gets a non-retryable permission error without secrets", async () => {
      const username = `plain-${rand()}`;
      await connector.create({ username, attributes: { displayName: username }, enabled: true });
      const password = await lastPasswordOf(sinkFile, username);
      const readOnly = connectorOf(s, tree, "ad-plain", {
        bindDn: `${username}@${AD_UPN_SUFFIX}`,
        bindPassword: password,
      });
      try {
        expect((await readOnly.listAccounts()).some((a) => a.username === username)).toBe(true);
        const other = `x-${rand()}`;
        const err = await readOnly.create({ username: other, attributes: {}, enabled: true }).catch((e) => e);
        expect(err).toBeInstanceOf(ConnectorError);
        expect(err).toMatchObject({ kind: "permission", retryable: false });
        const everything = inspect(err, { depth: 10, showHidden: true });
        expect(everything).not.toContain(password);
        expect(everything).not.toContain(await lastPasswordOf(sinkFile, other));
      } finally {
        await readOnly.close();
      }
      // Disabled, the same account can no longer even bind: AD's reason is in the message.
      await connector.disable({ username });
      const refused = connectorOf(s, tree, "ad-plain", {
        bindDn: `${username}@${AD_UPN_SUFFIX}`,
        bindPassword: password,
      });
      const err = await refused.listAccounts().catch((e: unknown) => e);
      await refused.close();
      expect(err).toMatchObject({ kind: "auth", retryable: false });
      expect((err as Error).message).toMatch(/data 533.*Active Directory: account disabled/);
      expect((err as Error).message).not.toContain(password);
      await connector.delete({ username });
    });
  });

  it("reads last use from lastLogonTimestamp, which Samba writes at a user's simple bind", async () => {
    const tree = await freshTree(s, "lastuse", []);
    const connector = connectorOf(s, tree);
    try {
      const spec = (username: string) => ({
        username,
        attributes: { displayName: `Last ${username}`, email: null, title: null },
        enabled: true,
      });
      const used = `lu-${rand()}`;
      const idle = `li-${rand()}`;
      await connector.create(spec(used));
      await connector.create(spec(idle));
      const before = Date.now();
      expect(await bindAs(s, `${used}@${AD_UPN_SUFFIX}`, await lastPasswordOf(sinkFile, used))).toBe("ok");
      const accounts = await connector.listAccounts();
      const lastUse = accounts.find((a) => a.username === used)?.lastUsedAt;
      // A FILETIME read as an ISO-8601 instant, at the bind (the DC's clock is this machine's).
      expect(lastUse).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(lastUse!) - before)).toBeLessThan(60_000);
      // Never logged on: the attribute is absent, read as never used (null), not as unknown.
      expect(accounts.find((a) => a.username === idle)?.lastUsedAt).toBeNull();
      const off = connectorOf(s, tree, "ad", { lastUsedAttribute: null });
      try {
        expect((await off.listAccounts()).find((a) => a.username === used)).not.toHaveProperty("lastUsedAt");
      } finally {
        await off.close();
      }
    } finally {
      await connector.close();
    }
  });
}
