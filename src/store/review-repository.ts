import { sql } from "kysely";
import type {
  CampaignStatus,
  ReviewAccess,
  ReviewDefinition,
  ReviewItemState,
} from "../domain/review-types.js";
import { bulkInsert, usesDollar } from "./bulk-insert.js";
import { chunk } from "./chunk.js";
import { changeToRow, ITEM_COLUMNS, itemFromRow, itemToRow, itemValues } from "./review-item-rows.js";
import type { ItemChange, ReviewItem } from "./review-item-types.js";
import {
  allPacked,
  byScoreThenId,
  findPacked,
  packedPage,
  packedPendingCount,
} from "./review-pack-repository.js";
import type { Db, ReviewCampaignsTable } from "./schema-types.js";

export type { ItemChange, ReviewItem } from "./review-item-types.js";

/** Campaigns and their items, as kept. Decisions and removals change items; nothing is deleted. */

export type CampaignKind = "scheduled" | "ad-hoc" | "mover";

export interface ReviewCampaign {
  id: string;
  definition: string;
  kind: CampaignKind;
  status: CampaignStatus;
  /** The definition as it was at the start. */
  settings: ReviewDefinition;
  subjectIdentityId: string | null;
  startedAt: string;
  /** An identity id, `token:NAME`, `scheduler` or `lifecycle`. */
  startedBy: string;
  deadline: string;
  closedAt: string | null;
  closedBy: string | null;
  items: number;
}

/** The key an access is compared by across campaigns. */
export function accessKeyOf(access: ReviewAccess): string {
  return access.kind === "role"
    ? `role:${access.role}`
    : `entitlement:${access.system}:${access.entitlement}`;
}

function campaignFromRow(r: ReviewCampaignsTable): ReviewCampaign {
  return {
    id: r.id,
    definition: r.definition,
    kind: r.kind as CampaignKind,
    status: r.status as CampaignStatus,
    settings: JSON.parse(r.settings) as ReviewDefinition,
    subjectIdentityId: r.subject_identity_id,
    startedAt: r.started_at,
    startedBy: r.started_by,
    deadline: r.deadline,
    closedAt: r.closed_at,
    closedBy: r.closed_by,
    items: Number(r.items),
  };
}

function campaignToRow(c: ReviewCampaign): ReviewCampaignsTable {
  return {
    id: c.id,
    definition: c.definition,
    kind: c.kind,
    status: c.status,
    // A compiled rule (`where`) holds a function: only its source and location are kept.
    settings: JSON.stringify(c.settings),
    subject_identity_id: c.subjectIdentityId,
    started_at: c.startedAt,
    started_by: c.startedBy,
    deadline: c.deadline,
    closed_at: c.closedAt,
    closed_by: c.closedBy,
    items: c.items,
  };
}

export interface ItemFilter {
  campaignId?: string;
  reviewerId?: string;
  identityId?: string;
  states?: readonly ReviewItemState[];
  /** Keyset paging, riskiest first: the (score, id) of the last item of the previous page. */
  after?: { score: number; id: string };
  limit?: number;
}

