import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Lineage } from "./access-types.js";
import {
  decodeEvidence,
  decodeReasons,
  encodeEvidence,
  encodeReasons,
  type ItemFacts,
} from "./review-item-codec.js";
import { type RiskGrant, scoreItem } from "./review-risk.js";
import type { ReviewItemEvidence, RiskReason } from "./review-types.js";

const NOW = new Date("2026-12-04T09:00:00.000Z");
const FACTS: ItemFacts = {
  access: { kind: "entitlement", system: "erp", entitlement: "approve" },
  assignmentId: "asg-1",
  createdAt: NOW.toISOString(),
};

function roundTrip(reasons: readonly RiskReason[], evidence: ReviewItemEvidence, facts = FACTS) {
  const evidenceText = encodeEvidence(evidence, facts);
  const decoded = decodeEvidence(evidenceText, facts);
  const reasonsText = encodeReasons(reasons, decoded, facts);
  return {
    evidenceText,
    reasonsText,
    evidence: decoded,
    reasons: decodeReasons(reasonsText, decoded, facts),
  };
}

const assignmentLineage: Lineage = {
  kind: "assignment",
  assignmentId: "asg-1",
  target: "erp:approve",
  validUntil: null,
  requestId: "req-7",
};

describe("review item codec", () => {
  it("keeps a scored item's reasons as codes and its evidence as a short array, and gives both back exactly", () => {
    const evidence: ReviewItemEvidence = {
      lineage: [assignmentLineage],
      lastUsedAt: "2026-07-14T08:00:00.000Z",
      peers: { total: 57, holding: 2 },
      lastReview: null,
      sodRules: ["vendor-payment"],
    };
    const risk = scoreItem(
      {
        privileged: true,
        sodRules: evidence.sodRules,
        usage: { at: evidence.lastUsedAt },
        peers: evidence.peers,
        grant: { source: "assignment", assignmentId: "asg-1", requestId: "req-7" },
        reviewedBefore: false,
      },
      { unusedDays: 90, peerPercent: 10 },
      NOW,
    );
    const out = roundTrip(risk.reasons, evidence);
    // One bit per code, in risk's order: privileged 1, sod-violation 2, unused 8, rare-among-peers 16,
    // requested 32, never-reviewed 256.
    expect(out.reasonsText).toBe("315");
    expect(out.evidenceText).toBe(
      '[[["a",null,"req-7"]],"2026-07-14T08:00:00.000Z",[57,2],null,["vendor-payment"]]',
    );
    expect(JSON.stringify(out.reasons)).toBe(JSON.stringify(risk.reasons));
    expect(JSON.stringify(out.evidence)).toBe(JSON.stringify(evidence));
    // Less than a quarter of the JSON it replaces.
    const before = JSON.stringify(risk.reasons).length + JSON.stringify(evidence).length;
    expect((out.reasonsText.length + out.evidenceText.length) * 4).toBeLessThan(before);
  });

  it("reads the codes written before the number as the number, writes codes out of risk's order as an array, and refuses a number that is no set of reasons", () => {
    const evidence: ReviewItemEvidence = {
      lineage: [assignmentLineage],
      lastUsedAt: null,
      peers: null,
      lastReview: null,
      sodRules: [],
    };
    const reasons = decodeReasons("292", evidence, FACTS);
    expect(reasons.map((r) => r.code)).toEqual(["never-used", "requested", "never-reviewed"]);
    expect(
      JSON.stringify(decodeReasons('["never-used","requested","never-reviewed"]', evidence, FACTS)),
    ).toBe(JSON.stringify(reasons));
    expect(encodeReasons(reasons, evidence, FACTS)).toBe("292");
    const reordered = [reasons[1]!, reasons[0]!, reasons[2]!];
    const text = encodeReasons(reordered, evidence, FACTS);
    expect(text).toBe('["requested","never-used","never-reviewed"]');
    expect(decodeReasons(text, evidence, FACTS)).toEqual(reordered);
    for (const bad of ["-1", "512", "1.5"]) {
      expect(() => decodeReasons(bad, evidence, FACTS)).toThrow(/no set of reasons/);
    }
    // A bit whose words the facts cannot give (found-in-target-only is always written whole).
    expect(() => decodeReasons("128", evidence, FACTS)).toThrow(/kept without its words/);
  });

  it("keeps whole what the facts cannot give: an account's name, other words, other lineage", () => {
    const evidence: ReviewItemEvidence = {
      lineage: [
        { kind: "role", role: "everyone", chain: ["everyone"], rule: null },
        { ...assignmentLineage, assignmentId: "asg-other" },
      ],
      lastUsedAt: null,
      peers: null,
      lastReview: { campaignId: "c1", decision: "certify", at: "2026-01-01T00:00:00.000Z" },
      sodRules: [],
    };
    const reasons: RiskReason[] = [
      {
        code: "found-in-target-only",
        detail: "found in erp on account jdoe, not granted by Tenure",
        weight: 15,
      },
      { code: "privileged", detail: "privileged (words of an older version)", weight: 30 },
      { code: "never-reviewed", detail: "never reviewed before", weight: 4 },
      { code: "unused", detail: "no login for 100 days (last 2026-08-26)", weight: 20 },
    ];
    const out = roundTrip(reasons, evidence);
    expect(JSON.parse(out.reasonsText).every((r: unknown) => typeof r === "object")).toBe(true);
    expect(out.reasons).toEqual(reasons);
    expect(JSON.stringify(out.evidence)).toBe(JSON.stringify(evidence));
  });

  it("reads the format written before it (JSON objects) as it is", () => {
    const evidence: ReviewItemEvidence = {
      lineage: [assignmentLineage],
      lastUsedAt: null,
      peers: { total: 3, holding: 1 },
      lastReview: null,
      sodRules: [],
    };
    const reasons: RiskReason[] = [{ code: "never-used", detail: "never logged in", weight: 20 }];
    const decoded = decodeEvidence(JSON.stringify(evidence), FACTS);
    expect(decoded).toEqual(evidence);
    expect(decodeReasons(JSON.stringify(reasons), decoded, FACTS)).toEqual(reasons);
  });

  it("gives back any scored item exactly", () => {
    const date = fc
      .integer({ min: Date.parse("2020-01-01"), max: NOW.getTime() })
      .map((ms) => new Date(ms).toISOString());
    const grant: fc.Arbitrary<RiskGrant> = fc.oneof(
      fc.constant<RiskGrant>({ source: "birthright" }),
      fc.record({
        source: fc.constant("assignment" as const),
        assignmentId: fc.option(fc.constantFrom("asg-1", "asg-2")),
        requestId: fc.option(fc.string({ maxLength: 8 })),
      }),
      fc.record({ source: fc.constant("mover-grace" as const), until: fc.option(date) }),
      fc.record({
        source: fc.constant("found" as const),
        system: fc.constant("erp"),
        username: fc.string({ maxLength: 6 }),
        managed: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(
        fc.record({
          privileged: fc.boolean(),
          sodRules: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
          usage: fc.option(fc.record({ at: fc.option(date) })),
          peers: fc.option(
            fc.record({ total: fc.integer({ min: 0, max: 100 }), holding: fc.integer({ min: 0, max: 100 }) }),
          ),
          grant,
          reviewedBefore: fc.boolean(),
        }),
        fc.option(fc.constantFrom("asg-1", "asg-2")),
        (signals, assignmentId) => {
          const g = signals.grant;
          const lineage: Lineage[] =
            g.source === "assignment" && g.assignmentId !== null
              ? [
                  {
                    kind: "assignment",
                    assignmentId: g.assignmentId,
                    target: "erp:approve",
                    validUntil: null,
                    ...(g.requestId ? { requestId: g.requestId } : {}),
                  },
                ]
              : g.source === "mover-grace" && g.until !== null
                ? [
                    {
                      kind: "mover-grace",
                      until: g.until,
                      from: { kind: "role", role: "r", chain: [], rule: null },
                    },
                  ]
                : [];
          const evidence: ReviewItemEvidence = {
            lineage,
            lastUsedAt: signals.usage?.at ?? null,
            peers: signals.peers,
            lastReview: null,
            sodRules: signals.sodRules,
          };
          const risk = scoreItem(signals, { unusedDays: 30, peerPercent: 20 }, NOW);
          const out = roundTrip(risk.reasons, evidence, { ...FACTS, assignmentId });
          expect(JSON.stringify(out.reasons)).toBe(JSON.stringify(risk.reasons));
          expect(JSON.stringify(out.evidence)).toBe(JSON.stringify(evidence));
        },
      ),
    );
  });
});
