import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Lineage } from "./access-types.js";
import { encodeEvidence, encodeReasons, type ItemFacts } from "./review-item-codec.js";
import { RISK_WEIGHTS } from "./review-risk.js";
import { candidatesOf, createAccessKeys } from "./review-scope.js";
import type { ReviewItemEvidence, RiskReason, RiskReasonCode } from "./review-types.js";

/**
 * The encoders write their JSON piece by piece: the text must stay byte for byte what JSON.stringify of
 * the compact arrays wrote (stores hold it, and the equivalence tests compare decoded items only).
 */

const FACTS: ItemFacts = {
  access: { kind: "entitlement", system: "erp", entitlement: "approve" },
  assignmentId: "asg-1",
  createdAt: "2026-12-04T09:00:00.000Z",
};

/** The compact evidence as the encoder wrote it before: an array given to JSON.stringify. */
function referenceEvidence(evidence: ReviewItemEvidence, facts: ItemFacts): string {
  const target =
    facts.access.kind === "role"
      ? `role ${facts.access.role}`
      : `${facts.access.system}:${facts.access.entitlement}`;
  const compact = (l: Lineage) =>
    l.kind !== "assignment" ||
    l.assignmentId !== facts.assignmentId ||
    l.target !== target ||
    l.derived !== undefined
      ? l
      : l.requestId === undefined
        ? ["a", l.validUntil]
        : ["a", l.validUntil, l.requestId];
  const { peers, lastReview } = evidence;
  return JSON.stringify([
    evidence.lineage.map(compact),
    evidence.lastUsedAt,
    peers === null ? null : [peers.total, peers.holding],
    lastReview === null ? null : [lastReview.campaignId, lastReview.decision, lastReview.at],
    [...evidence.sodRules],
  ]);
}

const text = fc.string({ maxLength: 6 });
const lineage: fc.Arbitrary<Lineage> = fc.oneof(
  fc.record({
    kind: fc.constant("assignment" as const),
    assignmentId: fc.constantFrom("asg-1", "asg-2"),
    target: fc.constantFrom("erp:approve", "erp:other", 'x"y'),
    validUntil: fc.option(fc.constant("2027-01-01T00:00:00.000Z")),
    requestId: fc.option(text, { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant("mover-grace" as const),
    until: fc.option(fc.constant("2027-02-01T00:00:00.000Z")),
  }) as fc.Arbitrary<Lineage>,
  fc.record({
    kind: fc.constant("role" as const),
    role: text,
    chain: fc.array(text, { maxLength: 2 }),
    rule: fc.constant(null),
  }),
);
const evidence: fc.Arbitrary<ReviewItemEvidence> = fc.record({
  lineage: fc.array(lineage, { maxLength: 3 }),
  lastUsedAt: fc.option(fc.constant("2026-07-14T08:00:00.000Z")),
  peers: fc.option(fc.record({ total: fc.nat(1000), holding: fc.nat(1000) })),
  lastReview: fc.option(
    fc.record({
      campaignId: text,
      decision: fc.constantFrom("certify" as const, "revoke" as const),
      at: fc.constant("2026-01-01T00:00:00.000Z"),
    }),
  ),
  sodRules: fc.array(text, { maxLength: 2 }),
});

describe("review item codec text", () => {
  it("writes evidence exactly as JSON.stringify wrote its compact array", () => {
    fc.assert(
      fc.property(evidence, (e) => {
        expect(encodeEvidence(e, FACTS)).toBe(referenceEvidence(e, FACTS));
      }),
    );
  });

  it("writes reasons as one number when each derives (one code here), else as JSON.stringify wrote the codes and the reasons kept whole", () => {
    const e: ReviewItemEvidence = {
      lineage: [],
      lastUsedAt: null,
      peers: null,
      lastReview: null,
      sodRules: [],
    };
    const codes = Object.keys(RISK_WEIGHTS) as RiskReasonCode[];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ code: fc.constantFrom(...codes), detail: fc.constantFrom("never logged in", 'a "b"') }),
          { maxLength: 4 },
        ),
        (parts) => {
          const reasons: RiskReason[] = parts.map((p) => ({ ...p, weight: RISK_WEIGHTS[p.code] }));
          const alone = reasons.map((r) => r.code === "never-used" && r.detail === "never logged in");
          // Only "never-used" derives from these facts, and twice is not risk's order: a number for none
          // or it alone (bit 2), else the array.
          const reference =
            reasons.length === 0
              ? "0"
              : reasons.length === 1 && alone[0]
                ? "4"
                : JSON.stringify(reasons.map((r, n) => (alone[n] ? r.code : r)));
          expect(encodeReasons(reasons, e, FACTS)).toBe(reference);
        },
      ),
    );
  });
});

describe("access keys", () => {
  it("gives the same key string for the same entitlement, as accessKeyOf writes it", () => {
    const keys = createAccessKeys();
    const first = keys("erp", "approve");
    expect(first).toBe("entitlement:erp:approve");
    expect(keys("erp", "approve")).toBe(first);
    expect(keys("erp:a", "b")).toBe("entitlement:erp:a:b");
    expect(keys("erp", "a:b")).toBe("entitlement:erp:a:b");
    const candidates = candidatesOf({
      policy: { roles: {}, entitlements: {} } as never,
      desired: { systems: {} } as never,
      roles: new Map(),
      accounts: [
        { system: "erp", username: "u", entitlements: ["x", "y"], isManaged: () => false, lastUsedAt: null },
      ],
      withRoles: false,
      keys,
    });
    expect(candidates.map((c) => c.accessKey)).toEqual(["entitlement:erp:x", "entitlement:erp:y"]);
    // The items of one entitlement share one access, frozen, as a fresh one would be.
    expect(candidates[0]!.access).toEqual({ kind: "entitlement", system: "erp", entitlement: "x" });
    expect(Object.isFrozen(candidates[0]!.access)).toBe(true);
    expect(keys.access!("erp", "x")).toBe(candidates[0]!.access);
    expect(keys.access!("erp", "y")).not.toBe(candidates[0]!.access);
  });
});
