import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { Attribute, Change } from "ldapts";
import { type AccountRef, ConnectorError, type CredentialRotator } from "../connector-types.js";
import type { LdapClient, LdapContext, UserEntry } from "./ldap-context.js";
import type { LdapSession } from "./ldap-session.js";
import type { LdapUsers } from "./ldap-users.js";

/** The attribute rotated when `users.passwordAttribute` does not name another. */
const DEFAULT_PASSWORD_ATTRIBUTE = "userPassword";

/** `{SSHA}` of `secret`: base64(SHA-1(secret ‖ salt) ‖ salt) with an 8-byte random salt (RFC 2307 style). */
export function sshaHash(secret: string): string {
  const salt = randomBytes(8);
  const digest = createHash("sha1").update(secret, "utf8").update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString("base64")}`;
}

/**
 * Whether a stored password value is `secret`: `{SSHA}`, `{SHA}` and a cleartext value are checked; any
 * other scheme (`{CRYPT}`, `{PBKDF2}`…) reads as "not this secret", so it counts among the others.
 */
export function passwordValueMatches(value: Buffer, secret: string): boolean {
  const text = value.toString("utf8");
  const scheme = /^\{([A-Za-z0-9-]+)\}/.exec(text);
  const equal = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
  if (scheme === null) return equal(value, Buffer.from(secret, "utf8"));
  const encoded = Buffer.from(text.slice(scheme[0].length), "base64");
  switch (scheme[1]!.toUpperCase()) {
    case "SSHA": {
      if (encoded.length <= 20) return false;
      const salt = encoded.subarray(20);
      const digest = createHash("sha1").update(secret, "utf8").update(salt).digest();
      return equal(encoded.subarray(0, 20), digest);
    }
    case "SHA":
      return equal(encoded, createHash("sha1").update(secret, "utf8").digest());
    default:
      return false;
  }
}

/**
 * The `ldap` connector's credential rotation for OpenLDAP (and other RFC 4519 directories): the password
 * attribute (`users.passwordAttribute`, default `userPassword`) is multi-valued, so the target holds two.
 *
 * - `setSecret` ADDs the new password as an `{SSHA}` value beside the old ones (never in clear: slapd
 *   hashes only what the Password Modify operation sends). A locked account is refused first.
 * - `verify` binds as the entry's DN with the new password, on a connection of its own.
 * - `retireOthers` deletes every value but the new one, read afresh; it refuses (deleting nothing) when
 *   the new one is not among them, so the account never ends without a password.
 * - `removeSecret` deletes the new value again (a failed verify), refusing when it is the only one.
 */
export function createLdapRotator(
  ctx: LdapContext,
  session: LdapSession,
  users: Pick<LdapUsers, "mustFindUser">,
  bindAs: (dn: string, password: string) => Promise<void>,
): CredentialRotator {
  const { system } = ctx;
  const attribute = ctx.users.passwordAttribute ?? DEFAULT_PASSWORD_ATTRIBUTE;
  const refuse = (message: string) => new ConnectorError(system, "invalid", message, { retryable: false });

  async function values(client: LdapClient, user: UserEntry): Promise<Buffer[]> {
    const { searchEntries } = await client.search(user.dn, {
      scope: "base",
      attributes: [attribute],
      explicitBufferAttributes: [attribute],
    });
    const entry = searchEntries[0];
    const key = Object.keys(entry ?? {}).find((k) => k.toLowerCase() === attribute.toLowerCase());
    const found = entry === undefined || key === undefined ? [] : entry[key];
    return (Array.isArray(found) ? found : [found]).filter((v): v is Buffer => Buffer.isBuffer(v));
  }

  const remove = (doomed: Buffer[]) =>
    new Change({ operation: "delete", modification: new Attribute({ type: attribute, values: doomed }) });

  return {
    holdsTwo: true,

    setSecret: (ref: AccountRef, secret: string) =>
      session(
        `add a rotated ${attribute} to account ${ref.username}`,
        async (client) => {
          const user = await users.mustFindUser(client, ref);
          if (!user.enabled) {
            throw refuse(
              `account ${ref.username} is disabled: enable it before rotating its password, which is verified by a bind`,
            );
          }
          await client.modify(
            user.dn,
            new Change({
              operation: "add",
              modification: new Attribute({ type: attribute, values: [sshaHash(secret)] }),
            }),
          );
        },
        [secret],
      ),

    async verify(ref, secret) {
      const user = await session(`find account ${ref.username}`, (client) => users.mustFindUser(client, ref));
      await bindAs(user.dn, secret);
    },

    retireOthers: (ref, keep) =>
      session(
        `remove the old ${attribute} values of account ${ref.username}`,
        async (client) => {
          const user = await users.mustFindUser(client, ref);
          const held = await values(client, user);
          const others = held.filter((value) => !passwordValueMatches(value, keep));
          if (others.length === held.length) {
            throw refuse(
              `the new password is not among the ${attribute} values of account ${ref.username}: nothing removed`,
            );
          }
          if (others.length > 0) await client.modify(user.dn, remove(others));
        },
        [keep],
      ),

    removeSecret: (ref, secret) =>
      session(
        `remove the rotated ${attribute} value of account ${ref.username}`,
        async (client) => {
          const user = await users.mustFindUser(client, ref);
          const held = await values(client, user);
          const mine = held.filter((value) => passwordValueMatches(value, secret));
          if (mine.length === 0) return;
          if (mine.length === held.length) {
            throw refuse(
              `the new password is the only ${attribute} value of account ${ref.username}: it is kept, not removed`,
            );
          }
          await client.modify(user.dn, remove(mine));
        },
        [secret],
      ),
  };
}
