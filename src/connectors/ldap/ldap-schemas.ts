import { z } from "zod";
import { secret } from "../../shared/secret-field.js";
import { parseConnectorConfig } from "../connector-config.js";
import { passwordSinkSchema } from "../password-sink.js";

const nonEmpty = z.string().min(1, "must not be empty");

/** The member attribute each supported group object class uses. */
export const MEMBER_ATTRIBUTE = {
  groupOfNames: "member",
  groupOfUniqueNames: "uniqueMember",
  posixGroup: "memberUid",
  /** Active Directory's groups; they may be empty. */
  group: "member",
} as const;

/**
 * The kind of directory: `openldap` (RFC 4519 entries, ppolicy or moveToOu disable) or
 * `activeDirectory` (Active Directory or Samba AD: `user` and `group` objects, `sAMAccountName`,
 * `objectGUID`, `userAccountControl`, generated passwords written to `unicodePwd`).
 */
export const LDAP_DIRECTORIES = ["openldap", "activeDirectory"] as const;

/** What each kind of directory uses when the configuration does not say. */
const DIRECTORY_DEFAULTS = {
  openldap: {
    objectClasses: ["inetOrgPerson"],
    rdnAttribute: "uid",
    usernameAttribute: "uid",
    groupObjectClass: "groupOfNames",
    disable: { strategy: "ppolicy" },
    lastUsedAttribute: null,
  },
  activeDirectory: {
    objectClasses: ["user"],
    rdnAttribute: "cn",
    usernameAttribute: "sAMAccountName",
    groupObjectClass: "group",
    disable: { strategy: "userAccountControl" },
    lastUsedAttribute: "lastLogonTimestamp",
  },
} as const;

// Checked as ldapts will read it, so a bad port or stray credentials fail validation rather than the
// first operation. Messages never echo the URL.
const urlSchema = z.string().superRefine((url, ctx) => {
  if (!/^ldaps?:\/\/[^/\s]+\/?$/i.test(url)) {
    ctx.addIssue({ code: "custom", message: "must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]" });
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not a valid URL" });
    return;
  }
  if (parsed.username !== "" || parsed.password !== "") {
    ctx.addIssue({
      code: "custom",
      message: "must not contain credentials (user:password@); use bindDn and bindPassword",
    });
  } else if (parsed.hostname === "") {
    ctx.addIssue({ code: "custom", message: "needs a host" });
  } else if (parsed.port === "0") {
    ctx.addIssue({ code: "custom", message: "needs a port from 1 to 65535" });
  }
});

const disableSchema = z.discriminatedUnion("strategy", [
  /** Sets `pwdAccountLockedTime: 000001010000Z` (OpenLDAP ppolicy overlay): binds are refused. */
  z.strictObject({ strategy: z.literal("ppolicy") }),
  /** Moves the entry under `disabledBase`; whether that refuses binds depends on the server's ACLs. */
  z.strictObject({ strategy: z.literal("moveToOu"), disabledBase: nonEmpty }),
  /** Active Directory: sets ACCOUNTDISABLE (0x2) in `userAccountControl` (512 → 514), other flags kept. */
  z.strictObject({ strategy: z.literal("userAccountControl") }),
]);

