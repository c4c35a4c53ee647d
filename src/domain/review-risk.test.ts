import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HIGH_SCORE, isRare, MIN_PEERS, type RiskGrant, type RiskSignals, scoreItem } from "./review-risk.js";
import type { RiskSettings } from "./review-types.js";

const NOW = new Date("2026-12-04T09:00:00Z");
const SETTINGS: RiskSettings = { unusedDays: 90, peerPercent: 10 };

function signals(overrides: Partial<RiskSignals> = {}): RiskSignals {
  return {
    privileged: false,
    sodRules: [],
    usage: null,
    peers: null,
    grant: { source: "birthright" },
    reviewedBefore: true,
    ...overrides,
  };
}

describe("scoreItem", () => {
  it("gives ordinary, reviewed birthright access no reasons: score 0, low, keep", () => {
    expect(scoreItem(signals(), SETTINGS, NOW)).toEqual({
      score: 0,
      level: "low",
      reasons: [],
      recommendation: "keep",
    });
  });

  it("says each reason in words, with its weight", () => {
    const risk = scoreItem(
      signals({
        privileged: true,
        sodRules: ["vendor-payment"],
        usage: { at: "2026-07-14T08:00:00Z" },
        peers: { total: 57, holding: 2 },
        grant: { source: "assignment", assignmentId: "a1", requestId: "req-9" },
        reviewedBefore: false,
      }),
      SETTINGS,
      NOW,
    );
    expect(risk.reasons.map((r) => [r.code, r.detail, r.weight])).toEqual([
      ["privileged", "privileged access", 30],
      ["sod-violation", "part of an open separation-of-duties violation (rule vendor-payment)", 30],
      ["unused", "no login for 143 days (last 2026-07-14)", 20],
      ["rare-among-peers", "held by 2 of 57 peers (3.5%)", 15],
      ["requested", "granted by request req-9, not by birthright", 10],
      ["never-reviewed", "never reviewed before", 5],
    ]);
    expect(risk.score).toBe(100);
    expect(risk.level).toBe("high");
    expect(risk.recommendation).toBe("revoke");
  });

  it("tells never used from unknown use, and recent use from old", () => {
    expect(scoreItem(signals({ usage: { at: null } }), SETTINGS, NOW).reasons[0]).toMatchObject({
      code: "never-used",
      weight: 20,
    });
    expect(scoreItem(signals({ usage: { at: "2026-11-30T00:00:00Z" } }), SETTINGS, NOW).reasons).toEqual([]);
    expect(scoreItem(signals({ usage: null }), SETTINGS, NOW).reasons).toEqual([]);
    expect(scoreItem(signals({ usage: { at: null } }), SETTINGS, NOW).recommendation).toBe("revoke");
  });

  it("judges rarity only with enough peers, under the configured share", () => {
    expect(isRare({ total: MIN_PEERS - 1, holding: 0 }, 10)).toBe(false);
    expect(isRare({ total: 20, holding: 1 }, 10)).toBe(true);
    expect(isRare({ total: 20, holding: 2 }, 10)).toBe(false);
    expect(isRare(null, 10)).toBe(false);
  });

  it("names the source: administrator's assignment, mover grace, found in the target", () => {
    const detail = (grant: RiskGrant) => scoreItem(signals({ grant }), SETTINGS, NOW).reasons[0];
    expect(detail({ source: "assignment", assignmentId: "a7", requestId: null })).toMatchObject({
      code: "requested",
      detail: "assigned by an administrator (assignment a7), not by birthright",
    });
    expect(detail({ source: "mover-grace", until: "2026-12-20T00:00:00Z" })).toMatchObject({
      code: "kept-after-move",
      detail: "kept from the previous role after a move (until 2026-12-20)",
    });
    const found = scoreItem(
      signals({ grant: { source: "found", system: "erp", username: "jdoe", managed: false } }),
      SETTINGS,
      NOW,
    );
    expect(found.reasons[0]).toMatchObject({
      code: "found-in-target-only",
      detail: "found in erp on account jdoe, not granted by Tenure (added in the system directly)",
    });
    expect(found.recommendation).toBe("revoke");
  });

  it("sets levels at the documented thresholds", () => {
    expect(scoreItem(signals({ privileged: true }), SETTINGS, NOW).level).toBe("medium");
    expect(scoreItem(signals({ privileged: true, usage: { at: null } }), SETTINGS, NOW).level).toBe("high");
    expect(HIGH_SCORE).toBe(50);
  });
});

