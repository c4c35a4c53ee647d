import { Attribute, type Entry } from "ldapts";
import type { WriteResult } from "../connector-types.js";
import {
  type GroupEntry,
  type LdapClient,
  type LdapContext,
  RESULT,
  type UserEntry,
} from "./ldap-context.js";
import { change, reader, tolerate } from "./ldap-entry-values.js";
import { ldapResultCode } from "./ldap-errors.js";
import { escapeDnValue, escapeFilterValue, normalizeDn } from "./ldap-escape.js";

/** How long a read group serves membership writes (see `recentGroups`). */
const GROUP_TTL_MS = 300_000;

export type LdapGroups = ReturnType<typeof createLdapGroups>;

/** Groups and membership: searches, a short cache of groups by key, adding and removing members. */
export function createLdapGroups(ctx: LdapContext) {
  const { config, groups, ad, isDnMember, groupObjectFilter } = ctx;
  /** Recently read groups by key; see `recentUsers` in ldap-users.ts for why and for how long. */
  const recentGroups = new Map<string, { group: GroupEntry; at: number }>();

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

  return { searchGroups, findGroup, onGroup, memberValue, createGroup, removeMember, rewriteMemberships };
}