export const ldapConnectorConfigSchema = z
  .strictObject({
    /** Which kind of directory this is; it sets the defaults below. Default `openldap`. */
    directory: z.enum(LDAP_DIRECTORIES).default("openldap"),
    /** `ldap://host:389` or `ldaps://host:636`. */
    url: secret(urlSchema),
    /** The DN the connector binds as, e.g. `cn=admin,dc=example,dc=com`. */
    bindDn: nonEmpty,
    /** The bind password; write it as `${env:NAME}` or `${file:PATH}`. Never appears in messages. */
    bindPassword: secret(z.string()),
    /** Upgrade an `ldap://` connection with StartTLS before binding. */
    startTls: z.boolean().default(false),
    /** Verify the server certificate (ldaps:// and StartTLS). */
    tlsRejectUnauthorized: z.boolean().default(true),
    /**
     * A PEM file with the CA certificate(s) the server's certificate is checked against, instead of
     * Node's built-in list (a private or self-signed CA). Relative to the config file's folder.
     */
    tlsCaFile: nonEmpty.optional(),
    /** Per-operation timeout and connect timeout, in milliseconds. */
    timeoutMs: z.number().int().positive().default(10_000),
    /**
     * Bound connections kept open between calls (calls beyond it open extra ones, closed after).
     * Absent: the system's `concurrency` (ldap-session.ts).
     */
    maxConnections: z.number().int().positive().max(64).optional(),
    users: z.strictObject({
      /** Where accounts live (searched with scope sub) and where new ones are created. */
      base: nonEmpty,
      /** Object classes of new entries. Default `[inetOrgPerson]`, or `[user]` for Active Directory. */
      objectClasses: z.array(nonEmpty).min(1).optional(),
      /**
       * The attribute naming the entry: DN = `<rdnAttribute>=<value>,<base>`. Default `uid`, or `cn` for
       * Active Directory.
       */
      rdnAttribute: nonEmpty.optional(),
      /**
       * Where the RDN value of a new entry comes from: `username` (default) or a Tenure attribute in
       * `attributes`, e.g. `displayName` for `CN=Zoë O'Brien,OU=…`. Entries are not renamed later.
       */
      rdnFrom: nonEmpty.default("username"),
      /**
       * The attribute holding the username. Default `uid`; for Active Directory `sAMAccountName`
       * (default) or `userPrincipalName`.
       */
      usernameAttribute: nonEmpty.optional(),
      /**
       * Active Directory: new accounts also get `userPrincipalName = <sAMAccountName>@<upnSuffix>`
       * (when the username is the sAMAccountName).
       */
      upnSuffix: nonEmpty.optional(),
      /** Tenure attribute name → LDAP attribute. Only these attributes can be read and written. */
      attributes: z.record(nonEmpty, nonEmpty).default({}),
      /**
       * LDAP attribute the Tenure attribute `password` is written to (e.g. `userPassword`); write-only,
       * never listed.
       */
      passwordAttribute: nonEmpty.optional(),
    }),
    groups: z.strictObject({
      base: nonEmpty,
      /** Default `groupOfNames`, or `group` for Active Directory. */
      objectClass: z.enum(["groupOfNames", "groupOfUniqueNames", "posixGroup", "group"]).optional(),
      /** The attribute whose value is the entitlement key. */
      keyAttribute: nonEmpty.default("cn"),
      /**
       * groupOfNames and groupOfUniqueNames need at least one member: revoking the last member leaves
       * this DN in the group instead (default: the bind DN). Never listed as an account.
       */
      emptyMember: nonEmpty.optional(),
    }),
    /** Default `ppolicy`, or `userAccountControl` for Active Directory. */
    disable: disableSchema.optional(),
    /**
     * Where generated passwords go (Active Directory: `create` and `rotateCredential` set a random
     * password and deliver it here first). Required for Active Directory.
     */
    passwordSink: passwordSinkSchema.optional(),
    /** Page size of the paged searches (RFC 2696); Active Directory serves at most 1000 per page. */
    pageSize: z.number().int().positive().default(500),
    /**
     * The attribute recording each account's last use, read by `listAccounts` (for dormant accounts
     * and review evidence): a generalized time (OpenLDAP's lastbind overlay writes `authTimestamp`) or
     * a Windows FILETIME (Active Directory's `lastLogonTimestamp`); the format is told from the value.
     * Default `lastLogonTimestamp` for Active Directory, none for openldap (whether the lastbind overlay
     * runs cannot be told from outside); `null` turns it off. Absent on an entry: never used.
     */
    lastUsedAttribute: nonEmpty.nullable().optional(),
  })
  .superRefine((config, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    const ad = config.directory === "activeDirectory";
    const usernameAttribute = config.users.usernameAttribute?.toLowerCase();
    const strategy = config.disable?.strategy;
    const rdnAttribute = config.users.rdnAttribute ?? DIRECTORY_DEFAULTS[config.directory].rdnAttribute;
    if (config.users.rdnFrom !== "username") {
      if (config.users.attributes[config.users.rdnFrom] === undefined) {
        issue(["users", "rdnFrom"], "must be username or an attribute named in users.attributes");
      }
      const username =
        config.users.usernameAttribute ?? DIRECTORY_DEFAULTS[config.directory].usernameAttribute;
      if (rdnAttribute.toLowerCase() === username.toLowerCase()) {
        issue(["users", "rdnFrom"], "needs a users.rdnAttribute other than the username attribute");
      }
    }
    if (ad) {
      if (!/^ldaps:/i.test(config.url) && !config.startTls) {
        issue(["url"], "activeDirectory accepts passwords only over ldaps:// or with startTls: true");
      }
      if (config.passwordSink === undefined) {
        issue(["passwordSink"], "is required for activeDirectory: created accounts get a generated password");
      }
      if (
        usernameAttribute !== undefined &&
        !["samaccountname", "userprincipalname"].includes(usernameAttribute)
      ) {
        issue(
          ["users", "usernameAttribute"],
          "must be sAMAccountName or userPrincipalName for activeDirectory",
        );
      }
      if (config.users.passwordAttribute !== undefined) {
        issue(["users", "passwordAttribute"], "is not used for activeDirectory: passwords are generated");
      }
      if (config.groups.objectClass !== undefined && config.groups.objectClass !== "group") {
        issue(["groups", "objectClass"], "must be group for activeDirectory");
      }
      if (strategy !== undefined && strategy !== "userAccountControl") {
        issue(["disable", "strategy"], "must be userAccountControl for activeDirectory");
      }
    } else {
      if (config.groups.objectClass === "group")
        issue(["groups", "objectClass"], "group is for activeDirectory");
      if (strategy === "userAccountControl") {
        issue(["disable", "strategy"], "userAccountControl needs directory: activeDirectory");
      }
      if (config.users.upnSuffix !== undefined) issue(["users", "upnSuffix"], "is for activeDirectory only");
    }
  })
  .transform((config) => {
    const defaults = DIRECTORY_DEFAULTS[config.directory];
    const groupObjectClass = config.groups.objectClass ?? defaults.groupObjectClass;
    return {
      ...config,
      users: {
        ...config.users,
        objectClasses: config.users.objectClasses ?? [...defaults.objectClasses],
        rdnAttribute: config.users.rdnAttribute ?? defaults.rdnAttribute,
        usernameAttribute: config.users.usernameAttribute ?? defaults.usernameAttribute,
      },
      groups: {
        ...config.groups,
        objectClass: groupObjectClass,
        memberAttribute: MEMBER_ATTRIBUTE[groupObjectClass],
        emptyMember: config.groups.emptyMember ?? config.bindDn,
      },
      disable: config.disable ?? { ...defaults.disable },
      lastUsedAttribute:
        config.lastUsedAttribute === undefined ? defaults.lastUsedAttribute : config.lastUsedAttribute,
    };
  });

/** The parsed configuration of one `ldap` system (defaults applied, member attribute derived). */
export type LdapConnectorConfig = z.output<typeof ldapConnectorConfigSchema>;
/** The configuration as written in tenure.yaml, before defaults. */
export type LdapConnectorConfigInput = z.input<typeof ldapConnectorConfigSchema>;

/**
 * Parses the `ldap` configuration of one system, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem; never echoes secrets.
 */
export function parseLdapConnectorConfig(system: string, raw: unknown): LdapConnectorConfig {
  return parseConnectorConfig("ldap", ldapConnectorConfigSchema, system, raw);
}
