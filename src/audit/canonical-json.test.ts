import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it("gives the same text whatever order the keys were inserted in", () => {
    const one = { name: "Ada", roles: ["admin", "dev"], manager: { id: 7, email: "m@example.test" } };
    const two = { manager: { email: "m@example.test", id: 7 }, roles: ["admin", "dev"], name: "Ada" };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it("keeps array order, which carries meaning", () => {
    expect(canonicalJson([3, 1, 2])).toBe("[3,1,2]");
  });

  it("matches the RFC 8785 example for numbers, strings and literals", () => {
    // The RFC's input, parsed from its own JSON text (§3.2.2).
    const value = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    expect(canonicalJson(value)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it("sorts keys by UTF-16 code units, as the RFC 8785 sorting example does", () => {
    const value = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    // Compared as text: JSON.parse would move the integer-like key "1" to the front again.
    const order = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"] as const;
    const expected = `{${order.map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`).join(",")}}`;
    expect(canonicalJson(value)).toBe(expected);
  });

  it("writes non-ASCII text as itself and escapes only what JSON requires", () => {
    expect(canonicalJson({ name: "Zoë Ångström 山田 😀", tab: "a\tb" })).toBe(
      '{"name":"Zoë Ångström 山田 😀","tab":"a\\tb"}',
    );
  });

  it("writes -0 as 0 and drops undefined properties, as JSON.stringify does", () => {
    expect(canonicalJson({ a: -0, b: undefined, c: [undefined] })).toBe('{"a":0,"c":[null]}');
  });

  it("uses toJSON, so a Date becomes its ISO string", () => {
    expect(canonicalJson({ at: new Date("2026-03-03T09:00:00Z") })).toBe('{"at":"2026-03-03T09:00:00.000Z"}');
  });

  it("refuses what JSON cannot represent instead of hashing something else", () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/finite/);
    expect(() => canonicalJson({ n: Number.POSITIVE_INFINITY })).toThrow(/finite/);
    expect(() => canonicalJson({ n: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson({ m: new Map([["a", 1]]) })).toThrow(/Map or Set/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cycle/);
    expect(() => canonicalJson(undefined)).toThrow(/undefined/);
  });

  it("round-trips through JSON.parse to the same value, and is idempotent (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("does not depend on key insertion order (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
      { numRuns: 300 },
    );
  });
});
