import type { ReviewItemState } from "../domain/review-types.js";
import { packedLoads } from "./review-pack-repository.js";
import type { Db } from "./schema-types.js";

/** How campaigns progress: who still has what to decide, and what was already sent to whom. */

export interface ReviewerLoad {
  /** null: items nobody could be found to review. */
  reviewerId: string | null;
  pending: number;
  high: number;
}

export interface DecisionTime {
  decidedBy: string;
  decidedAt: string;
  bulk: boolean;
  state: ReviewItemState;
}

export const reviewProgressRepository = {
  /** Items of a campaign in `states` (undecided ones by default) per reviewer, most first. */
  async byReviewer(
    db: Db,
    campaignId: string,
    states: readonly ReviewItemState[] = ["pending"],
  ): Promise<ReviewerLoad[]> {
    const rows = await db
      .selectFrom("review_items")
      .select([
        "reviewer_id",
        (eb) => eb.fn.countAll<number>().as("n"),
        (eb) => eb.fn.sum<number>(eb.case().when("risk_level", "=", "high").then(1).else(0).end()).as("high"),
      ])
      .where("campaign_id", "=", campaignId)
      .where("state", "in", states)
      .groupBy("reviewer_id")
      .execute();
    const loads = rows.map((r) => ({
      reviewerId: r.reviewer_id,
      pending: Number(r.n),
      high: Number(r.high ?? 0),
    }));
    if (states.includes("pending")) {
      // Packed items (all pending) count for their pack's reviewer, less those written out (above).
      const packed = await packedLoads(db, campaignId);
      for (const load of loads) {
        const more = packed.get(load.reviewerId);
        if (more === undefined) continue;
        load.pending += more.pending;
        load.high += more.high;
        packed.delete(load.reviewerId);
      }
      for (const [reviewerId, more] of packed)
        if (more.pending > 0) loads.push({ reviewerId, pending: more.pending, high: more.high });
    }
    return loads.sort(
      (a, b) => b.pending - a.pending || String(a.reviewerId).localeCompare(String(b.reviewerId)),
    );
  },

  /** Every decision people made in a campaign (not the deadline's), for the time spent per item. */
  async decisionTimes(db: Db, campaignId: string): Promise<DecisionTime[]> {
    const rows = await db
      .selectFrom("review_items")
      .select(["decided_by", "decided_at", "bulk", "state"])
      .where("campaign_id", "=", campaignId)
      .where("decided_by", "is not", null)
      .where("decided_at", "is not", null)
      .orderBy("decided_by")
      .orderBy("decided_at")
      .execute();
    return rows.map((r) => ({
      decidedBy: r.decided_by!,
      decidedAt: r.decided_at!,
      bulk: Number(r.bulk) === 1,
      state: r.state as ReviewItemState,
    }));
  },

  /** Counts of a campaign's revocations by removal state. */
  async removalCounts(db: Db, campaignId: string): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom("review_items")
      .select(["removal_state", (eb) => eb.fn.countAll<number>().as("n")])
      .where("campaign_id", "=", campaignId)
      .where("removal_state", "is not", null)
      .groupBy("removal_state")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.removal_state!, Number(r.n)]));
  },
};

export const reviewNoticeRepository = {
  /** Records that `key` was sent at `at`; false when it was already (by this process or another). */
  async claim(db: Db, key: string, at: string): Promise<boolean> {
    const result = await db
      .insertInto("review_notices")
      .values({ key, sent_at: at })
      .onConflict((oc) => oc.column("key").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },

  async has(db: Db, key: string): Promise<boolean> {
    const row = await db.selectFrom("review_notices").select("key").where("key", "=", key).executeTakeFirst();
    return row !== undefined;
  },
};
