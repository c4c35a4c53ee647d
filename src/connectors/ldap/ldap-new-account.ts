import { Attribute } from "ldapts";
import { type AccountSpec, ConnectorError } from "../connector-types.js";
import {
  adCommonName,
  invalidSamAccountNameReason,
  NEW_ACCOUNT_UAC,
  withAccountDisabled,
} from "./ldap-active-directory.js";
import {
  type LdapClient,
  type LdapContext,
  LOCK_ATTRIBUTE,
  PASSWORD_ATTRIBUTE,
  PERMANENT_LOCK,
  RESULT,
  UAC_ATTRIBUTE,
  type UserEntry,
} from "./ldap-context.js";
import { setValue } from "./ldap-entry-values.js";
import { ldapResultCode } from "./ldap-errors.js";
import { escapeDnValue } from "./ldap-escape.js";
import type { LdapUsers } from "./ldap-users.js";

/**
 * Building and adding a new account's entry: its RDN and attributes, and in Active Directory its
 * sAMAccountName, userPrincipalName and userAccountControl; mapped attributes are checked first.
 */
export function createLdapNewAccounts(ctx: LdapContext, { findUser }: Pick<LdapUsers, "findUser">) {
  const { system, users, disable, ad, byUpn, personLike } = ctx;

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

  return { samAccountNameOf, rdnValueOf, newEntry, addEntry, checkAttributes };
}
