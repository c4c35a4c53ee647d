import { z } from "zod";
import { parseConnectorConfig } from "../connector-config.js";

const nonEmpty = z.string().min(1, "must not be empty");

/** The member attribute each supported group object class uses. */
export const MEMBER_ATTRIBUTE = {
  groupOfNames: "member",
  groupOfUniqueNames: "uniqueMember",
  posixGroup: "memberUid",
} as const;

export type LdapGroupObjectClass = keyof typeof MEMBER_ATTRIBUTE;

const urlSchema = z.string().superRefine((url, ctx) => {
  // Messages never echo the URL.
  if (!/^ldaps?:\/\/[^/\s]+\/?$/i.test(url)) {
    ctx.addIssue({ code: "custom", message: "must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]" });
  }
});

const disableSchema = z.discriminatedUnion("strategy", [
  /** Sets `pwdAccountLockedTime: 000001010000Z` (OpenLDAP ppolicy overlay): binds are refused. */
  z.strictObject({ strategy: z.literal("ppolicy") }),
  /** Moves the entry under `disabledBase`; whether that refuses binds depends on the server's ACLs. */
  z.strictObject({ strategy: z.literal("moveToOu"), disabledBase: nonEmpty }),
]);

export const ldapConnectorConfigSchema = z
  .strictObject({
    /** `ldap://host:389` or `ldaps://host:636`. */
    url: urlSchema,
    /** The DN the connector binds as, e.g. `cn=admin,dc=example,dc=com`. */
    bindDn: nonEmpty,
    /** The bind password; write it as `${env:NAME}` or `${file:PATH}`. Never appears in messages. */
    bindPassword: z.string(),
    /** Upgrade an `ldap://` connection with StartTLS before binding. */
    startTls: z.boolean().default(false),
    /** Verify the server certificate (ldaps:// and StartTLS). */
    tlsRejectUnauthorized: z.boolean().default(true),
    /** Per-operation timeout and connect timeout, in milliseconds. */
    timeoutMs: z.number().int().positive().default(10_000),
    /** Bound connections kept open between calls (calls beyond it open extra ones, closed after). */
    maxConnections: z.number().int().positive().max(64).default(8),
    users: z.strictObject({
      /** Where accounts live (searched with scope sub) and where new ones are created. */
      base: nonEmpty,
      objectClasses: z.array(nonEmpty).min(1).default(["inetOrgPerson"]),
      /** The attribute naming the entry: DN = `<rdnAttribute>=<username>,<base>`. */
      rdnAttribute: nonEmpty.default("uid"),
      /** The attribute holding the username. */
      usernameAttribute: nonEmpty.default("uid"),
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
      objectClass: z.enum(["groupOfNames", "groupOfUniqueNames", "posixGroup"]).default("groupOfNames"),
      /** The attribute whose value is the entitlement key. */
      keyAttribute: nonEmpty.default("cn"),
      /**
       * groupOfNames and groupOfUniqueNames need at least one member: revoking the last member leaves
       * this DN in the group instead (default: the bind DN). Never listed as an account.
       */
      emptyMember: nonEmpty.optional(),
    }),
    disable: disableSchema.default({ strategy: "ppolicy" }),
    /** Page size of the paged searches (RFC 2696). */
    pageSize: z.number().int().positive().default(500),
  })
  .transform((config) => ({
    ...config,
    groups: {
      ...config.groups,
      memberAttribute: MEMBER_ATTRIBUTE[config.groups.objectClass],
      emptyMember: config.groups.emptyMember ?? config.bindDn,
    },
  }));

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
