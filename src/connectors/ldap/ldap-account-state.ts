import { type AccountRef, ConnectorError, type WriteResult } from "../connector-types.js";
import { withAccountDisabled } from "./ldap-active-directory.js";
import {
  type LdapClient,
  type LdapContext,
  LOCK_ATTRIBUTE,
  PERMANENT_LOCK,
  UAC_ATTRIBUTE,
  type UserEntry,
} from "./ldap-context.js";
import { change, firstRdn } from "./ldap-entry-values.js";
import type { LdapGroups } from "./ldap-groups.js";
import type { LdapSession } from "./ldap-session.js";
import type { LdapUsers } from "./ldap-users.js";

/** Enabling and disabling accounts by the configured strategy: a ppolicy lock, AD's flag, or a move. */
export function createLdapAccountState(
  ctx: LdapContext,
  session: LdapSession,
  { findUser, mustFindUser, forget }: Pick<LdapUsers, "findUser" | "mustFindUser" | "forget">,
  { rewriteMemberships }: Pick<LdapGroups, "rewriteMemberships">,
) {
  const { system, users, disable } = ctx;

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

  return { setEnabled, relockIfUnlocked };
}
