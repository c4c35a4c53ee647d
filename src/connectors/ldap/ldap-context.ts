import type { Client, ClientOptions } from "ldapts";
import { escapeFilterValue, isUnderDn } from "./ldap-escape.js";
import type { LdapConnectorConfig } from "./ldap-schemas.js";

// What every part of the ldap connector shares: the configuration read once into the names, filters
// and attribute lists the parts use (ldap-session, ldap-users, ldap-groups, ldap-new-account,
// ldap-account-state; ldap-connector.ts is the facade).

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
export const PERMANENT_LOCK = "000001010000Z";
export const LOCK_ATTRIBUTE = "pwdAccountLockedTime";

export const UAC_ATTRIBUTE = "userAccountControl";

export const RESULT = {
  noSuchAttribute: 16,
  attributeOrValueExists: 20,
  noSuchObject: 32,
  unwillingToPerform: 53,
  objectClassViolation: 65,
  entryAlreadyExists: 68,
} as const;

export interface UserEntry {
  dn: string;
  nativeId: string;
  username: string;
  enabled: boolean;
  values: (ldapAttribute: string) => string[];
}

export interface GroupEntry {
  dn: string;
  key: string;
  members: string[];
  description: string | null;
}

export type LdapContext = ReturnType<typeof ldapContext>;

/** The configuration of one system read into what the connector's parts use. */
export function ldapContext(system: string, config: LdapConnectorConfig) {
  const { users, groups, disable } = config;
  const ad = config.directory === "activeDirectory";
  const idAttribute = ad ? "objectGUID" : "entryUUID";
  const disabledBase = disable.strategy === "moveToOu" ? disable.disabledBase : undefined;
  return {
    system,
    config,
    users,
    groups,
    disable,
    ad,
    idAttribute,
    byUpn: users.usernameAttribute.toLowerCase() === "userprincipalname",
    userBases: [
      users.base,
      ...(disabledBase !== undefined && !isUnderDn(disabledBase, users.base) ? [disabledBase] : []),
    ],
    // Computers are `user` objects too: AD's objectCategory tells people apart.
    userObjectFilter:
      (ad ? "(objectCategory=person)" : "") +
      users.objectClasses.map((oc) => `(objectClass=${escapeFilterValue(oc)})`).join(""),
    groupObjectFilter: `(objectClass=${escapeFilterValue(groups.objectClass)})`,
    isDnMember: groups.memberAttribute !== "memberUid",
    userAttributes: [
      users.usernameAttribute,
      idAttribute,
      ...(disable.strategy === "ppolicy" ? [LOCK_ATTRIBUTE] : []),
      ...(disable.strategy === "userAccountControl" ? [UAC_ATTRIBUTE] : []),
      ...Object.values(users.attributes),
    ],
    personLike: users.objectClasses.some((oc) =>
      ["inetorgperson", "organizationalperson", "person"].includes(oc.toLowerCase()),
    ),
  };
}
