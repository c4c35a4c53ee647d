import fc from "fast-check";
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
  it("gives an escape-free DN the same key as the full parse does (forced by escaping one character)", () => {
    const value = fc.string({
      unit: fc.constantFrom(..."abcXYZ09 ._-=éß".split("")),
      minLength: 1,
      maxLength: 8,
    });
    const rdn = fc.tuple(fc.constantFrom("uid", "CN", " ou", "dc "), value);
    fc.assert(
      fc.property(fc.array(rdn, { minLength: 1, maxLength: 4 }), fc.nat(), (rdns, at) => {
        const plain = rdns.map(([t, v]) => `${t}=${v}`).join(",");
        // \XX-escaping one value character sends the DN down the full parser.
        const [t0, v0] = rdns[0]!;
        const i = at % v0.length;
        const hex = [...Buffer.from(v0[i]!, "utf8")]
          .map((b) => `\\${b.toString(16).padStart(2, "0")}`)
          .join("");
        const escaped = [
          `${t0}=${v0.slice(0, i)}${hex}${v0.slice(i + 1)}`,
          ...rdns.slice(1).map(([t, v]) => `${t}=${v}`),
        ].join(",");
        expect(normalizeDn(plain)).toBe(normalizeDn(escaped));
      }),
    );
  });

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
