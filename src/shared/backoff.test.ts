import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelaySeconds, nextAttemptAt } from "./backoff.js";

const policy = { baseDelaySeconds: 10, maxDelaySeconds: 300 };

describe("backoff", () => {
  it("doubles the ceiling per attempt up to the maximum, scaled by the random fraction", () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => Math.round(backoffDelaySeconds(a, policy, top)))).toEqual([
      10, 20, 40, 80, 160, 300, 300,
    ]);
    expect(backoffDelaySeconds(3, policy, () => 0.5)).toBe(20);
    expect(backoffDelaySeconds(3, policy, () => 0)).toBe(0);
  });

  it("stays within [0, min(max, base·2^(attempt−1))] for any attempt and random value", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true }),
        (attempt, r) => {
          const delay = backoffDelaySeconds(attempt, policy, () => r);
          const ceiling = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** (attempt - 1));
          return delay >= 0 && delay <= ceiling && Number.isFinite(delay);
        },
      ),
    );
  });

  it("clamps a misbehaving random source and refuses a non-positive attempt", () => {
    expect(backoffDelaySeconds(1, policy, () => 7)).toBe(10);
    expect(backoffDelaySeconds(1, policy, () => -1)).toBe(0);
    expect(backoffDelaySeconds(1, policy, () => Number.NaN)).toBe(0);
    expect(() => backoffDelaySeconds(0, policy, Math.random)).toThrow(RangeError);
  });

  it("schedules the next attempt from now", () => {
    const now = new Date("2026-12-01T09:00:00.000Z");
    expect(nextAttemptAt(now, 2, policy, () => 0.25).toISOString()).toBe("2026-12-01T09:00:05.000Z");
  });
});
