/**
 * Generation writes a packed item from the risk verdict without building the reasons' words
 * (`encodeScoredPackItem`); it must write exactly what `encodePackItem` writes for the item scored
 * with `scoreItem`: for items built as generation builds them (evidence sharing the signals' facts)
 * and for any other evidence, whose words may or may not be the ones derived.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Lineage } from "../domain/access-types.js";
import { judgeRisk, type RiskGrant, type RiskSignals, scoreItem } from "../domain/review-risk.js";
import type { ReviewItemEvidence, RiskSettings } from "../domain/review-types.js";
import { encodePackItem, encodeScoredPackItem, type PackItemFacts } from "./review-pack-codec.js";

const NOW = new Date("2026-12-04T09:00:00.000Z");
const SETTINGS: RiskSettings = { unusedDays: 30, peerPercent: 20 };

const date = fc
  .integer({ min: Date.parse("2020-01-01"), max: NOW.getTime() })
  .map((ms) => new Date(ms).toISOString());
const requestId = fc.option(fc.constantFrom("req-1", "req-2", 'q"\\'));
const assignmentId = fc.option(fc.constantFrom("asg-1", "asg-2"));
const grant: fc.Arbitrary<RiskGrant> = fc.oneof(
  fc.constant<RiskGrant>({ source: "birthright" }),
  fc.record({ source: fc.constant("assignment" as const), assignmentId, requestId }),
  fc.record({ source: fc.constant("mover-grace" as const), until: fc.option(date) }),
  fc.record({
    source: fc.constant("found" as const),
    system: fc.constant("erp"),
    username: fc.string({ maxLength: 6 }),
    managed: fc.boolean(),
  }),
);
const peers = fc.option(
  fc.record({ total: fc.integer({ min: 0, max: 100 }), holding: fc.integer({ min: 0, max: 100 }) }),
);
const rules = fc.array(fc.constantFrom("sod-a", "sod-b", "x,y"), { maxLength: 3 });
const signalsArb: fc.Arbitrary<RiskSignals> = fc.record({
  privileged: fc.boolean(),
  sodRules: rules,
  usage: fc.option(fc.record({ at: fc.option(date) })),
  peers,
  grant,
  reviewedBefore: fc.boolean(),
});
const lineageEntry: fc.Arbitrary<Lineage> = fc.oneof(
  fc.record({
    kind: fc.constant("assignment" as const),
    assignmentId: fc.constantFrom("asg-1", "asg-2"),
    target: fc.constantFrom("erp: approve", "erp:approve"),
    validUntil: fc.option(date),
  }),
  fc
    .record({
      kind: fc.constant("assignment" as const),
      assignmentId: fc.constantFrom("asg-1", "asg-2"),
      target: fc.constant("erp: approve"),
      validUntil: fc.option(date),
      requestId: fc.constantFrom("req-1", "req-2"),
    })
    .map((l) => l as Lineage),
  fc.record({
    kind: fc.constant("mover-grace" as const),
    until: date,
    from: fc.constant<Lineage>({ kind: "role", role: "r", chain: ["r"], rule: null }),
  }),
  fc.constant<Lineage>({ kind: "role", role: "everyone", chain: ["everyone"], rule: null }),
);

/** The lineage generation's candidate has for `grant` (desired state's first reason of each kind). */
function lineageOf(g: RiskGrant): Lineage[] {
  if (g.source === "assignment" && g.assignmentId !== null) {
    return [
      {
        kind: "assignment",
        assignmentId: g.assignmentId,
        target: "erp: approve",
        validUntil: null,
        ...(g.requestId === null ? {} : { requestId: g.requestId }),
      },
    ];
  }
  if (g.source === "mover-grace" && g.until !== null)
    return [
      { kind: "mover-grace", until: g.until, from: { kind: "role", role: "r", chain: [], rule: null } },
    ];
  return [];
}

function item(signals: RiskSignals, evidence: ReviewItemEvidence, assignment: string | null): PackItemFacts {
  return {
    access: { kind: "entitlement", system: "erp", entitlement: "approve" },
    accessKey: "entitlement:erp:approve",
    source: signals.grant.source,
    assignmentId: assignment,
    privileged: signals.privileged,
    evidence,
    ruleReviewerId: "m1",
    rerouteReason: null,
  };
}

function both(i: PackItemFacts, signals: RiskSignals, createdAt: string) {
  return {
    scored: encodeScoredPackItem(
      i,
      judgeRisk(signals, SETTINGS, NOW.getTime()),
      signals,
      createdAt,
      NOW.getTime(),
    ),
    reference: encodePackItem({ ...i, risk: scoreItem(signals, SETTINGS, NOW) }, createdAt),
  };
}

describe("encodeScoredPackItem", () => {
  it("writes what encodePackItem writes for items built as generation builds them", () => {
    fc.assert(
      fc.property(signalsArb, (signals) => {
        const g = signals.grant;
        const evidence: ReviewItemEvidence = {
          lineage: lineageOf(g),
          lastUsedAt: signals.usage?.at ?? null,
          peers: signals.peers,
          lastReview: null,
          sodRules: signals.sodRules,
        };
        const { scored, reference } = both(
          item(signals, evidence, g.source === "assignment" ? g.assignmentId : null),
          signals,
          NOW.toISOString(),
        );
        expect(scored).toBe(reference);
      }),
      { numRuns: 500 },
    );
  });

  it("writes what encodePackItem writes whatever the evidence, facts and start", () => {
    fc.assert(
      fc.property(
        signalsArb,
        fc.record({
          lineage: fc.array(lineageEntry, { maxLength: 3 }),
          lastUsedAt: fc.option(date),
          peers,
          lastReview: fc.constant(null),
          sodRules: rules,
        }),
        assignmentId,
        fc.constantFrom(NOW.toISOString(), "2026-12-04T09:00:00.001Z", "2026-11-01T00:00:00.000Z"),
        (signals, evidence, assignment, createdAt) => {
          const { scored, reference } = both(item(signals, evidence, assignment), signals, createdAt);
          expect(scored).toBe(reference);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("writes derivable reasons as one number and the words of access found only in the target", () => {
    const signals: RiskSignals = {
      privileged: true,
      sodRules: ["sod-a"],
      usage: { at: "2026-07-14T08:00:00.000Z" },
      peers: { total: 57, holding: 2 },
      grant: { source: "assignment", assignmentId: "asg-1", requestId: "req-1" },
      reviewedBefore: false,
    };
    const evidence: ReviewItemEvidence = {
      lineage: lineageOf(signals.grant),
      lastUsedAt: "2026-07-14T08:00:00.000Z",
      peers: signals.peers,
      lastReview: null,
      sodRules: signals.sodRules,
    };
    const { scored } = both(item(signals, evidence, "asg-1"), signals, NOW.toISOString());
    // privileged, sod-violation, unused, rare-among-peers, requested, never-reviewed: one number.
    expect(scored).toContain(',"high",315,"revoke",');
    const found: RiskSignals = {
      ...signals,
      grant: { source: "found", system: "erp", username: "u1", managed: false },
    };
    const out = both(item(found, { ...evidence, lineage: [] }, null), found, NOW.toISOString());
    expect(out.scored).toBe(out.reference);
    expect(out.scored).toContain('"code":"found-in-target-only"');
  });
});
