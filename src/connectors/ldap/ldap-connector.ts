import { Attribute, Change, Client, type ClientOptions, type Entry } from "ldapts";
import {
  type Account,
  type AccountRef,
  type AccountSpec,
  type Connector,
  ConnectorError,
  type EntitlementInfo,
  type WriteResult,
} from "../connector-types.js";
import { ldapResultCode, toLdapConnectorError } from "./ldap-errors.js";
import { escapeDnValue, escapeFilterValue, isUnderDn, normalizeDn } from "./ldap-escape.js";
import type { LdapConnectorConfig } from "./ldap-schemas.js";

/** The slice of the ldapts `Client` the connector uses (a test may hand in another implementation). */
export type LdapClient = Pick<
  Client,
  "bind" | "startTLS" | "search" | "add" | "modify" | "modifyDN" | "del" | "compare" | "unbind"
>;

export interface LdapConnectorDeps {
  newClient(options: ClientOptions): LdapClient;
}

/** The Tenure attribute written to `users.passwordAttribute`; write-only. */
export const PASSWORD_ATTRIBUTE = "password";

/** ppolicy: a lock time in the distant past means "locked until an administrator unlocks". */
const PERMANENT_LOCK = "000001010000Z";
const LOCK_ATTRIBUTE = "pwdAccountLockedTime";

const RESULT = {
  noSuchAttribute: 16,
  attributeOrValueExists: 20,
  noSuchObject: 32,
  objectClassViolation: 65,
  entryAlreadyExists: 68,
} as const;

interface UserEntry {
  dn: string;
  nativeId: string;
  username: string;
  enabled: boolean;
  values: (ldapAttribute: string) => string[];
}

interface GroupEntry {
  dn: string;
  key: string;
  members: string[];
  description: string | null;
}

/** Values of one attribute of a search entry, whatever case the server spelled its name in. */
function reader(entry: Entry): (attribute: string) => string[] {
  const byName = new Map<string, Entry[string]>();
  for (const [name, value] of Object.entries(entry)) byName.set(name.toLowerCase(), value);
  return (attribute) => {
    const value = byName.get(attribute.toLowerCase());
    if (value === undefined) return [];
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v)));
  };
}

/** The first RDN of a DN as written (`uid=x`), split at the first comma that is not escaped. */
function firstRdn(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === "\\") i++;
    else if (dn[i] === ",") return dn.slice(0, i);
  }
  return dn;
}

/**
 * The `ldap` connector (OpenLDAP and other RFC 4511 directories): accounts are entries under
 * `users.base`, entitlements are groups under `groups.base`, disable is a ppolicy lock or a move.
 *
 * Every call opens its own connection and binds as `bindDn`, so calls may run concurrently; races
 * between them are settled by the server (entryAlreadyExists, attributeOrValueExists, noSuchAttribute
 * are read as "already so"). Every value placed in a filter is escaped per RFC 4515 and every DN value
 * per RFC 4514.
 */
