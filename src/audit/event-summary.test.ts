import { describe, expect, it } from "vitest";
import { describeEvent } from "./event-summary.js";

describe("event summaries of separation of duties", () => {
  it("say which rule, what collides and who accepted it until when", () => {
    expect(
      describeEvent({
        action: "sod.violation_opened",
        details: {
          rule: "vendor-payment",
          severity: "high",
          sides: [
            { item: "role ap-clerk", why: [] },
            { item: "erp:payment-approve", why: [] },
          ],
        },
      }),
    ).toBe("breaks separation-of-duties rule vendor-payment (high): role ap-clerk + erp:payment-approve");
    expect(
      describeEvent({
        action: "sod.violation_closed",
        details: { rule: "vendor-payment", reason: "access ended" },
      }),
    ).toBe("no longer breaks vendor-payment (access ended)");
    expect(
      describeEvent({
        action: "sod.exception_approved",
        details: {
          rule: "vendor-payment",
          approvedBy: "id-olga",
          expiresAt: "2027-01-01T00:00:00.000Z",
          control: "Monthly review",
        },
      }),
    ).toBe("exception to vendor-payment approved by id-olga until 2027-01-01T00:00:00.000Z: Monthly review");
    expect(
      describeEvent({
        action: "sod.exception_expired",
        details: { rule: "vendor-payment", at: "2027-01-01T00:00:00.000Z" },
      }),
    ).toMatch(/^exception to vendor-payment expired at 2027-01-01T00:00:00.000Z/);
  });
});

describe("event summaries of access reviews", () => {
  it("say which campaign started, how many items for how many reviewers, and what needs a person", () => {
    expect(
      describeEvent({
        action: "review.campaign_started",
        details: {
          campaign: "c1",
          definition: "quarterly",
          kind: "scheduled",
          items: 1200,
          identities: 300,
          reviewers: 40,
          risk: { high: 12, medium: 200, low: 988 },
          selfReview: 2,
          noReviewer: 1,
          deadline: "2026-12-18T09:00:00.000Z",
        },
      }),
    ).toBe(
      "campaign quarterly started (scheduled): 1200 items of 300 identities for 40 reviewers (high 12, medium 200, low 988), " +
        "due 2026-12-18T09:00:00.000Z; 2 of the holders' own access sent to their manager; 1 with no reviewer (assign one)",
    );
  });
});
