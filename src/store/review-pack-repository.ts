import { bulkInsert } from "./bulk-insert.js";
import { chunk } from "./chunk.js";
import type { ReviewItem } from "./review-item-types.js";
import {
  decodePackItem,
  elementScore,
  type PackElement,
  type PackRow,
  packElements,
  packItemId,
  parsePackItemId,
} from "./review-pack-codec.js";
import type { Db } from "./schema-types.js";

/**
 * A campaign's fresh items, packed (review_item_packs; store/review-pack-codec.ts). An item once changed
 * lives in review_items (its `pack` set), and that row overrides its packed copy: every read here leaves
 * out the packed copies of items written out. Ids compare in byte order (JS `<`).
 */

const PACK_COLUMNS = [
  "campaign_id",
  "pack",
  "identity_id",
  "reviewer_id",
  "item_count",
  "high_count",
  "max_score",
  "items",
  "created_at",
] as const;

const PACK_READ = ["campaign_id", "pack", "identity_id", "reviewer_id", "items", "created_at"] as const;

/** Where packs are written: rows in PACK_COLUMNS order (a campaign's start writes them in bulk). */
export const PACK_INSERT = {
  table: "review_item_packs",
  columns: PACK_COLUMNS,
  jsonColumns: ["items"],
} as const;

/** Rows in PACK_COLUMNS order. */
export async function insertPacks(db: Db, rows: readonly unknown[][]): Promise<void> {
  if (rows.length > 0) await bulkInsert(db, PACK_INSERT, rows);
}

export interface PackFilter {
  campaignId?: string;
  reviewerId?: string;
  identityId?: string;
}

export const byScoreThenId = (
  a: { risk: { score: number }; id: string },
  b: { risk: { score: number }; id: string },
): number => b.risk.score - a.risk.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Ids of the items of `packs` written out to review_items. */
async function writtenOut(
  db: Db,
  packs: ReadonlyArray<Pick<PackRow, "campaign_id" | "pack">>,
): Promise<Set<string>> {
  const out = new Set<string>();
  const byCampaign = new Map<string, number[]>();
  for (const p of packs) {
    const list = byCampaign.get(p.campaign_id);
    if (list === undefined) byCampaign.set(p.campaign_id, [Number(p.pack)]);
    else list.push(Number(p.pack));
  }
  for (const [campaignId, numbers] of byCampaign) {
    for (const part of chunk(numbers, 500)) {
      const rows = await db
        .selectFrom("review_items")
        .select("id")
        .where("campaign_id", "=", campaignId)
        .where("pack", "in", part)
        .execute();
      for (const r of rows) out.add(r.id);
    }
  }
  return out;
}

/** Packs matching `filter`, keyset-paged by (campaign, pack) when `page` is given. */
async function packsOf(
  db: Db,
  filter: PackFilter,
  page?: { after: { campaignId: string; pack: number } | null; size: number },
): Promise<PackRow[]> {
  let q = db.selectFrom("review_item_packs").select(PACK_READ);
  if (filter.reviewerId !== undefined) q = q.where("reviewer_id", "=", filter.reviewerId);
  if (filter.campaignId !== undefined) q = q.where("campaign_id", "=", filter.campaignId);
  if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
  if (page === undefined) return q.execute();
  const after = page.after;
  if (after !== null)
    q = q.where((eb) =>
      eb.or([
        eb("campaign_id", ">", after.campaignId),
        eb.and([eb("campaign_id", "=", after.campaignId), eb("pack", ">", after.pack)]),
      ]),
    );
  return q.orderBy("campaign_id").orderBy("pack").limit(page.size).execute();
}

/** Packs read at a time by a page, riskiest first. */
const PAGE_PACKS = 8;

/**
 * The first `limit` packed items matching `filter` (riskiest first, then id) after `after`, leaving out
 * those written out. The packs are read riskiest first (by their highest score) and reading stops once
 * no pack left can hold an item before the `limit`th found; only the items returned are decoded.
 */
