import fs from "node:fs/promises";
import type { ConnectionOptions } from "node:tls";
import {
  AndFilter,
  Attribute,
  Change,
  Client,
  type ClientOptions,
  type Entry,
  EqualityFilter,
  type Filter,
  FilterParser,
} from "ldapts";
import { createKeyedLock } from "../../shared/keyed-lock.js";
import {
  type Account,
  type AccountRef,
  type AccountSpec,
  type Connector,
  ConnectorError,
  type ConnectorOptions,
  type EntitlementInfo,
  type WriteResult,
} from "../connector-types.js";
import { deliverPassword } from "../password-sink.js";
import {
  adCommonName,
  encodeUnicodePwd,
  generateAdPassword,
  invalidSamAccountNameReason,
  NEW_ACCOUNT_UAC,
  objectGuidBytes,
  objectGuidToString,
  uacEnabled,
  withAccountDisabled,
} from "./ldap-active-directory.js";
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

/** How long a read account or group serves membership writes (see `recentUsers` in the connector). */
const USER_TTL_MS = 30_000;
const GROUP_TTL_MS = 300_000;
const CACHE_LIMIT = 50_000;

/** ppolicy: a lock time in the distant past means "locked until an administrator unlocks". */
const PERMANENT_LOCK = "000001010000Z";
const LOCK_ATTRIBUTE = "pwdAccountLockedTime";

const UAC_ATTRIBUTE = "userAccountControl";

