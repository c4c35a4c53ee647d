/**
 * The inventory entry checked without zod (nhi-entry-fast.ts) against the schema it stands in for: on any
 * input — valid entries, entries with a bad value or an unknown key, anything JSON holds — what it accepts
 * the schema accepts with the same output; and valid entries it accepts (or the fast path is never taken).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastNhiEntry } from "./nhi-entry-fast.js";
import { nhiEntrySchema } from "./nhi-section.js";

const date = fc
  .date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2090-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const instant = fc
  .date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2090-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString());
// Strings near the edges of what each field takes: dates that roll over or are not dates, names with
// characters a name may not hold, empty strings.
const oddString = fc.constantFrom(
  "",
  " ",
  "2026-02-30",
  "2026-13-01",
  "0099-01-01",
  "2026-1-01",
  "2026-01-01T10:00",
  "2026-01-01T10:00Z",
  "2026-01-01T25:00:00Z",
  "a b",
  "-lead",
  "x".repeat(201),
  "read",
  "sys:key",
  ":key",
  "sys:",
  "__proto__",
  "constructor",
);
const anyValue = fc.oneof(
  fc.string(),
  oddString,
  date,
  instant,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const name = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,12}$/), oddString);
const validEntry = fc.record(
  {
    name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,12}$/),
    type: fc.constantFrom("service_account", "api_key", "oauth_app", "certificate", "agent"),
    system: fc.stringMatching(/^[a-z]{1,6}$/),
    purpose: fc.string({ maxLength: 20 }),
    owner: fc.stringMatching(/^[A-Za-z0-9]{1,6}$/),
    coOwners: fc.array(fc.stringMatching(/^[A-Za-z0-9]{1,6}$/), { maxLength: 2 }),
    created: date,
    lastRotated: fc.oneof(date, instant),
    expires: fc.oneof(date, instant),
    lastUsed: fc.oneof(date, instant),
    scopes: fc.array(fc.stringMatching(/^[a-z:]{1,8}$/), { maxLength: 3 }),
    scopeLastUsed: fc.dictionary(fc.stringMatching(/^[a-z:]{1,8}$/), fc.oneof(date, instant), { maxKeys: 2 }),
    entitlements: fc.array(fc.stringMatching(/^[a-z]{1,4}:[a-z-]{1,6}$/), { maxLength: 2 }),
  },
  { requiredKeys: ["name", "type"] },
);
// A valid entry with one field replaced by something else, or a key added.
const spoiled = fc
  .tuple(
    validEntry,
    fc.string({ maxLength: 12 }),
    fc.oneof(
      anyValue,
      name,
      fc.array(anyValue, { maxLength: 2 }),
      fc.dictionary(fc.oneof(fc.string(), oddString), anyValue, { maxKeys: 2 }),
    ),
  )
  .map(([entry, key, value]) => {
    const keys = Object.keys(entry);
    const target = key.length % 2 === 0 && keys.length > 0 ? keys[key.length % keys.length]! : key;
    return { ...entry, [target]: value };
  });

describe("inventory entries checked without zod", () => {
  it("accepts only what the schema accepts, giving the same output", () => {
    fc.assert(
      fc.property(fc.oneof(validEntry, spoiled, fc.jsonValue()), (raw) => {
        const fast = fastNhiEntry(raw);
        if (fast === undefined) return;
        const zod = nhiEntrySchema.safeParse(raw);
        expect(zod.success).toBe(true);
        expect(fast).toStrictEqual(zod.data);
        expect(Object.keys(fast.scopeLastUsed)).toEqual(Object.keys(zod.data!.scopeLastUsed));
      }),
      { numRuns: 5_000 },
    );
  });

  it("decides every valid entry itself, so the fast path is taken", () => {
    fc.assert(
      fc.property(validEntry, (raw) => {
        expect(nhiEntrySchema.safeParse(raw).success).toBe(true);
        expect(fastNhiEntry(raw)).toBeDefined();
      }),
      { numRuns: 2_000 },
    );
  });
});
