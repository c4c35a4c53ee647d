import type { AccessExclusion } from "../domain/access-types.js";
import { chunk } from "./chunk.js";
import type { Db, ReviewExclusionsTable } from "./schema-types.js";

/**
 * Review exclusions: birthright (or mover-grace) access a reviewer revoked, kept out of the identity's
 * desired access for that employment until lifted. Rows are never deleted; lifting stamps them.
 */

export interface ReviewExclusion extends AccessExclusion {
  id: string;
  createdAt: string;
  /** Who decided the revocation (an identity id, or `scheduler` for a revocation on no response). */
  createdBy: string;
  liftedAt: string | null;
  liftedBy: string | null;
}

/** The new exclusion's fields; its id follows from the item, so recording one twice is a no-op. */
export type NewReviewExclusion = Omit<ReviewExclusion, "id" | "liftedAt" | "liftedBy" | "campaign">;

/** One exclusion per review item: the id is derived from the item's. */
export function exclusionIdOf(itemId: string): string {
  return `item:${itemId}`;
}

type Row = ReviewExclusionsTable & { campaign_name?: string | null };

function fromRow(r: Row): ReviewExclusion {
  return {
    id: r.id,
    identityId: r.identity_id,
    employment: Number(r.employment),
    target: r.role !== null ? { role: r.role } : { system: r.system ?? "", entitlement: r.entitlement ?? "" },
    itemId: r.item_id,
    campaignId: r.campaign_id,
    ...(r.campaign_name ? { campaign: r.campaign_name } : {}),
    createdAt: r.created_at,
    createdBy: r.created_by,
    liftedAt: r.lifted_at,
    liftedBy: r.lifted_by,
  };
}

export const reviewExclusionRepository = {
  /**
   * Records an exclusion; false when the item's exclusion exists already (a retried removal, or two
   * passes at once: `on conflict do nothing`, so neither fails and the transaction stays usable).
   */
  async insert(db: Db, e: NewReviewExclusion): Promise<boolean> {
    const result = await db
      .insertInto("review_exclusions")
      .values({
        id: exclusionIdOf(e.itemId),
        identity_id: e.identityId,
        employment: e.employment,
        role: "role" in e.target ? e.target.role : null,
        system: "system" in e.target ? e.target.system : null,
        entitlement: "entitlement" in e.target ? e.target.entitlement : null,
        item_id: e.itemId,
        campaign_id: e.campaignId,
        created_at: e.createdAt,
        created_by: e.createdBy,
        lifted_at: null,
        lifted_by: null,
      })
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  },

  /**
   * Exclusions not lifted, of `identityIds` (every identity when absent), with their campaign's name.
   * All employments are returned: desired state keeps only the identity's current one.
   */
  async active(db: Db, identityIds?: readonly string[]): Promise<ReviewExclusion[]> {
    if (identityIds?.length === 0) return [];
    const query = (ids: readonly string[] | undefined) => {
      let q = db
        .selectFrom("review_exclusions as x")
        .leftJoin("review_campaigns as c", "c.id", "x.campaign_id")
        .selectAll("x")
        .select("c.definition as campaign_name")
        .where("x.lifted_at", "is", null);
      if (ids !== undefined) q = q.where("x.identity_id", "in", ids);
      return q.orderBy("x.created_at").orderBy("x.id").execute();
    };
    if (identityIds === undefined) return (await query(undefined)).map(fromRow);
    const out: ReviewExclusion[] = [];
    for (const part of chunk(identityIds, 500)) for (const r of await query(part)) out.push(fromRow(r));
    return out;
  },

  /** Lifts an exclusion (the access may be given again); false when it was lifted already or is unknown. */
  async lift(db: Db, id: string, at: string, by: string): Promise<boolean> {
    const result = await db
      .updateTable("review_exclusions")
      .set({ lifted_at: at, lifted_by: by })
      .where("id", "=", id)
      .where("lifted_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};
