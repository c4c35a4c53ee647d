import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newId } from "../shared/ids.js";
import { uniquePrefixes } from "./unique-prefixes.js";

describe("uniquePrefixes", () => {
  it("tells apart ids made in the same millisecond, which share far more than eight characters", () => {
    const ids = Array.from({ length: 50 }, () => newId());
    const short = uniquePrefixes(ids);
    expect(new Set(ids.map((id) => id.slice(0, 8))).size).toBeLessThan(ids.length);
    for (const id of ids) {
      const prefix = short.get(id)!;
      expect(id.startsWith(prefix)).toBe(true);
      expect(ids.filter((other) => other.startsWith(prefix))).toEqual([id]);
    }
  });

  it("gives every id a start no other id has, of at least eight characters", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[0-9a-f]{12}$/), { maxLength: 40 }), (ids) => {
        const short = uniquePrefixes(ids);
        for (const id of ids) {
          const prefix = short.get(id)!;
          expect(prefix.length).toBeGreaterThanOrEqual(Math.min(8, id.length));
          expect(ids.filter((other) => other.startsWith(prefix))).toEqual([id]);
        }
      }),
    );
  });
});
