import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors.js";
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
