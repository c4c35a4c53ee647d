import { describe, expect, it } from "vitest";
import { escapeDnValue, escapeFilterValue, isUnderDn, normalizeDn } from "./ldap-escape.js";

describe("escapeFilterValue (RFC 4515)", () => {
  it("escapes the filter metacharacters and NUL, nothing else", () => {
    expect(escapeFilterValue("*)(uid=*))(|(uid=*")).toBe("\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a");
    expect(escapeFilterValue("a\\b\u0000")).toBe("a\\5cb\\00");
    expect(escapeFilterValue("O'Brien Zoë, Ltd+ #admin")).toBe("O'Brien Zoë, Ltd+ #admin");
  });
});

describe("escapeDnValue (RFC 4514)", () => {
  it("escapes the special characters", () => {
    expect(escapeDnValue("Zoë, Ltd+")).toBe("Zoë\\, Ltd\\+");
    expect(escapeDnValue('a"b;c<d>e\\f=g')).toBe('a\\"b\\;c\\<d\\>e\\5cf\\=g');
    expect(escapeDnValue("nul\u0000")).toBe("nul\\00");
  });
  it("escapes a leading # or space and a trailing space", () => {
    expect(escapeDnValue("#admin")).toBe("\\#admin");
    expect(escapeDnValue(" lead and trail ")).toBe("\\ lead and trail\\ ");
    expect(escapeDnValue("a#b c")).toBe("a#b c");
  });
  it("leaves apostrophes, filter characters and non-ASCII letters alone", () => {
    expect(escapeDnValue("O'Brien")).toBe("O'Brien");
    expect(escapeDnValue("*)(uid=*))(|(uid=*")).toBe("*)(uid\\=*))(|(uid\\=*");
  });
});

describe("normalizeDn", () => {
  it("gives one key to different spellings of one DN", () => {
    expect(normalizeDn("UID=Zoë\\2C Ltd\\2B,ou=People, dc=example,dc=test")).toBe(
      normalizeDn(`uid=${escapeDnValue("zoë, ltd+")},ou=people,dc=example,dc=test`),
    );
    expect(normalizeDn("uid=\\#admin,dc=x")).toBe(normalizeDn("uid=\\23admin,dc=x"));
  });
  it("keeps escaped separators inside values", () => {
    expect(normalizeDn("cn=a\\,b,dc=x")).not.toBe(normalizeDn("cn=a,cn=b,dc=x"));
    expect(normalizeDn("cn=a+sn=b,dc=x")).toBe(normalizeDn("sn=b+cn=a,dc=x"));
  });
  it("decides whether a DN lies under a base", () => {
    expect(isUnderDn("uid=a,ou=disabled,dc=x", "ou=Disabled,dc=x")).toBe(true);
    expect(isUnderDn("uid=a,ou=people,dc=x", "ou=disabled,dc=x")).toBe(false);
    expect(isUnderDn("uid=a\\,ou=disabled,dc=x", "ou=disabled,dc=x")).toBe(false);
  });
});