export async function packedPage(
  db: Db,
  filter: PackFilter,
  after: { score: number; id: string } | undefined,
  limit: number,
): Promise<ReviewItem[]> {
  let heads = db.selectFrom("review_item_packs").select(["campaign_id", "pack", "max_score"]);
  if (filter.reviewerId !== undefined) heads = heads.where("reviewer_id", "=", filter.reviewerId);
  if (filter.campaignId !== undefined) heads = heads.where("campaign_id", "=", filter.campaignId);
  if (filter.identityId !== undefined) heads = heads.where("identity_id", "=", filter.identityId);
  // A pack's items' ids all start with its prefix: none sorts before it.
  const order = (await heads.execute())
    .map((h) => ({
      campaignId: h.campaign_id,
      pack: Number(h.pack),
      max: Number(h.max_score),
      prefix: `${h.campaign_id}.${Number(h.pack)}.`,
    }))
    .sort((a, b) => b.max - a.max || (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  if (order.length === 0 || limit <= 0) return [];
  const skip = await writtenOut(
    db,
    order.map((h) => ({ campaign_id: h.campaignId, pack: h.pack })),
  );
  let found: Array<{ risk: { score: number }; id: string; p: PackRow; n: number; e: PackElement }> = [];
  for (let at = 0; at < order.length; at += PAGE_PACKS) {
    const next = order[at]!;
    const last = found[limit - 1];
    if (
      last !== undefined &&
      (last.risk.score > next.max || (last.risk.score === next.max && last.id < next.prefix))
    )
      break;
    for (const p of await packsAt(db, order.slice(at, at + PAGE_PACKS))) {
      const elements = packElements(p);
      for (let n = 0; n < elements.length; n++) {
        const e = elements[n]!;
        const score = elementScore(e);
        const id = packItemId(p.campaign_id, Number(p.pack), n);
        if (after !== undefined && !(score < after.score || (score === after.score && id > after.id)))
          continue;
        if (skip.has(id)) continue;
        found.push({ risk: { score }, id, p, n, e });
      }
    }
    found.sort(byScoreThenId);
    if (found.length > limit) found = found.slice(0, limit);
  }
  return found.map((f) => decodePackItem(f.p, f.n, f.e));
}

/** The packs named, whole. */
async function packsAt(
  db: Db,
  heads: ReadonlyArray<{ campaignId: string; pack: number }>,
): Promise<PackRow[]> {
  const byCampaign = new Map<string, number[]>();
  for (const h of heads) byCampaign.set(h.campaignId, [...(byCampaign.get(h.campaignId) ?? []), h.pack]);
  const out: PackRow[] = [];
  for (const [campaignId, packs] of byCampaign) {
    const rows = await db
      .selectFrom("review_item_packs")
      .select(PACK_READ)
      .where("campaign_id", "=", campaignId)
      .where("pack", "in", packs)
      .execute();
    for (const r of rows) out.push(r);
  }
  return out;
}

/** Every packed item matching `filter` not written out, read `pageSize` packs at a time, unordered. */
export async function allPacked(db: Db, filter: PackFilter, pageSize: number): Promise<ReviewItem[]> {
  const out: ReviewItem[] = [];
  let after: { campaignId: string; pack: number } | null = null;
  for (;;) {
    const packs = await packsOf(db, filter, { after, size: pageSize });
    const skip = await writtenOut(db, packs);
    for (const p of packs) {
      const elements = packElements(p);
      for (let n = 0; n < elements.length; n++) {
        if (!skip.has(packItemId(p.campaign_id, Number(p.pack), n)))
          out.push(decodePackItem(p, n, elements[n]!));
      }
    }
    const last = packs.at(-1);
    if (packs.length < pageSize || last === undefined) return out;
    after = { campaignId: last.campaign_id, pack: Number(last.pack) };
  }
}

/** The packed items of `ids` (ids of rows are ignored), as packed: the caller read review_items first. */
export async function findPacked(
  db: Db,
  ids: readonly string[],
): Promise<Array<{ item: ReviewItem; pack: number }>> {
  const wanted = new Map<string, { campaignId: string; pack: number; indexes: number[] }>();
  for (const id of ids) {
    const at = parsePackItemId(id);
    if (at === null) continue;
    const key = `${at.campaignId} ${at.pack}`;
    const seen = wanted.get(key);
    if (seen === undefined)
      wanted.set(key, { campaignId: at.campaignId, pack: at.pack, indexes: [at.index] });
    else seen.indexes.push(at.index);
  }
  const out: Array<{ item: ReviewItem; pack: number }> = [];
  const byCampaign = new Map<string, Array<{ pack: number; indexes: number[] }>>();
  for (const w of wanted.values()) {
    const list = byCampaign.get(w.campaignId) ?? [];
    list.push(w);
    byCampaign.set(w.campaignId, list);
  }
  for (const [campaignId, wants] of byCampaign) {
    for (const part of chunk(wants, 500)) {
      const rows = await db
        .selectFrom("review_item_packs")
        .select(PACK_READ)
        .where("campaign_id", "=", campaignId)
        .where(
          "pack",
          "in",
          part.map((w) => w.pack),
        )
        .execute();
      const byPack = new Map(rows.map((r) => [Number(r.pack), r]));
      for (const w of part) {
        const row = byPack.get(w.pack);
        if (row === undefined) continue;
        const elements = packElements(row);
        for (const n of new Set(w.indexes)) {
          const e = elements[n];
          if (e !== undefined) out.push({ item: decodePackItem(row, n, e), pack: w.pack });
        }
      }
    }
  }
  return out;
}

/** A campaign's packed items not written out (all pending). */
export async function packedPendingCount(db: Db, campaignId: string): Promise<number> {
  const packed = await db
    .selectFrom("review_item_packs")
    .select((eb) => eb.fn.sum<number>("item_count").as("n"))
    .where("campaign_id", "=", campaignId)
    .executeTakeFirst();
  const total = Number(packed?.n ?? 0);
  if (total === 0) return 0;
  const out = await db
    .selectFrom("review_items")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("campaign_id", "=", campaignId)
    .where("pack", "is not", null)
    .executeTakeFirst();
  return total - Number(out?.n ?? 0);
}

/** Per first-stage reviewer, a campaign's packed items not written out (all pending) and the high ones. */
export async function packedLoads(
  db: Db,
  campaignId: string,
): Promise<Map<string | null, { pending: number; high: number }>> {
  const loads = new Map<string | null, { pending: number; high: number }>();
  const packed = await db
    .selectFrom("review_item_packs")
    .select([
      "reviewer_id",
      (eb) => eb.fn.sum<number>("item_count").as("n"),
      (eb) => eb.fn.sum<number>("high_count").as("high"),
    ])
    .where("campaign_id", "=", campaignId)
    .groupBy("reviewer_id")
    .execute();
  if (packed.length === 0) return loads;
  for (const r of packed) loads.set(r.reviewer_id, { pending: Number(r.n), high: Number(r.high ?? 0) });
  const out = await db
    .selectFrom("review_items as i")
    .innerJoin("review_item_packs as p", (j) =>
      j.onRef("p.campaign_id", "=", "i.campaign_id").onRef("p.pack", "=", "i.pack"),
    )
    .select([
      "p.reviewer_id",
      (eb) => eb.fn.countAll<number>().as("n"),
      (eb) => eb.fn.sum<number>(eb.case().when("i.risk_level", "=", "high").then(1).else(0).end()).as("high"),
    ])
    .where("i.campaign_id", "=", campaignId)
    .where("i.pack", "is not", null)
    .groupBy("p.reviewer_id")
    .execute();
  for (const r of out) {
    const load = loads.get(r.reviewer_id);
    if (load === undefined) continue;
    load.pending -= Number(r.n);
    load.high -= Number(r.high ?? 0);
  }
  return loads;
}
