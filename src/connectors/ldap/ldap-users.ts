import { AndFilter, type Entry, EqualityFilter, type Filter, FilterParser } from "ldapts";
import { type AccountRef, ConnectorError } from "../connector-types.js";
import { objectGuidBytes, objectGuidToString, uacEnabled } from "./ldap-active-directory.js";
import {
  type LdapClient,
  type LdapContext,
  LOCK_ATTRIBUTE,
  RESULT,
  UAC_ATTRIBUTE,
  type UserEntry,
} from "./ldap-context.js";
import { rawValue, reader } from "./ldap-entry-values.js";
import { ldapResultCode } from "./ldap-errors.js";
import { escapeFilterValue, isUnderDn, normalizeDn } from "./ldap-escape.js";

/** How long a read account serves membership writes (see `recentUsers`). */
const USER_TTL_MS = 30_000;
const CACHE_LIMIT = 50_000;

export type LdapUsers = ReturnType<typeof createLdapUsers>;

/** Reading accounts: searches under every user base, lookups by native id or username, a short cache. */
export function createLdapUsers(ctx: LdapContext) {
  const { system, config, users, disable, ad, idAttribute, userBases, userObjectFilter, userAttributes } =
    ctx;

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

  return { searchUsers, findUser, readUser, searchUser, mustFindUser, remember, forget, recentUser };
}
