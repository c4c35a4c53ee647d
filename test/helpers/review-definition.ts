import type { ReviewDefinition, ReviewScope } from "../../src/domain/review-types.js";

/** A review scope taking everything in: every system, no filter. */
export function reviewScope(overrides: Partial<ReviewScope> = {}): ReviewScope {
  return {
    systems: [],
    entitlements: [],
    roles: [],
    privilegedOnly: false,
    requestedOnly: false,
    keptAfterMove: false,
    nonHuman: false,
    where: null,
    ...overrides,
  };
}

/**
 * A campaign definition as tenure.yaml's `reviews:` would give it: "quarterly", everything in scope,
 * reviewed by managers in 14 days, undecided items kept; a test overrides what it is about.
 */
export function reviewDefinition(
  overrides: Partial<ReviewDefinition> = {},
  scope: Partial<ReviewScope> = {},
): ReviewDefinition {
  return {
    name: "quarterly",
    description: null,
    scope: reviewScope(scope),
    stages: [{ reviewer: { kind: "manager" } }],
    schedule: null,
    durationDays: 14,
    remindDaysBefore: [3, 1],
    escalateAfterDays: null,
    onNoResponse: { high: "keep", medium: "keep", low: "keep" },
    bulkMaxRisk: "low",
    risk: { unusedDays: 90, peerPercent: 10 },
    location: { file: "tenure.yaml", line: 1, column: 1 },
    ...overrides,
  };
}