const RESULT = {
  noSuchAttribute: 16,
  attributeOrValueExists: 20,
  noSuchObject: 32,
  unwillingToPerform: 53,
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

/** The first value of an attribute kept as bytes (`explicitBufferAttributes`), e.g. `objectGUID`. */
function rawValue(entry: Entry, attribute: string): Buffer | undefined {
  const name = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = name === undefined ? undefined : entry[name];
  const first = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(first) ? first : undefined;
}

/** Runs `fn` after every earlier call with the same key (case-insensitive) has settled. */
function keyedQueue(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const lock = createKeyedLock();
  return (key, fn) => lock.run([key.toLowerCase()], fn);
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
 * The `ldap` connector (OpenLDAP and other RFC 4511 directories, and Active Directory): accounts are
 * entries under `users.base`, entitlements are groups under `groups.base`, disable is a ppolicy lock, a
 * move, or Active Directory's ACCOUNTDISABLE flag.
 *
 * Calls run on bound connections from a small pool, so they may run concurrently; races between them
 * are settled by the server (entryAlreadyExists, attributeOrValueExists, noSuchAttribute are read as
 * "already so"). Every value placed in a filter is escaped per RFC 4515 and every DN value per RFC 4514.
 *
 * `directory: activeDirectory`: users are `user` objects (computers excluded), identified by
 * `objectGUID` and named by `sAMAccountName` (or `userPrincipalName`); `create` writes a generated
 * password to `passwordSink` first, then adds the entry with `unicodePwd` and `userAccountControl` in one
 * add (so an account never exists without its password); creates of one username are serialised in
 * this instance, so only one password is generated for it; group memberships are read from the users'
 * `memberOf`, never from a group's (range-limited) `member` list.
 */
export function createLdapConnector(
  system: string,
  config: LdapConnectorConfig,
  deps: LdapConnectorDeps = { newClient: (options) => new Client(options) },
  options: ConnectorOptions = {},
): Connector {
  const secrets = [config.bindPassword];
  const target = config.url;
  const { users, groups, disable } = config;
  const ad = config.directory === "activeDirectory";
  const idAttribute = ad ? "objectGUID" : "entryUUID";
  const byUpn = users.usernameAttribute.toLowerCase() === "userprincipalname";
  /** Active Directory: one create or rotation per username at a time, so one password is generated. */
  const perAccount = keyedQueue();
  const disabledBase = disable.strategy === "moveToOu" ? disable.disabledBase : undefined;
  const userBases = [
    users.base,
    ...(disabledBase !== undefined && !isUnderDn(disabledBase, users.base) ? [disabledBase] : []),
  ];
  // Computers are `user` objects too: AD's objectCategory tells people apart.
  const userObjectFilter =
    (ad ? "(objectCategory=person)" : "") +
    users.objectClasses.map((oc) => `(objectClass=${escapeFilterValue(oc)})`).join("");
  const groupObjectFilter = `(objectClass=${escapeFilterValue(groups.objectClass)})`;
  const isDnMember = groups.memberAttribute !== "memberUid";
  const userAttributes = [
    users.usernameAttribute,
    idAttribute,
    ...(disable.strategy === "ppolicy" ? [LOCK_ATTRIBUTE] : []),
    ...(disable.strategy === "userAccountControl" ? [UAC_ATTRIBUTE] : []),
    ...Object.values(users.attributes),
  ];
  const personLike = users.objectClasses.some((oc) =>
    ["inetorgperson", "organizationalperson", "person"].includes(oc.toLowerCase()),
  );

  // Bound connections kept between calls: connecting and binding per call cost more than the write.
  const idle: LdapClient[] = [];
  let closed = false;

  let caCertificates: Promise<Buffer> | undefined;

  /** TLS settings for ldaps:// and StartTLS; `tlsCaFile` is read once (again after a failed read). */
  async function tlsSettings(): Promise<ConnectionOptions> {
    const settings: ConnectionOptions = { rejectUnauthorized: config.tlsRejectUnauthorized };
    const file = config.tlsCaFile;
    if (file === undefined) return settings;
    caCertificates ??= fs.readFile(file).catch((err: unknown) => {
      caCertificates = undefined;
      const code = (err as { code?: unknown }).code;
      throw new ConnectorError(
        system,
        "invalid",
        `cannot read tlsCaFile ${file}${typeof code === "string" ? ` (${code})` : ""}`,
      );
    });
    return { ...settings, ca: await caCertificates };
  }

  async function connect(): Promise<LdapClient> {
    const tls = await tlsSettings();
    const client = deps.newClient({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is set, so only for ldaps://.
      ...(/^ldaps:/i.test(config.url) ? { tlsOptions: { ...tls } } : {}),
    });
    try {
      // A fresh object: startTLS writes the socket into the options it is given.
      if (config.startTls) await client.startTLS({ ...tls });
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
   * more on a fresh one — every call is idempotent, so that is safe. `callSecrets` (a generated
   * password) are kept out of the error like the bind password; they may be added while `fn` runs.
   */
  async function session<T>(
    what: string,
    fn: (client: LdapClient) => Promise<T>,
    callSecrets: readonly string[] = [],
  ): Promise<T> {
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
        throw toLdapConnectorError(system, what, target, err, [...secrets, ...callSecrets]);
      }
    }
  }

  function isEnabled(entry: Entry, values: (attribute: string) => string[]): boolean {
    switch (disable.strategy) {
      case "ppolicy":
        return values(LOCK_ATTRIBUTE).length === 0;
      case "userAccountControl":
        return uacEnabled(values(UAC_ATTRIBUTE)[0]);
      case "moveToOu":
        return !isUnderDn(entry.dn, disable.disabledBase);
    }
  }

  function toUser(entry: Entry): UserEntry {
    const values = reader(entry);
    const guid = ad ? rawValue(entry, idAttribute) : undefined;
    return {
      dn: entry.dn,
      nativeId: (guid === undefined ? values(idAttribute)[0] : objectGuidToString(guid)) || entry.dn,
      username: values(users.usernameAttribute)[0] ?? "",
      enabled: isEnabled(entry, values),
      values,
    };
  }

  /** Users matching `filter` under every user base; `extraAttributes` are read besides the usual ones. */
  async function searchUsers(
    client: LdapClient,
    filter: string | Filter,
    extraAttributes: readonly string[] = [],
    /** A lookup of one account: no paging, which costs the server a cookie for a one-entry answer. */
    lookup = false,
  ): Promise<UserEntry[]> {
    const seen = new Map<string, UserEntry>();
    const combined =
      typeof filter === "string"
        ? `(&${userObjectFilter}${filter})`
        : new AndFilter({ filters: [FilterParser.parseString(`(&${userObjectFilter})`), filter] });
    for (const base of userBases) {
      const { searchEntries } = await client.search(base, {
        scope: "sub",
        filter: combined,
        attributes: [...userAttributes, ...extraAttributes],
        ...(lookup ? {} : { paged: { pageSize: config.pageSize } }),
        ...(ad ? { explicitBufferAttributes: [idAttribute] } : {}),
      });
      for (const entry of searchEntries) seen.set(normalizeDn(entry.dn), toUser(entry));
    }
    return [...seen.values()];
  }

  /** The filter matching a native id; undefined for an AD id that is not a GUID (it matches nothing). */
  function nativeIdFilter(nativeId: string): string | Filter | undefined {
    if (!ad) return `(${idAttribute}=${escapeFilterValue(nativeId)})`;
    const value = objectGuidBytes(nativeId);
    return value === undefined ? undefined : new EqualityFilter({ attribute: idAttribute, value });
  }

  /**
   * Where recently read accounts and groups are: a run grants an account its groups seconds after
   * creating it, and reading them again for every membership write would double the directory's load.
   * Only membership writes (grant, revoke) use these, and only for a short while; every other write
   * reads afresh and forgets the account. A group that moved is found again when the directory answers
   * noSuchObject. A DN renamed outside Tenure within USER_TTL_MS could receive one membership under its
   * old name — dangling, so the next reconcile sees the grant missing and makes it again.
   */
  const recentUsers = new Map<string, { user: UserEntry; at: number }>();
  const recentGroups = new Map<string, { group: GroupEntry; at: number }>();
  const userKeys = (ref: AccountRef) => [
    ...(ref.nativeId ? [`id:${ref.nativeId}`] : []),
    `name:${ref.username.toLowerCase()}`,
  ];
  const remember = (user: UserEntry) => {
    if (recentUsers.size >= CACHE_LIMIT) recentUsers.clear();
    for (const key of userKeys(user)) recentUsers.set(key, { user, at: Date.now() });
  };
  const forget = (ref: AccountRef) => {
    for (const key of userKeys(ref)) recentUsers.delete(key);
  };
  const recentUser = (ref: AccountRef): UserEntry | undefined => {
    const hit = recentUsers.get(userKeys(ref)[0]!);
    return hit !== undefined && Date.now() - hit.at < USER_TTL_MS ? hit.user : undefined;
  };

  async function findUser(client: LdapClient, ref: AccountRef): Promise<UserEntry | undefined> {
    const found = await searchUser(client, ref);
    if (found !== undefined) remember(found);
    else forget(ref);
    return found;
  }

  /** The account entry at `dn`, or undefined when there is none. */
  async function readUser(client: LdapClient, dn: string): Promise<UserEntry | undefined> {
    try {
      const { searchEntries } = await client.search(dn, {
        scope: "base",
        filter: `(&${userObjectFilter})`,
        attributes: userAttributes,
        ...(ad ? { explicitBufferAttributes: [idAttribute] } : {}),
      });
      return searchEntries[0] === undefined ? undefined : toUser(searchEntries[0]);
    } catch (err) {
      if (ldapResultCode(err) === RESULT.noSuchObject) return undefined;
      throw err;
    }
  }

  async function searchUser(client: LdapClient, ref: AccountRef): Promise<UserEntry | undefined> {
    const byId = ref.nativeId !== undefined && ref.nativeId !== null && ref.nativeId !== "";
    const filter = byId
      ? nativeIdFilter(ref.nativeId!)
      : `(${users.usernameAttribute}=${escapeFilterValue(ref.username)})`;
    if (filter === undefined) return undefined;
    const found = await searchUsers(client, filter, [], true);
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

  /** The group whose key is `key`, read without its members (or recently read: `fresh` to read anew). */
  async function findGroup(client: LdapClient, key: string, fresh = false): Promise<GroupEntry | undefined> {
    const hit = recentGroups.get(key.toLowerCase());
    if (!fresh && hit !== undefined && Date.now() - hit.at < GROUP_TTL_MS) return hit.group;
    const found = await searchGroups(client, `(${groups.keyAttribute}=${escapeFilterValue(key)})`, false);
    const group = found.find((g) => g.key.toLowerCase() === key.toLowerCase()) ?? found[0];
    if (group === undefined) recentGroups.delete(key.toLowerCase());
    else recentGroups.set(key.toLowerCase(), { group, at: Date.now() });
    return group;
  }

  /**
   * Runs a membership write on the group `key`; when a remembered group is gone from its DN (moved or
   * renamed meanwhile), reads it again and runs the write once more.
   */
  async function onGroup<T>(
    client: LdapClient,
    key: string,
    write: (group: GroupEntry | undefined) => Promise<T>,
  ): Promise<T> {
    const remembered = recentGroups.has(key.toLowerCase());
    try {
      return await write(await findGroup(client, key));
    } catch (err) {
      if (!remembered || ldapResultCode(err) !== RESULT.noSuchObject) throw err;
      return write(await findGroup(client, key, true));
    }
  }

  const memberValue = (user: UserEntry) => (isDnMember ? user.dn : user.username);

  /**
   * `createMissingGroups`: adds the group `key` under groups.base with `user` as its first member (a
   * groupOfNames needs one). A group another writer added meanwhile is granted to instead.
   */
  async function createGroup(client: LdapClient, key: string, user: UserEntry): Promise<WriteResult> {
    const dn = `${groups.keyAttribute}=${escapeDnValue(key)},${groups.base}`;
    try {
      await client.add(dn, [
        new Attribute({ type: "objectClass", values: [groups.objectClass] }),
        new Attribute({ type: groups.keyAttribute, values: [key] }),
        new Attribute({ type: groups.memberAttribute, values: [memberValue(user)] }),
      ]);
    } catch (err) {
      if (ldapResultCode(err) !== RESULT.entryAlreadyExists) throw err;
      try {
        await client.modify(dn, change("add", groups.memberAttribute, [memberValue(user)]));
      } catch (again) {
        if (ldapResultCode(again) !== RESULT.attributeOrValueExists) throw again;
        return { changed: false, nativeId: user.nativeId };
      }
    }
    recentGroups.delete(key.toLowerCase());
    return { changed: true, nativeId: user.nativeId };
  }
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
      // Active Directory answers unwillingToPerform for a member that is not there; other refusals
      // (a protected group) answer the same, so membership decides.
      if (ad && code === RESULT.unwillingToPerform && !(await hasMember(client, groupDn, value)))
        return false;
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

  /**
   * Whether the group holds `member`, asked with a filter on the group's entry: Samba's compare fails
   * on DNs with filter characters, and AD's `member` list may be range-limited.
   */
  async function hasMember(client: LdapClient, groupDn: string, member: string): Promise<boolean> {
    const { searchEntries } = await client.search(groupDn, {
      scope: "base",
      filter: `(${groups.memberAttribute}=${escapeFilterValue(member)})`,
      attributes: ["1.1"],
    });
    return searchEntries.length > 0;
  }

  /** Active Directory: the sAMAccountName a username stands for, checked against AD's rules. */
  function samAccountNameOf(username: string): string {
    const at = username.lastIndexOf("@");
    if (byUpn && at <= 0) {
      throw new ConnectorError(system, "invalid", `account ${username}: a userPrincipalName is NAME@SUFFIX`);
    }
    const sam = byUpn ? username.slice(0, at) : username;
    const reason = invalidSamAccountNameReason(sam);
    if (reason !== undefined) {
      throw new ConnectorError(system, "invalid", `account ${username}: its sAMAccountName ${reason}`);
    }
    return sam;
  }

  /** The RDN value a new entry is named by: the username, or the `users.rdnFrom` attribute. */
  function rdnValueOf(spec: AccountSpec): string {
    const value =
      users.rdnFrom === "username" ? spec.username : spec.attributes[users.rdnFrom] || spec.username;
    return ad ? adCommonName(value) : value;
  }

  /** The attributes of a new account's entry, except its RDN value (`addEntry` sets that). */
  function newEntry(spec: AccountSpec, samAccountName: string | undefined): Record<string, string[]> {
    const entry: Record<string, string[]> = { objectClass: [...users.objectClasses] };
    const put = (attribute: string, value: string) => setValue(entry, attribute, value);
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
      const has = (attribute: string) =>
        Object.keys(entry).some((k) => k.toLowerCase() === attribute.toLowerCase());
      if (!has("cn") && users.rdnAttribute.toLowerCase() !== "cn") {
        put("cn", spec.attributes.displayName || spec.username);
      }
      if (!has("sn")) put("sn", spec.attributes.familyName || spec.username);
    }
    if (!spec.enabled && disable.strategy === "ppolicy") put(LOCK_ATTRIBUTE, PERMANENT_LOCK);
    if (samAccountName !== undefined) {
      put("sAMAccountName", samAccountName);
      if (!byUpn && users.upnSuffix !== undefined)
        put("userPrincipalName", `${samAccountName}@${users.upnSuffix}`);
      put(UAC_ATTRIBUTE, String(withAccountDisabled(NEW_ACCOUNT_UAC, !spec.enabled)));
    }
    return entry;
  }

  /**
   * Adds a new account's entry, named by its RDN value, or — when another entry has that name and
   * `users.rdnFrom` is not the username — by `value (username)`. Returns the account when a concurrent
   * create made it first, else undefined.
   * @throws ConnectorError `conflict` (not retryable) when the name is taken by an entry that is not
   *   this account: under another RDN, or in Active Directory a sAMAccountName used elsewhere.
   */
  async function addEntry(
    client: LdapClient,
    spec: AccountSpec,
    entry: Record<string, string[]>,
    extra: readonly Attribute[],
  ): Promise<{ raced: UserEntry } | { dn: string }> {
    const base = spec.enabled || disable.strategy !== "moveToOu" ? users.base : disable.disabledBase;
    const first = rdnValueOf(spec);
    const names =
      users.rdnFrom === "username"
        ? [first]
        : [first, ad ? adCommonName(first, spec.username) : `${first} (${spec.username})`];
    for (const name of names) {
      const attributes = { ...entry };
      setValue(attributes, users.rdnAttribute, name);
      const list = Object.entries(attributes).map(([type, values]) => new Attribute({ type, values }));
      try {
        const dn = `${users.rdnAttribute}=${escapeDnValue(name)},${base}`;
        await client.add(dn, [...list, ...extra]);
        return { dn };
      } catch (err) {
        if (ldapResultCode(err) !== RESULT.entryAlreadyExists) throw err;
        const raced = await findUser(client, { username: spec.username });
        if (raced !== undefined) return { raced };
      }
    }
    throw new ConnectorError(
      system,
      "conflict",
      `create account ${spec.username}: its name is taken by another entry (the same ${users.rdnAttribute}` +
        `${ad ? ", or the same sAMAccountName elsewhere in the domain" : ""})`,
      { retryable: false },
    );
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
    forget(user);
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
      } else if (disable.strategy === "userAccountControl") {
        const uac = Number.parseInt(user.values(UAC_ATTRIBUTE)[0] ?? "", 10);
        if (!Number.isSafeInteger(uac)) {
          throw new ConnectorError(
            system,
            "permission",
            `${what}: its userAccountControl cannot be read by the bind DN`,
          );
        }
        // Only ACCOUNTDISABLE changes (512 ↔ 514 for a plain account): flags such as
        // DONT_EXPIRE_PASSWORD or SMARTCARD_REQUIRED stay as an administrator set them.
        await client.modify(
          user.dn,
          change("replace", UAC_ATTRIBUTE, [String(withAccountDisabled(uac, !enabled))]),
        );
      } else {
        await move(client, user, enabled ? users.base : disable.disabledBase);
      }
      return { changed: true, nativeId: user.nativeId };
    });
  }

  /**
   * Active Directory: a new generated password for the account, delivered to the sink before it is
   * set. An account that is disabled stays disabled.
   */
  function rotateCredential(ref: AccountRef): Promise<WriteResult> {
    const generated: string[] = [];
    return perAccount(ref.username, () =>
      session(
        `rotate the password of account ${ref.username}`,
        async (client) => {
          const user = await mustFindUser(client, ref);
          // AD's complexity rule refuses passwords holding parts of these names.
          const { searchEntries } = await client.search(user.dn, {
            scope: "base",
            attributes: ["sAMAccountName", "cn", "displayName", "givenName", "sn"],
          });
          const names = Object.entries(searchEntries[0] ?? {})
            .filter(([name]) => name !== "dn")
            .flatMap(([, value]) => [value].flat().map(String));
          const password = generateAdPassword(samAccountNameOf(user.username), names);
          generated.push(password);
          await deliverPassword(system, config.passwordSink!, user.username, password);
          await client.modify(
            user.dn,
            new Change({
              operation: "replace",
              modification: new Attribute({ type: "unicodePwd", values: [encodeUnicodePwd(password)] }),
            }),
          );
          return { changed: true, nativeId: user.nativeId };
        },
        generated,
      ),
    );
  }

  return {
    describe: () => ({
      type: "ldap",
      system,
      disableRefusesUse: disable.strategy !== "moveToOu",
      supportsRotation: ad,
      readsAccounts: true,
    }),

    listAccounts: () =>
      session("list accounts", async (client) => {
        const found = await searchUsers(client, `(${users.usernameAttribute}=*)`, ad ? ["memberOf"] : []);
        // Active Directory returns at most 1500 values of a group's `member` per read, so memberships
        // come from each user's `memberOf` there, and groups are read without members.
        const groupList = await searchGroups(client, `(${groups.keyAttribute}=*)`, !ad);
        const accounts = new Map<string, Account>();
        const byMember = new Map<string, Account>();
        const keyByGroupDn = new Map(groupList.map((g) => [normalizeDn(g.dn), g.key]));
        const grant = (account: Account, key: string) => {
          if (!account.entitlements.includes(key)) account.entitlements.push(key);
        };
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
          for (const groupDn of ad ? user.values("memberOf") : []) {
            const key = keyByGroupDn.get(normalizeDn(groupDn));
            if (key !== undefined) grant(account, key);
          }
        }
        for (const group of ad ? [] : groupList) {
          for (const member of group.members) {
            const account = byMember.get(isDnMember ? normalizeDn(member) : member.toLowerCase());
            if (account !== undefined) grant(account, group.key);
          }
        }
        for (const account of accounts.values()) account.entitlements.sort();
        return [...accounts.values()];
      }),

    listEntitlements: () =>
      session("list entitlements", async (client) => {
        const seen = new Map<string, EntitlementInfo>();
        for (const group of await searchGroups(client, `(${groups.keyAttribute}=*)`, false)) {
          if (!seen.has(group.key)) seen.set(group.key, { key: group.key, displayName: group.description });
        }
        return [...seen.values()];
      }),

    async create(spec: AccountSpec): Promise<WriteResult> {
      checkAttributes(spec.username, spec.attributes);
      const samAccountName = ad ? samAccountNameOf(spec.username) : undefined;
      // Generated before the session, so a retried session delivers the same password.
      const password =
        samAccountName === undefined
          ? undefined
          : generateAdPassword(samAccountName, [
              rdnValueOf(spec),
              ...Object.values(spec.attributes).filter(isText),
            ]);
      const run = () =>
        session(
          `create account ${spec.username}`,
          async (client) => {
            const existing = await findUser(client, { username: spec.username });
            if (existing !== undefined) return { changed: false, nativeId: existing.nativeId };
            const extra: Attribute[] = [];
            if (password !== undefined) {
              // Delivered first: a user whose password nobody knows is worse than an unused line in the sink.
              await deliverPassword(system, config.passwordSink!, spec.username, password);
              // In the add itself: the account never exists without its password, and a password the
              // domain's policy refuses leaves nothing behind.
              extra.push(new Attribute({ type: "unicodePwd", values: [encodeUnicodePwd(password)] }));
            }
            const added = await addEntry(client, spec, newEntry(spec, samAccountName), extra);
            if ("raced" in added) return { changed: false, nativeId: added.raced.nativeId };
            // The new entry read back by its DN (a base read, the cheapest search) for its native id.
            const created =
              (await readUser(client, added.dn)) ?? (await mustFindUser(client, { username: spec.username }));
            remember(created);
            if (!spec.enabled) await relockIfUnlocked(client, { ...created, enabled: false });
            return { changed: true, nativeId: created.nativeId };
          },
          password === undefined ? [] : [password],
        );
      return ad ? perAccount(spec.username, run) : run();
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
        forget(ref);
        const user = await searchUser(client, ref);
        if (user === undefined) return { changed: false };
        const value = memberValue(user);
        // Active Directory drops a deleted object from every group itself.
        for (const group of ad
          ? []
          : await searchGroups(client, `(${groups.memberAttribute}=${escapeFilterValue(value)})`, false)) {
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
        const user = recentUser(ref) ?? (await mustFindUser(client, ref));
        return onGroup(client, entitlement, async (group) => {
          if (group === undefined) {
            if (options.createMissingGroups === true) return createGroup(client, entitlement, user);
            throw new ConnectorError(
              system,
              "invalid",
              `group ${entitlement} does not exist under groups.base (${groups.base}); create it, or set systems.${system}.createMissingGroups: true`,
            );
          }
          // The server says whether the member was there: reading a large group's members first would
          // cost more than the write.
          try {
            await client.modify(group.dn, change("add", groups.memberAttribute, [memberValue(user)]));
          } catch (err) {
            // Active Directory reports a member that is already there as entryAlreadyExists.
            const code = ldapResultCode(err);
            if (code === RESULT.attributeOrValueExists || (ad && code === RESULT.entryAlreadyExists)) {
              return { changed: false, nativeId: user.nativeId };
            }
            throw err;
          }
          return { changed: true, nativeId: user.nativeId };
        });
      }),

    revoke: (ref, entitlement) =>
      session(`revoke ${entitlement} from account ${ref.username}`, async (client) => {
        const user = recentUser(ref) ?? (await findUser(client, ref));
        if (user === undefined) return { changed: false };
        return onGroup(client, entitlement, async (group) =>
          group === undefined
            ? { changed: false, nativeId: user.nativeId }
            : { changed: await removeMember(client, group.dn, memberValue(user)), nativeId: user.nativeId },
        );
      }),

    ...(ad ? { rotateCredential } : {}),

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

/** Sets one value of `attribute` in an entry being built, whatever case the key was written in. */
function setValue(entry: Record<string, string[]>, attribute: string, value: string): void {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase()) ?? attribute;
  entry[key] = [value];
}

const isText = (value: string | null): value is string => value !== null && value !== "";

function change(operation: "add" | "delete" | "replace", type: string, values: string[]): Change {
  return new Change({ operation, modification: new Attribute({ type, values }) });
}