// ---- properties ----------------------------------------------------------------------------------

const arbGrant: fc.Arbitrary<RiskGrant> = fc.oneof(
  fc.constant<RiskGrant>({ source: "birthright" }),
  fc.record({
    source: fc.constant("assignment" as const),
    assignmentId: fc.option(fc.string(), { nil: null }),
    requestId: fc.option(fc.string(), { nil: null }),
  }),
  fc.record({ source: fc.constant("mover-grace" as const), until: fc.constant("2027-01-01T00:00:00Z") }),
  fc.record({
    source: fc.constant("found" as const),
    system: fc.constant("erp"),
    username: fc.constant("u"),
    managed: fc.boolean(),
  }),
);
const arbDays = fc.option(fc.option(fc.integer({ min: 0, max: 2000 }), { nil: null }), { nil: undefined });
const arbPeers = fc.option(
  fc
    .integer({ min: 0, max: 500 })
    .chain((total) => fc.record({ total: fc.constant(total), holding: fc.integer({ min: 0, max: total }) })),
  { nil: null },
);
const arbSettings = fc.record({
  unusedDays: fc.integer({ min: 1, max: 3650 }),
  peerPercent: fc.integer({ min: 0, max: 100 }),
});

const usageOf = (days: number | null | undefined): RiskSignals["usage"] =>
  days === undefined
    ? null
    : { at: days === null ? null : new Date(NOW.getTime() - days * 86_400_000).toISOString() };

describe("scoreItem properties", () => {
  it("is bounded 0–100, its score the capped sum of its reasons' weights, its level following the score", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.string(), { maxLength: 3 }),
        arbDays,
        arbPeers,
        arbGrant,
        fc.boolean(),
        arbSettings,
        (privileged, sodRules, days, peers, grant, reviewedBefore, settings) => {
          const risk = scoreItem(
            { privileged, sodRules, usage: usageOf(days), peers, grant, reviewedBefore },
            settings,
            NOW,
          );
          expect(risk.score).toBeGreaterThanOrEqual(0);
          expect(risk.score).toBeLessThanOrEqual(100);
          expect(risk.score).toBe(
            Math.min(
              100,
              risk.reasons.reduce((s, r) => s + r.weight, 0),
            ),
          );
          expect(risk.level).toBe(risk.score >= 50 ? "high" : risk.score >= 25 ? "medium" : "low");
        },
      ),
    );
  });

  it("never lowers the score when a signal gets worse (more privileged, in a violation, less used, rarer, unreviewed)", () => {
    fc.assert(
      fc.property(
        fc.record({
          privileged: fc.boolean(),
          sod: fc.boolean(),
          days: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
          peers: arbPeers,
          grant: arbGrant,
          reviewedBefore: fc.boolean(),
        }),
        fc.record({
          privileged: fc.boolean(),
          sod: fc.boolean(),
          moreDays: fc.integer({ min: 0, max: 1000 }),
          neverUsed: fc.boolean(),
          fewerHolders: fc.integer({ min: 0, max: 500 }),
          unreviewed: fc.boolean(),
        }),
        arbSettings,
        (base, worse, settings) => {
          const before: RiskSignals = {
            privileged: base.privileged,
            sodRules: base.sod ? ["r"] : [],
            usage: usageOf(base.days),
            peers: base.peers,
            grant: base.grant,
            reviewedBefore: base.reviewedBefore,
          };
          const days =
            base.days === undefined ? undefined : worse.neverUsed ? null : base.days + worse.moreDays;
          const after: RiskSignals = {
            privileged: base.privileged || worse.privileged,
            sodRules: base.sod || worse.sod ? ["r"] : [],
            usage: usageOf(days),
            peers:
              base.peers === null
                ? null
                : { total: base.peers.total, holding: Math.max(0, base.peers.holding - worse.fewerHolders) },
            grant: base.grant,
            reviewedBefore: base.reviewedBefore && !worse.unreviewed,
          };
          expect(scoreItem(after, settings, NOW).score).toBeGreaterThanOrEqual(
            scoreItem(before, settings, NOW).score,
          );
        },
      ),
    );
  });
});