export function createLdapConnector(
  system: string,
  config: LdapConnectorConfig,
  deps: LdapConnectorDeps = { newClient: (options) => new Client(options) },
): Connector {
  const secrets = [config.bindPassword];
  const target = config.url;
  const { users, groups, disable } = config;
  const disabledBase = disable.strategy === "moveToOu" ? disable.disabledBase : undefined;
  const userBases = [
    users.base,
    ...(disabledBase !== undefined && !isUnderDn(disabledBase, users.base) ? [disabledBase] : []),
  ];
  const userObjectFilter = users.objectClasses.map((oc) => `(objectClass=${escapeFilterValue(oc)})`).join("");
  const groupObjectFilter = `(objectClass=${escapeFilterValue(groups.objectClass)})`;
  const isDnMember = groups.memberAttribute !== "memberUid";
  const userAttributes = [
    users.usernameAttribute,
    "entryUUID",
    ...(disable.strategy === "ppolicy" ? [LOCK_ATTRIBUTE] : []),
    ...Object.values(users.attributes),
  ];
  const personLike = users.objectClasses.some((oc) =>
    ["inetorgperson", "organizationalperson", "person"].includes(oc.toLowerCase()),
  );

  // Bound connections kept between calls: connecting and binding per call cost more than the write.
  const idle: LdapClient[] = [];
  let closed = false;

  async function connect(): Promise<LdapClient> {
    const client = deps.newClient({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is set, so only for ldaps://.
      ...(/^ldaps:/i.test(config.url)
        ? { tlsOptions: { rejectUnauthorized: config.tlsRejectUnauthorized } }
        : {}),
    });
    try {
      if (config.startTls) await client.startTLS({ rejectUnauthorized: config.tlsRejectUnauthorized });
      await client.bind(config.bindDn, config.bindPassword);
      return client;
    } catch (err) {
      await client.unbind().catch(() => {});
      throw err;
    }
  }

  async function release(client: LdapClient): Promise<void> {
    if (!closed && idle.length < config.maxConnections) idle.push(client);
    else await client.unbind().catch(() => {});
  }

  /**
   * Runs `fn` on a bound connection from the pool (or a new one) and gives the connection back when
   * `fn` succeeds. A connection that failed is dropped, never reused: its state is unknown. When a
   * pooled connection fails on the transport (the server closed an idle connection), `fn` runs once
   * more on a fresh one — every call is idempotent, so that is safe.
   */
  async function session<T>(what: string, fn: (client: LdapClient) => Promise<T>): Promise<T> {
    if (closed) throw new ConnectorError(system, "other", "connector is closed");
    for (let attempt = 0; ; attempt++) {
      const pooled = idle.pop();
      let client: LdapClient | undefined = pooled;
      try {
        client ??= await connect();
        const result = await fn(client);
        await release(client);
        return result;
      } catch (err) {
        // An LDAP result (or our own verdict) came back over a working connection; anything else
        // means the connection itself is in doubt.
        const transport = !(err instanceof ConnectorError) && ldapResultCode(err) === undefined;
        if (client !== undefined) {
          if (transport) await client.unbind().catch(() => {});
          else await release(client);
        }
        if (transport && pooled !== undefined && attempt === 0) continue;
        throw toLdapConnectorError(system, what, target, err, secrets);
      }
    }
  }

  function toUser(entry: Entry): UserEntry {
    const values = reader(entry);
    return {
      dn: entry.dn,
      nativeId: values("entryUUID")[0] ?? entry.dn,
      username: values(users.usernameAttribute)[0] ?? "",
      enabled:
        disable.strategy === "ppolicy"
          ? values(LOCK_ATTRIBUTE).length === 0
          : !isUnderDn(entry.dn, disable.disabledBase),
      values,
    };
  }

  async function searchUsers(client: LdapClient, filter: string): Promise<UserEntry[]> {
    const seen = new Map<string, UserEntry>();
    for (const base of userBases) {
      const { searchEntries } = await client.search(base, {
        scope: "sub",
        filter: `(&${userObjectFilter}${filter})`,
        attributes: userAttributes,
        paged: { pageSize: config.pageSize },
      });
      for (const entry of searchEntries) seen.set(normalizeDn(entry.dn), toUser(entry));
    }
    return [...seen.values()];
  }

  async function findUser(client: LdapClient, ref: AccountRef): Promise<UserEntry | undefined> {
    const filter =
      ref.nativeId !== undefined && ref.nativeId !== null && ref.nativeId !== ""
        ? `(entryUUID=${escapeFilterValue(ref.nativeId)})`
        : `(${users.usernameAttribute}=${escapeFilterValue(ref.username)})`;
    const found = await searchUsers(client, filter);
    if (found.length > 1) {
      throw new ConnectorError(system, "conflict", `${found.length} entries match account ${ref.username}`, {
        retryable: false,
      });
    }
    return found[0];
  }

  async function mustFindUser(client: LdapClient, ref: AccountRef): Promise<UserEntry> {
    const user = await findUser(client, ref);
    if (user === undefined) {
      throw new ConnectorError(system, "not_found", `account ${ref.username} does not exist`);
    }
    return user;
  }

  function toGroup(entry: Entry): GroupEntry {
    const values = reader(entry);
    return {
      dn: entry.dn,
      key: values(groups.keyAttribute)[0] ?? "",
      members: values(groups.memberAttribute),
      description: values("description")[0] ?? null,
    };
  }

  async function searchGroups(client: LdapClient, filter: string, withMembers = true): Promise<GroupEntry[]> {
    const { searchEntries } = await client.search(groups.base, {
      scope: "sub",
      filter: `(&${groupObjectFilter}${filter})`,
      attributes: [groups.keyAttribute, ...(withMembers ? [groups.memberAttribute] : []), "description"],
      paged: { pageSize: config.pageSize },
    });
    return searchEntries.map(toGroup);
  }

  /** The group whose key is `key`, read without its members. */
  async function findGroup(client: LdapClient, key: string): Promise<GroupEntry | undefined> {
    const found = await searchGroups(client, `(${groups.keyAttribute}=${escapeFilterValue(key)})`, false);
    return found.find((g) => g.key.toLowerCase() === key.toLowerCase()) ?? found[0];
  }

  const memberValue = (user: UserEntry) => (isDnMember ? user.dn : user.username);
  const sameMember = (a: string, b: string) =>
    isDnMember ? normalizeDn(a) === normalizeDn(b) : a.toLowerCase() === b.toLowerCase();

  /**
   * Removes one member without reading the member list (a large group's list costs more than the
   * write). The server says whether it was there; a `groupOfNames`/`groupOfUniqueNames` refuses to lose
   * its last member (objectClassViolation), so then `groups.emptyMember` takes its place in the same
   * modify.
   */
  async function removeMember(client: LdapClient, groupDn: string, value: string): Promise<boolean> {
    const remove = change("delete", groups.memberAttribute, [value]);
    try {
      await client.modify(groupDn, remove);
      return true;
    } catch (err) {
      const code = ldapResultCode(err);
      if (code === RESULT.noSuchAttribute) return false;
      if (code !== RESULT.objectClassViolation || !isDnMember) throw err;
    }
    try {
      await client.modify(groupDn, [change("add", groups.memberAttribute, [groups.emptyMember]), remove]);
      return true;
    } catch (err) {
      // A concurrent revoke got there first, or the placeholder is already a member.
      const code = ldapResultCode(err);
      if (code === RESULT.noSuchAttribute) return false;
      if (code !== RESULT.attributeOrValueExists) throw err;
    }
    await client.modify(groupDn, remove);
    return true;
  }

  /**
   * After a move, points group memberships at the new DN. OpenLDAP's refint overlay does the same in
   * the background, so each step tolerates finding it already done.
   */
  async function rewriteMemberships(client: LdapClient, oldDn: string, newDn: string): Promise<void> {
    if (!isDnMember) return;
    const held = await searchGroups(client, `(${groups.memberAttribute}=${escapeFilterValue(oldDn)})`);
    for (const group of held) {
      const stale = group.members.filter((m) => sameMember(m, oldDn));
      if (stale.length === 0) continue;
      await tolerate(client.modify(group.dn, change("add", groups.memberAttribute, [newDn])), [
        RESULT.attributeOrValueExists,
      ]);
      await tolerate(client.modify(group.dn, change("delete", groups.memberAttribute, stale)), [
        RESULT.noSuchAttribute,
      ]);
    }
  }

  function checkAttributes(username: string, attributes: Record<string, string | null>): void {
    for (const name of Object.keys(attributes)) {
      if (name === PASSWORD_ATTRIBUTE && users.passwordAttribute !== undefined) continue;
      if (users.attributes[name] === undefined) {
        throw new ConnectorError(
          system,
          "invalid",
          `attribute ${name} of account ${username} is not mapped (users.attributes)`,
        );
      }
    }
  }

  /**
   * ppolicy removes `pwdAccountLockedTime` whenever an administrator sets the password, even in the
   * same modify. A disabled account whose password was written is locked again at once; between the
   * two writes (milliseconds) the new password would be accepted.
   */
  async function relockIfUnlocked(client: LdapClient, before: UserEntry): Promise<void> {
    if (disable.strategy !== "ppolicy" || before.enabled || users.passwordAttribute === undefined) return;
    const now = await findUser(client, { username: before.username, nativeId: before.nativeId });
    if (now?.enabled === true)
      await client.modify(now.dn, change("replace", LOCK_ATTRIBUTE, [PERMANENT_LOCK]));
  }

  async function move(client: LdapClient, user: UserEntry, base: string): Promise<void> {
    const newDn = `${firstRdn(user.dn)},${base}`;
    await client.modifyDN(user.dn, newDn);
    await rewriteMemberships(client, user.dn, newDn);
  }

  async function setEnabled(ref: AccountRef, enabled: boolean): Promise<WriteResult> {
    const what = `${enabled ? "enable" : "disable"} account ${ref.username}`;
    return session(what, async (client) => {
      const user = await mustFindUser(client, ref);
      if (user.enabled === enabled) return { changed: false, nativeId: user.nativeId };
      if (disable.strategy === "ppolicy") {
        await client.modify(
          user.dn,
          enabled
            ? change("delete", LOCK_ATTRIBUTE, [])
            : change("replace", LOCK_ATTRIBUTE, [PERMANENT_LOCK]),
        );
      } else {
        await move(client, user, enabled ? users.base : disable.disabledBase);
      }
      return { changed: true, nativeId: user.nativeId };
    });
  }

  return {
    describe: () => ({
      type: "ldap",
      system,
      disableRefusesUse: disable.strategy === "ppolicy",
      supportsRotation: false,
      readsAccounts: true,
    }),

    listAccounts: () =>
      session("list accounts", async (client) => {
        const found = await searchUsers(client, `(${users.usernameAttribute}=*)`);
        const accounts = new Map<string, Account>();
        const byMember = new Map<string, Account>();
        for (const user of found) {
          const attributes: Record<string, string | null> = {};
          for (const [name, ldapAttribute] of Object.entries(users.attributes)) {
            attributes[name] = user.values(ldapAttribute)[0] ?? null;
          }
          const account: Account = {
            nativeId: user.nativeId,
            username: user.username,
            enabled: user.enabled,
            attributes,
            entitlements: [],
          };
          accounts.set(user.dn, account);
          byMember.set(isDnMember ? normalizeDn(user.dn) : user.username.toLowerCase(), account);
        }
        for (const group of await searchGroups(client, `(${groups.keyAttribute}=*)`)) {
          for (const member of group.members) {
            const account = byMember.get(isDnMember ? normalizeDn(member) : member.toLowerCase());
            if (account !== undefined && !account.entitlements.includes(group.key)) {
              account.entitlements.push(group.key);
            }
          }
        }
        for (const account of accounts.values()) account.entitlements.sort();
        return [...accounts.values()];
      }),

    listEntitlements: () =>
      session("list entitlements", async (client) => {
        const seen = new Map<string, EntitlementInfo>();
        for (const group of await searchGroups(client, `(${groups.keyAttribute}=*)`)) {
          if (!seen.has(group.key)) seen.set(group.key, { key: group.key, displayName: group.description });
        }
        return [...seen.values()];
      }),

    async create(spec: AccountSpec): Promise<WriteResult> {
      checkAttributes(spec.username, spec.attributes);
      return session(`create account ${spec.username}`, async (client) => {
        const existing = await findUser(client, { username: spec.username });
        if (existing !== undefined) return { changed: false, nativeId: existing.nativeId };
        const base = spec.enabled || disable.strategy === "ppolicy" ? users.base : disable.disabledBase;
        const dn = `${users.rdnAttribute}=${escapeDnValue(spec.username)},${base}`;
        const entry: Record<string, string[]> = { objectClass: [...users.objectClasses] };
        const put = (attribute: string, value: string) => {
          const key =
            Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase()) ?? attribute;
          entry[key] = [value];
        };
        const has = (attribute: string) =>
          Object.keys(entry).some((k) => k.toLowerCase() === attribute.toLowerCase());
        put(users.rdnAttribute, spec.username);
        put(users.usernameAttribute, spec.username);
        for (const [name, value] of Object.entries(spec.attributes)) {
          if (value === null || value === "") continue;
          if (name === PASSWORD_ATTRIBUTE && users.passwordAttribute !== undefined) {
            put(users.passwordAttribute, value);
          } else {
            put(users.attributes[name]!, value);
          }
        }
        if (personLike) {
          if (!has("cn")) put("cn", spec.attributes.displayName || spec.username);
          if (!has("sn")) put("sn", spec.attributes.familyName || spec.username);
        }
        if (!spec.enabled && disable.strategy === "ppolicy") put(LOCK_ATTRIBUTE, PERMANENT_LOCK);
        try {
          await client.add(dn, entry);
        } catch (err) {
          if (ldapResultCode(err) !== RESULT.entryAlreadyExists) throw err;
          // A concurrent create made it first.
          const raced = await findUser(client, { username: spec.username });
          if (raced !== undefined) return { changed: false, nativeId: raced.nativeId };
          throw err;
        }
        const created = await mustFindUser(client, { username: spec.username });
        if (!spec.enabled) await relockIfUnlocked(client, { ...created, enabled: false });
        return { changed: true, nativeId: created.nativeId };
      });
    },

    async update(ref: AccountRef, attributes: Record<string, string | null>): Promise<WriteResult> {
      checkAttributes(ref.username, attributes);
      return session(`update account ${ref.username}`, async (client) => {
        const user = await mustFindUser(client, ref);
        const changes: Change[] = [];
        for (const [name, value] of Object.entries(attributes)) {
          if (name === PASSWORD_ATTRIBUTE && users.passwordAttribute !== undefined) {
            if (value === null) {
              changes.push(change("delete", users.passwordAttribute, []));
            } else if (!(await client.compare(user.dn, users.passwordAttribute, value).catch(() => false))) {
              changes.push(change("replace", users.passwordAttribute, [value]));
            }
            continue;
          }
          const ldapAttribute = users.attributes[name]!;
          const current = user.values(ldapAttribute);
          if (value === null || value === "") {
            if (current.length > 0) changes.push(change("delete", ldapAttribute, []));
          } else if (current.length !== 1 || current[0] !== value) {
            changes.push(change("replace", ldapAttribute, [value]));
          }
        }
        if (changes.length === 0) return { changed: false, nativeId: user.nativeId };
        try {
          await client.modify(user.dn, changes);
        } catch (err) {
          // Deleting a password the server does not hold.
          if (ldapResultCode(err) === RESULT.noSuchAttribute)
            return { changed: false, nativeId: user.nativeId };
          throw err;
        }
        await relockIfUnlocked(client, user);
        return { changed: true, nativeId: user.nativeId };
      });
    },

    enable: (ref) => setEnabled(ref, true),
    disable: (ref) => setEnabled(ref, false),

    delete: (ref) =>
      session(`delete account ${ref.username}`, async (client) => {
        const user = await findUser(client, ref);
        if (user === undefined) return { changed: false };
        const value = memberValue(user);
        for (const group of await searchGroups(
          client,
          `(${groups.memberAttribute}=${escapeFilterValue(value)})`,
          false,
        )) {
          await removeMember(client, group.dn, value);
        }
        try {
          await client.del(user.dn);
        } catch (err) {
          if (ldapResultCode(err) === RESULT.noSuchObject) return { changed: false };
          throw err;
        }
        return { changed: true, nativeId: user.nativeId };
      }),

    grant: (ref, entitlement) =>
      session(`grant ${entitlement} to account ${ref.username}`, async (client) => {
        const user = await mustFindUser(client, ref);
        const group = await findGroup(client, entitlement);
        if (group === undefined) {
          throw new ConnectorError(
            system,
            "invalid",
            `group ${entitlement} does not exist under groups.base`,
          );
        }
        // The server says whether the member was there: reading a large group's members first would
        // cost more than the write.
        try {
          await client.modify(group.dn, change("add", groups.memberAttribute, [memberValue(user)]));
        } catch (err) {
          if (ldapResultCode(err) === RESULT.attributeOrValueExists) {
            return { changed: false, nativeId: user.nativeId };
          }
          throw err;
        }
        return { changed: true, nativeId: user.nativeId };
      }),

    revoke: (ref, entitlement) =>
      session(`revoke ${entitlement} from account ${ref.username}`, async (client) => {
        const user = await findUser(client, ref);
        if (user === undefined) return { changed: false };
        const group = await findGroup(client, entitlement);
        if (group === undefined) return { changed: false, nativeId: user.nativeId };
        return { changed: await removeMember(client, group.dn, memberValue(user)), nativeId: user.nativeId };
      }),

    async close() {
      closed = true;
      await Promise.all(idle.splice(0).map((client) => client.unbind().catch(() => {})));
    },
  };
}

/** Awaits an LDAP write, treating the given result codes as "already so". */
async function tolerate(write: Promise<void>, codes: readonly number[]): Promise<void> {
  try {
    await write;
  } catch (err) {
    const code = ldapResultCode(err);
    if (code === undefined || !codes.includes(code)) throw err;
  }
}

function change(operation: "add" | "delete" | "replace", type: string, values: string[]): Change {
  return new Change({ operation, modification: new Attribute({ type, values }) });
}
