import { describe, expect, it } from "vitest";
import type { ReviewAccess } from "../domain/review-types.js";
import { encodePackItem, type PackItemInput } from "./review-pack-codec.js";

function item(access: ReviewAccess, accessKey: string): PackItemInput {
  return {
    access,
    accessKey,
    source: "found",
    assignmentId: null,
    privileged: false,
    risk: { score: 0, level: "low", reasons: [], recommendation: "keep" },
    evidence: { lineage: [], lastUsedAt: null, peers: null, lastReview: null, sodRules: [] },
    ruleReviewerId: null,
    rerouteReason: null,
  };
}

/** A pack element's access, as written. */
function accessOf(element: string): unknown {
  return (JSON.parse(element) as unknown[])[0];
}

describe("pack access text", () => {
  it("writes each access's own JSON when two accesses share a key text, and again when asked again", () => {
    const at = "2026-12-04T09:00:00.000Z";
    const first = encodePackItem(
      item({ kind: "entitlement", system: "a", entitlement: "b:c" }, "entitlement:a:b:c"),
      at,
    );
    const second = encodePackItem(
      item({ kind: "entitlement", system: "a:b", entitlement: "c" }, "entitlement:a:b:c"),
      at,
    );
    const again = encodePackItem(
      item({ kind: "entitlement", system: "a", entitlement: "b:c" }, "entitlement:a:b:c"),
      at,
    );
    expect(accessOf(first)).toEqual(["a", "b:c"]);
    expect(accessOf(second)).toEqual(["a:b", "c"]);
    expect(again).toBe(first);
    const role = encodePackItem(item({ kind: "role", role: "x" }, "role:x"), at);
    expect(accessOf(role)).toBe("x");
    const odd = encodePackItem(item({ kind: "role", role: "x" }, "role:y"), at);
    expect(accessOf(odd)).toEqual({ access: { kind: "role", role: "x" }, accessKey: "role:y" });
  });
});
