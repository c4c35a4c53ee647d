import { describe, expect, it } from "vitest";
import { storeFactories } from "../../test/helpers/databases.js";
import { testReviewItem } from "../../test/helpers/review-item.js";
import { PRIVILEGED_DETAIL, RISK_WEIGHTS } from "../domain/review-risk.js";
import { down, up } from "./migrations/2026-12-07T10-00-review-item-packs.js";
import { itemFromRow } from "./review-item-rows.js";
import { encodePackItem, packItemId } from "./review-pack-codec.js";
import { insertPacks } from "./review-pack-repository.js";
import { type ReviewItem, reviewItemRepository } from "./review-repository.js";

/**
 * Migration 2026-12-07T10-00 adds review_item_packs; `down` writes every packed item not yet written out
 * into review_items as a full row, so the campaign reads the same without packs.
 */

const CREATED = "2026-12-07T09:00:00.000Z";

function item(pack: number, n: number): ReviewItem {
  const privileged = n % 2 === 0;
  return testReviewItem({
    id: packItemId("camp", pack, n),
    campaignId: "camp",
    identityId: `id-${pack}`,
    access: { kind: "entitlement", system: "erp", entitlement: `e${n}` },
    accessKey: `entitlement:erp:e${n}`,
    source: "assignment",
    assignmentId: `asg-${pack}-${n}`,
    privileged,
    risk: {
      score: privileged ? 80 : 20,
      level: privileged ? "high" : "low",
      reasons: privileged
        ? [{ code: "privileged", detail: PRIVILEGED_DETAIL, weight: RISK_WEIGHTS.privileged }]
        : [],
      recommendation: privileged ? "revoke" : "keep",
    },
    evidence: {
      lineage: [
        { kind: "assignment", assignmentId: `asg-${pack}-${n}`, target: `erp:e${n}`, validUntil: null },
      ],
      lastUsedAt: null,
      peers: { total: 9, holding: 1 },
      lastReview: null,
      sodRules: [],
    },
    reviewerId: `m${pack % 3}`,
    createdAt: CREATED,
  });
}

describe.each(await storeFactories())("review item packs migration (%s)", (_name, factory) => {
  it("writes the packed items back as rows on the way down, the decided ones as decided", async () => {
    const store = await factory();
    try {
      // 1,200 packs of 3: more than a page of the migration's keyset.
      const packs = Array.from({ length: 1200 }, (_, p) => [0, 1, 2].map((n) => item(p, n)));
      await insertPacks(
        store.db,
        packs.map((items, p) => [
          "camp",
          p,
          items[0]!.identityId,
          items[0]!.reviewerId,
          items.length,
          items.filter((i) => i.risk.level === "high").length,
          Math.max(...items.map((i) => i.risk.score)),
          `[${items.map((i) => encodePackItem(i, CREATED)).join(",")}]`,
          CREATED,
        ]),
      );
      for (const p of [0, 7, 1199]) {
        const change = {
          state: "revoked" as const,
          decidedBy: "m1",
          decidedAt: CREATED,
          removalState: "pending" as const,
        };
        expect(
          await reviewItemRepository.update(store.db, packItemId("camp", p, 1), 0, change, ["pending"]),
        ).toBe(true);
      }
      const before = await reviewItemRepository.all(store.db, { campaignId: "camp" });
      expect(before).toHaveLength(3600);
      expect(before.filter((i) => i.state === "revoked")).toHaveLength(3);
      const byId = (a: ReviewItem, b: ReviewItem) => (a.id < b.id ? -1 : 1);

      await down(store.db);
      const rows = await store.db
        .selectFrom("review_items")
        .selectAll()
        .where("campaign_id", "=", "camp")
        .execute();
      expect(rows.map(itemFromRow).sort(byId)).toEqual([...before].sort(byId));

      await up(store.db);
      expect(await reviewItemRepository.countByState(store.db, "camp")).toEqual({
        pending: 3597,
        revoked: 3,
      });
    } finally {
      await store.dispose();
    }
  });
});
