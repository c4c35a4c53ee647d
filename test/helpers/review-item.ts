import type { ReviewItem } from "../../src/store/review-item-types.js";

/**
 * A review item as generation writes it: pending at the first stage, undecided, nothing removed, low
 * risk with no reasons or evidence; a test overrides what it is about (id, holder, access, risk, ...).
 */
export function testReviewItem(overrides: Partial<ReviewItem> = {}): ReviewItem {
  return {
    id: "i-1",
    campaignId: "c-1",
    identityId: "id-1",
    access: { kind: "entitlement", system: "app", entitlement: "readers" },
    accessKey: "entitlement:app:readers",
    source: "birthright",
    assignmentId: null,
    privileged: false,
    risk: { score: 10, level: "low", reasons: [], recommendation: "keep" },
    evidence: { lineage: [], lastUsedAt: null, peers: null, lastReview: null, sodRules: [] },
    stage: 0,
    reviewerId: null,
    ruleReviewerId: null,
    rerouteReason: null,
    state: "pending",
    decidedBy: null,
    decidedAt: null,
    comment: null,
    bulk: false,
    removalState: null,
    removalDetail: null,
    removalAttempts: 0,
    removalNextAt: null,
    confirmedAt: null,
    version: 0,
    createdAt: "2026-12-01T09:00:00.000Z",
    ...overrides,
  };
}