export const reviewCampaignRepository = {
  async insert(db: Db, campaign: ReviewCampaign): Promise<void> {
    await db.insertInto("review_campaigns").values(campaignToRow(campaign)).execute();
  },

  async find(db: Db, id: string): Promise<ReviewCampaign | undefined> {
    const row = await db.selectFrom("review_campaigns").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : campaignFromRow(row);
  },

  /** Newest first. */
  async list(
    db: Db,
    filter: { status?: CampaignStatus; definition?: string; limit?: number } = {},
  ): Promise<ReviewCampaign[]> {
    let q = db.selectFrom("review_campaigns").selectAll();
    if (filter.status !== undefined) q = q.where("status", "=", filter.status);
    if (filter.definition !== undefined) q = q.where("definition", "=", filter.definition);
    const rows = await q
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .limit(filter.limit ?? 1000)
      .execute();
    return rows.map(campaignFromRow);
  },

  /** Open campaigns whose deadline is at or before `at`. */
  async due(db: Db, at: string): Promise<ReviewCampaign[]> {
    const rows = await db
      .selectFrom("review_campaigns")
      .selectAll()
      .where("status", "=", "open")
      .where("deadline", "<=", at)
      .orderBy("deadline")
      .execute();
    return rows.map(campaignFromRow);
  },

  async setItemCount(db: Db, id: string, items: number): Promise<void> {
    await db.updateTable("review_campaigns").set({ items }).where("id", "=", id).execute();
  },

  async extendDeadline(db: Db, id: string, deadline: string): Promise<void> {
    await db.updateTable("review_campaigns").set({ deadline }).where("id", "=", id).execute();
  },

  /** Closes an open campaign; false when it was already closed (someone else closed it first). */
  async close(db: Db, id: string, at: string, by: string): Promise<boolean> {
    const result = await db
      .updateTable("review_campaigns")
      .set({ status: "closed", closed_at: at, closed_by: by })
      .where("id", "=", id)
      .where("status", "=", "open")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};

/** The fields of `change` that are set. */
function definedOf(change: ItemChange): ItemChange {
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as ItemChange;
}

function packFilter(filter: Omit<ItemFilter, "after" | "limit">): {
  campaignId?: string;
  reviewerId?: string;
  identityId?: string;
} {
  return {
    ...(filter.campaignId === undefined ? {} : { campaignId: filter.campaignId }),
    ...(filter.reviewerId === undefined ? {} : { reviewerId: filter.reviewerId }),
    ...(filter.identityId === undefined ? {} : { identityId: filter.identityId }),
  };
}

/** Items kept as rows, riskiest first then id in byte order (PostgreSQL: collation "C"). */
async function listRows(db: Db, filter: ItemFilter, limit: number): Promise<ReviewItem[]> {
  const id = usesDollar(db) ? sql<string>`id collate "C"` : sql<string>`id`;
  let q = db.selectFrom("review_items").selectAll();
  if (filter.reviewerId !== undefined) q = q.where("reviewer_id", "=", filter.reviewerId);
  if (filter.campaignId !== undefined) q = q.where("campaign_id", "=", filter.campaignId);
  if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
  if (filter.states !== undefined) {
    if (filter.states.length === 0) return [];
    q = q.where("state", "in", filter.states);
  }
  const after = filter.after;
  if (after !== undefined) {
    q = q.where((eb) =>
      eb.or([
        eb("risk_score", "<", after.score),
        eb.and([eb("risk_score", "=", after.score), eb(id, ">", after.id)]),
      ]),
    );
  }
  const rows = await q.orderBy("risk_score", "desc").orderBy(id).limit(limit).execute();
  return rows.map(itemFromRow);
}

export const reviewItemRepository = {
  async insertMany(db: Db, items: readonly ReviewItem[]): Promise<void> {
    if (items.length === 0) return;
    await bulkInsert(db, { table: "review_items", columns: ITEM_COLUMNS }, items.map(itemValues));
  },

  /** A campaign's items as rows (campaigns are written packed: review-pack-repository.ts). */
  async find(db: Db, id: string): Promise<ReviewItem | undefined> {
    const row = await db.selectFrom("review_items").selectAll().where("id", "=", id).executeTakeFirst();
    if (row !== undefined) return itemFromRow(row);
    return (await findPacked(db, [id]))[0]?.item;
  },

  /** In id order (bytes). */
  async findMany(db: Db, ids: readonly string[]): Promise<ReviewItem[]> {
    const out: ReviewItem[] = [];
    const seen = new Set<string>();
    for (const part of chunk(ids, 500)) {
      const rows = await db.selectFrom("review_items").selectAll().where("id", "in", part).execute();
      for (const r of rows) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        out.push(itemFromRow(r));
      }
    }
    const rest = ids.filter((id) => !seen.has(id));
    if (rest.length > 0) for (const p of await findPacked(db, rest)) out.push(p.item);
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  },

  /** Riskiest first, then by id (bytes); keyset-paged with `after`. */
  async list(db: Db, filter: ItemFilter): Promise<ReviewItem[]> {
    const limit = filter.limit ?? 50;
    const rows = await listRows(db, filter, limit);
    if (filter.states !== undefined && !filter.states.includes("pending")) return rows;
    const packed = await packedPage(db, packFilter(filter), filter.after, limit);
    if (packed.length === 0) return rows;
    return [...rows, ...packed].sort(byScoreThenId).slice(0, limit);
  },

  /** Every item matching `filter` (without `after`/`limit`), riskiest first, read a page at a time. */
  async all(db: Db, filter: Omit<ItemFilter, "after" | "limit">, pageSize = 1000): Promise<ReviewItem[]> {
    const out: ReviewItem[] = [];
    let after: { score: number; id: string } | undefined;
    for (;;) {
      const page = await listRows(db, { ...filter, ...(after === undefined ? {} : { after }) }, pageSize);
      for (const i of page) out.push(i);
      const last = page.at(-1);
      if (page.length < pageSize || last === undefined) break;
      after = { score: last.risk.score, id: last.id };
    }
    if (filter.states !== undefined && !filter.states.includes("pending")) return out;
    const packed = await allPacked(db, packFilter(filter), Math.max(1, Math.ceil(pageSize / 10)));
    if (packed.length === 0) return out;
    for (const i of packed) out.push(i);
    return out.sort(byScoreThenId);
  },

  /** How many items of a campaign are in each state. */
  async countByState(db: Db, campaignId: string): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom("review_items")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
      .where("campaign_id", "=", campaignId)
      .groupBy("state")
      .execute();
    const counts: Record<string, number> = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    const packed = await packedPendingCount(db, campaignId);
    if (packed > 0) counts.pending = (counts.pending ?? 0) + packed;
    return counts;
  },

  /**
   * Applies `change` if the item is still at `version` (and, when given, still in one of `states`);
   * false when someone changed it first. Bumps the version. A packed item's first change writes it out
   * (version 1): of two writers, the one whose row lands first wins.
   */
  async update(
    db: Db,
    id: string,
    version: number,
    change: ItemChange,
    states?: readonly ReviewItemState[],
  ): Promise<boolean> {
    let q = db
      .updateTable("review_items")
      .set({ ...changeToRow(change), version: version + 1 })
      .where("id", "=", id)
      .where("version", "=", version);
    if (states !== undefined) q = q.where("state", "in", states);
    const result = await q.executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) return true;
    if (version !== 0 || (states !== undefined && !states.includes("pending"))) return false;
    const [packed] = await findPacked(db, [id]);
    if (packed === undefined) return false;
    const changed: ReviewItem = { ...packed.item, ...definedOf(change), version: 1 };
    const inserted = await db
      .insertInto("review_items")
      .values(itemToRow(changed, packed.pack))
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
  },

  /**
   * The latest decision a person made per access of `identityIds` (for `never reviewed before` and the
   * evidence): certified or revoked by a reviewer, not what a deadline or a leaver decided.
   */
  async lastDecisions(
    db: Db,
    identityIds: readonly string[] | undefined,
  ): Promise<Map<string, { campaignId: string; state: ReviewItemState; at: string }>> {
    const out = new Map<string, { campaignId: string; state: ReviewItemState; at: string }>();
    const orders = new Map<string, string>();
    const parts = identityIds === undefined ? [undefined] : chunk(identityIds, 500);
    for (const part of parts) {
      let q = db
        .selectFrom("review_items")
        .select(["id", "identity_id", "access_key", "campaign_id", "state", "decided_at"])
        // A person's decision only: the deadline keeping an item nobody looked at is not a review.
        .where("decided_at", "is not", null)
        .where("decided_by", "is not", null)
        .where("state", "in", ["certified", "revoked"]);
      if (part !== undefined) q = q.where("identity_id", "in", part);
      for (const r of await q.execute()) {
        const key = `${r.identity_id}|${r.access_key}`;
        // Two decisions at the same instant (a millisecond clock, a bulk decision) are ordered by the
        // later campaign, then the later item: ids are time-ordered, and the answer must not depend on
        // the order the database happens to return rows in.
        const order = `${r.decided_at}|${r.campaign_id}|${r.id}`;
        const seen = orders.get(key);
        if (seen !== undefined && seen >= order) continue;
        orders.set(key, order);
        out.set(key, { campaignId: r.campaign_id, state: r.state as ReviewItemState, at: r.decided_at! });
      }
    }
    return out;
  },

  /** Revocations whose removal is still to run (pending, or failed and due again at `at`). */
  async removalsDue(db: Db, at: string, limit = 500): Promise<ReviewItem[]> {
    const rows = await db
      .selectFrom("review_items")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb("removal_state", "=", "pending"),
          eb.and([eb("removal_state", "=", "failed"), eb("removal_next_at", "<=", at)]),
          eb.and([eb("removal_state", "=", "applied"), eb("removal_next_at", "<=", at)]),
        ]),
      )
      .orderBy("decided_at")
      .limit(limit)
      .execute();
    return rows.map(itemFromRow);
  },
};
