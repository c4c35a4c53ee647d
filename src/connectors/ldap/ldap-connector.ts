import { Attribute, Change, Client } from "ldapts";
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
import { createLdapAccountState } from "./ldap-account-state.js";
import { encodeUnicodePwd, generateAdPassword } from "./ldap-active-directory.js";
import { type LdapConnectorDeps, ldapContext, PASSWORD_ATTRIBUTE, RESULT } from "./ldap-context.js";
import { change, isText } from "./ldap-entry-values.js";
import { ldapResultCode } from "./ldap-errors.js";
import { escapeFilterValue, normalizeDn } from "./ldap-escape.js";
import { createLdapGroups } from "./ldap-groups.js";
import { parseLastUsed } from "./ldap-last-use.js";
import { createLdapNewAccounts } from "./ldap-new-account.js";
import { createLdapRotator } from "./ldap-rotation.js";
import type { LdapConnectorConfig } from "./ldap-schemas.js";
import { createLdapSessions } from "./ldap-session.js";
import { createLdapUsers } from "./ldap-users.js";

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
 *
 * Last use (`lastUsedAttribute`: `authTimestamp` of OpenLDAP's lastbind overlay, AD's
 * `lastLogonTimestamp`) is read by `listAccounts` only; a value that does not parse reads as never used.
 */
export function createLdapConnector(
  system: string,
  config: LdapConnectorConfig,
  deps: LdapConnectorDeps = { newClient: (options) => new Client(options) },
  options: ConnectorOptions = {},
): Connector {
  const ctx = ldapContext(system, config);
  const { users, groups, disable, ad, isDnMember } = ctx;
  const { lastUsedAttribute } = config;
  const sessions = createLdapSessions(ctx, deps, options.concurrency);
  const { session } = sessions;
  const { searchUsers, findUser, readUser, searchUser, mustFindUser, remember, forget, recentUser } =
    createLdapUsers(ctx);
  const { searchGroups, onGroup, memberValue, createGroup, removeMember, rewriteMemberships } =
    createLdapGroups(ctx);
  const { samAccountNameOf, rdnValueOf, newEntry, addEntry, checkAttributes } = createLdapNewAccounts(ctx, {
    findUser,
  });
  const { setEnabled, relockIfUnlocked } = createLdapAccountState(
    ctx,
    session,
    { findUser, mustFindUser, forget },
    { rewriteMemberships },
  );
  /** Active Directory: one create or rotation per username at a time, so one password is generated. */
  const perAccountLock = createKeyedLock();
  const perAccount = <T>(username: string, fn: () => Promise<T>) =>
    perAccountLock.run([username.toLowerCase()], fn);

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
        const found = await searchUsers(client, `(${users.usernameAttribute}=*)`, [
          ...(ad ? ["memberOf"] : []),
          // An operational attribute (authTimestamp) is returned only when asked for by name.
          ...(lastUsedAttribute === null ? [] : [lastUsedAttribute]),
        ]);
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
          if (lastUsedAttribute !== null) account.lastUsedAt = parseLastUsed(user.values(lastUsedAttribute));
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

    ...(ad
      ? { rotateCredential }
      : { credentials: createLdapRotator(ctx, session, { mustFindUser }, sessions.bindAs) }),

    close: () => sessions.close(),
  };
}
