import { describe, expect, it } from "vitest";
import { storeFactories } from "../../test/helpers/databases.js";
import { testReviewItem } from "../../test/helpers/review-item.js";
import { down, up } from "./migrations/2026-12-06T11-00-review-compact-items.js";
import { type ReviewItem, reviewItemRepository } from "./review-repository.js";

/**
 * Migration 2026-12-06T11-00 rewrites the items of campaigns started before it, whose reasons and
 * evidence were JSON objects, in the compact form (domain/review-item-codec.ts); each item reads back the
 * same, and `down` restores the text earlier versions wrote, byte for byte.
 */

const CREATED = "2026-12-04T09:00:00.000Z";

function item(n: number, overrides: Partial<ReviewItem> = {}): ReviewItem {
  return testReviewItem({
    id: `item-${String(n).padStart(4, "0")}`,
    campaignId: "c1",
    identityId: `id-${n}`,
    access: { kind: "entitlement", system: "erp", entitlement: "approve" },
    accessKey: "entitlement:erp:approve",
    source: "assignment",
    assignmentId: `asg-${n}`,
    privileged: true,
    risk: {
      score: 85,
      level: "high",
      reasons: [
        { code: "privileged", detail: "privileged access", weight: 30 },
        { code: "unused", detail: "no login for 143 days (last 2026-07-14)", weight: 20 },
        { code: "rare-among-peers", detail: "held by 2 of 57 peers (3.5%)", weight: 15 },
        { code: "requested", detail: `granted by request req-${n}, not by birthright`, weight: 10 },
        { code: "never-reviewed", detail: "never reviewed before", weight: 5 },
      ],
      recommendation: "revoke",
    },
    evidence: {
      lineage: [
        {
          kind: "assignment",
          assignmentId: `asg-${n}`,
          target: "erp:approve",
          validUntil: null,
          requestId: `req-${n}`,
        },
      ],
      lastUsedAt: "2026-07-14T08:00:00.000Z",
      peers: { total: 57, holding: 2 },
      lastReview: null,
      sodRules: [],
    },
    reviewerId: "m1",
    createdAt: CREATED,
    ...overrides,
  });
}

/** A found item: its reason names the account, which stays in words. */
function foundItem(n: number): ReviewItem {
  return item(n, {
    source: "found",
    assignmentId: null,
    access: { kind: "role", role: "auditor" },
    accessKey: "role:auditor",
    risk: {
      score: 20,
      level: "low",
      reasons: [
        {
          code: "found-in-target-only",
          detail: "found in erp on account jdoe, not granted by Tenure",
          weight: 15,
        },
        { code: "never-reviewed", detail: "never reviewed before", weight: 5 },
      ],
      recommendation: "revoke",
    },
    evidence: { lineage: [], lastUsedAt: null, peers: null, lastReview: null, sodRules: [] },
  });
}

describe.each(await storeFactories())("review items compacted by migration (%s)", (_name, factory) => {
  it("rewrites items written as JSON objects, reads them back the same, and restores them on the way down", async () => {
    const store = await factory();
    try {
      // 1,201 items: more than a page of the migration's keyset.
      const items = [...Array.from({ length: 1200 }, (_, n) => item(n)), foundItem(1200)];
      const legacy = items.map((i) => ({
        id: i.id,
        reasons: JSON.stringify(i.risk.reasons),
        evidence: JSON.stringify(i.evidence),
      }));
      await reviewItemRepository.insertMany(store.db, items);
      // As a version before the codec wrote them.
      for (const l of legacy) {
        await store.db
          .updateTable("review_items")
          .set({ reasons: l.reasons, evidence: l.evidence })
          .where("id", "=", l.id)
          .execute();
      }
      const text = () =>
        store.db.selectFrom("review_items").select(["id", "reasons", "evidence"]).orderBy("id").execute();

      await up(store.db);
      const compact = await text();
      expect(compact[0]).toEqual({
        id: "item-0000",
        // privileged, unused, rare-among-peers, requested, never-reviewed: the codec's reasons number.
        reasons: "313",
        evidence: '[[["a",null,"req-0"]],"2026-07-14T08:00:00.000Z",[57,2],null,[]]',
      });
      expect(JSON.parse(compact.at(-1)!.reasons)[0]).toMatchObject({ code: "found-in-target-only" });
      const read = await reviewItemRepository.findMany(
        store.db,
        items.map((i) => i.id),
      );
      read.sort((a, b) => a.id.localeCompare(b.id));
      expect(read).toEqual(items);

      await down(store.db);
      expect(await text()).toEqual(legacy);
    } finally {
      await store.dispose();
    }
  });
});
