import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors.js";
import { CONNECTOR_TYPES } from "../connector-registry.js";
import { parseLdapConnectorConfig } from "./ldap-schemas.js";

const minimal = {
  url: "ldap://127.0.0.1:389",
  bindDn: "cn=admin,dc=example,dc=test",
  bindPassword: "s3cret-value",
  users: { base: "ou=people,dc=example,dc=test" },
  groups: { base: "ou=groups,dc=example,dc=test" },
};

describe("ldap connector config", () => {
  it("applies the documented defaults and derives the member attribute", () => {
    const config = parseLdapConnectorConfig("dir", minimal);
    expect(config).toMatchObject({
      startTls: false,
      tlsRejectUnauthorized: true,
      pageSize: 500,
      users: {
        objectClasses: ["inetOrgPerson"],
        rdnAttribute: "uid",
        usernameAttribute: "uid",
        attributes: {},
      },
      groups: { objectClass: "groupOfNames", memberAttribute: "member", keyAttribute: "cn" },
      disable: { strategy: "ppolicy" },
    });
    expect(config.groups.emptyMember).toBe(minimal.bindDn);
    expect(Object.isFrozen(config.groups)).toBe(true);
  });

  it("derives uniqueMember and memberUid", () => {
    const unique = parseLdapConnectorConfig("dir", {
      ...minimal,
      groups: { base: "ou=g", objectClass: "groupOfUniqueNames" },
    });
    expect(unique.groups.memberAttribute).toBe("uniqueMember");
    const posix = parseLdapConnectorConfig("dir", {
      ...minimal,
      groups: { base: "ou=g", objectClass: "posixGroup" },
    });
    expect(posix.groups.memberAttribute).toBe("memberUid");
  });

  it("moveToOu needs a disabledBase", () => {
    expect(() => parseLdapConnectorConfig("dir", { ...minimal, disable: { strategy: "moveToOu" } })).toThrow(
      InvalidInputError,
    );
    const config = parseLdapConnectorConfig("dir", {
      ...minimal,
      disable: { strategy: "moveToOu", disabledBase: "ou=disabled,dc=example,dc=test" },
    });
    expect(config.disable).toEqual({ strategy: "moveToOu", disabledBase: "ou=disabled,dc=example,dc=test" });
  });

  const ad = {
    ...minimal,
    directory: "activeDirectory",
    url: "ldaps://dc1.example.test",
    bindDn: "svc-tenure@example.test",
    users: { base: "OU=People,DC=example,DC=test" },
    groups: { base: "OU=Groups,DC=example,DC=test" },
    passwordSink: { file: "/var/lib/tenure/ad-passwords.jsonl" },
  };

  it("activeDirectory: user/group objects, sAMAccountName, cn and the userAccountControl disable", () => {
    const config = parseLdapConnectorConfig("ad", ad);
    expect(config).toMatchObject({
      directory: "activeDirectory",
      users: {
        objectClasses: ["user"],
        rdnAttribute: "cn",
        rdnFrom: "username",
        usernameAttribute: "sAMAccountName",
      },
      groups: { objectClass: "group", memberAttribute: "member" },
      disable: { strategy: "userAccountControl" },
      passwordSink: { file: "/var/lib/tenure/ad-passwords.jsonl" },
    });
    expect(parseLdapConnectorConfig("dir", minimal).directory).toBe("openldap");
  });

  it("reads last use from lastLogonTimestamp in Active Directory and from nothing in openldap unless named", () => {
    expect(parseLdapConnectorConfig("ad", ad).lastUsedAttribute).toBe("lastLogonTimestamp");
    expect(parseLdapConnectorConfig("ad", { ...ad, lastUsedAttribute: null }).lastUsedAttribute).toBeNull();
    expect(parseLdapConnectorConfig("dir", minimal).lastUsedAttribute).toBeNull();
    const named = parseLdapConnectorConfig("dir", { ...minimal, lastUsedAttribute: "authTimestamp" });
    expect(named.lastUsedAttribute).toBe("authTimestamp");
    expect(() => parseLdapConnectorConfig("dir", { ...minimal, lastUsedAttribute: "" })).toThrow(
      InvalidInputError,
    );
  });

  it("activeDirectory needs TLS and a password sink, and refuses OpenLDAP-only settings", () => {
    const details = (raw: unknown) => {
      try {
        parseLdapConnectorConfig("ad", raw);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidInputError);
        return (e as InvalidInputError).details.join("\n");
      }
      throw new Error("no error");
    };
    const { passwordSink: _, ...withoutSink } = ad;
    expect(details({ ...withoutSink, url: "ldap://dc1.example.test" })).toMatch(
      /systems\.ad\.url: .*ldaps:\/\/ or with startTls[\s\S]*systems\.ad\.passwordSink: is required/,
    );
    expect(parseLdapConnectorConfig("ad", { ...ad, url: "ldap://dc1", startTls: true }).startTls).toBe(true);
    expect(details({ ...ad, disable: { strategy: "ppolicy" } })).toMatch(
      /disable\.strategy: must be userAccountControl/,
    );
    expect(details({ ...ad, groups: { base: "OU=G", objectClass: "groupOfNames" } })).toMatch(
      /groups\.objectClass/,
    );
    expect(details({ ...ad, users: { base: "OU=P", usernameAttribute: "uid" } })).toMatch(
      /usernameAttribute/,
    );
    expect(details({ ...ad, users: { base: "OU=P", passwordAttribute: "unicodePwd" } })).toMatch(
      /passwordAttribute/,
    );
    expect(details({ ...minimal, disable: { strategy: "userAccountControl" } })).toMatch(/needs directory/);
    expect(details({ ...minimal, users: { base: "ou=p", upnSuffix: "example.test" } })).toMatch(/upnSuffix/);
  });

  it("the registry resolves tlsCaFile and the password sink against the config file's folder", () => {
    const resolve = CONNECTOR_TYPES.ldap!.resolvePaths as unknown as (
      config: unknown,
      dir: string,
    ) => unknown;
    const relative = parseLdapConnectorConfig("ad", {
      ...ad,
      tlsCaFile: "certs/ad-ca.pem",
      passwordSink: { file: "secrets/ad.jsonl" },
    });
    expect(resolve(relative, "/etc/tenure")).toMatchObject({
      tlsCaFile: "/etc/tenure/certs/ad-ca.pem",
      passwordSink: { file: "/etc/tenure/secrets/ad.jsonl" },
    });
    const openldap = parseLdapConnectorConfig("dir", minimal);
    expect(resolve(openldap, "/etc/tenure")).toEqual(openldap);
  });

  it("rdnFrom names a mapped attribute and needs an RDN attribute other than the username's", () => {
    const config = parseLdapConnectorConfig("ad", {
      ...ad,
      users: { base: "OU=P", rdnFrom: "displayName", attributes: { displayName: "displayName" } },
    });
    expect(config.users.rdnFrom).toBe("displayName");
    expect(() =>
      parseLdapConnectorConfig("ad", { ...ad, users: { base: "OU=P", rdnFrom: "displayName" } }),
    ).toThrow(InvalidInputError);
    expect(() =>
      parseLdapConnectorConfig("dir", {
        ...minimal,
        users: { base: "ou=p", rdnFrom: "displayName", attributes: { displayName: "displayName" } },
      }),
    ).toThrow(InvalidInputError);
  });

  it("rejects other URL schemes and unknown keys, naming the path and never the secret", () => {
    const err = (() => {
      try {
        parseLdapConnectorConfig("dir", { ...minimal, url: "http://user:s3cret-value@host", extra: 1 });
      } catch (e) {
        return e as InvalidInputError;
      }
      throw new Error("no error");
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.details.join("\n")).toMatch(/systems\.dir\.url: must be ldap:\/\//);
    expect(err.details.join("\n")).toMatch(/extra/);
    expect(JSON.stringify([err.message, err.details])).not.toContain("s3cret-value");
  });
});
