import { type Kysely, sql } from "kysely";
import { bulkInsert } from "../bulk-insert.js";
import { itemToRow } from "../review-item-rows.js";
import { decodePackItem, type PackRow, packElements, packItemId } from "../review-pack-codec.js";

// Issue 16 (performance): a campaign's fresh items are written packed, one row of review_item_packs per
// (campaign, identity, first-stage reviewer); an item that changes is written out to review_items
// (`pack` names the pack it came from), whose row then overrides the packed copy. `down` writes every
// packed item not yet in review_items as a full row before dropping the table. Never edit after landing.

const PAGE = 500;

// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("review_item_packs")
    .addColumn("campaign_id", "text", (c) => c.notNull())
    .addColumn("pack", "integer", (c) => c.notNull())
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("reviewer_id", "text")
    .addColumn("item_count", "integer", (c) => c.notNull())
    .addColumn("high_count", "integer", (c) => c.notNull())
    .addColumn("max_score", "integer", (c) => c.notNull())
    .addColumn("items", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("review_item_packs_pk", ["campaign_id", "pack"])
    .execute();
  // A reviewer's inbox, across campaigns or in one.
  await db.schema
    .createIndex("review_item_packs_reviewer_idx")
    .on("review_item_packs")
    .columns(["reviewer_id", "campaign_id"])
    .execute();
  await db.schema
    .createIndex("review_item_packs_identity_idx")
    .on("review_item_packs")
    .column("identity_id")
    .execute();
  await db.schema.alterTable("review_items").addColumn("pack", "integer").execute();
  // The items of some packs that were written out.
  await db.schema
    .createIndex("review_items_pack_idx")
    .on("review_items")
    .columns(["campaign_id", "pack"])
    .where(sql.ref("pack"), "is not", null)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  let after: { campaign: string; pack: number } | null = null;
  for (;;) {
    const from = after;
    let q = db
      .selectFrom("review_item_packs")
      .select(["campaign_id", "pack", "identity_id", "reviewer_id", "items", "created_at"]);
    if (from !== null)
      q = q.where((eb) =>
        eb.or([
          eb("campaign_id", ">", from.campaign),
          eb.and([eb("campaign_id", "=", from.campaign), eb("pack", ">", from.pack)]),
        ]),
      );
    const packs: PackRow[] = await q.orderBy("campaign_id").orderBy("pack").limit(PAGE).execute();
    const written = new Set<string>();
    const byCampaign = new Map<string, number[]>();
    for (const p of packs)
      byCampaign.set(p.campaign_id, [...(byCampaign.get(p.campaign_id) ?? []), Number(p.pack)]);
    for (const [campaign, numbers] of byCampaign) {
      const rows: Array<{ id: string }> = await db
        .selectFrom("review_items")
        .select("id")
        .where("campaign_id", "=", campaign)
        .where("pack", "in", numbers)
        .execute();
      for (const r of rows) written.add(r.id);
    }
    const out: unknown[][] = [];
    let columns: string[] = [];
    for (const p of packs) {
      packElements(p).forEach((e, n) => {
        if (written.has(packItemId(p.campaign_id, Number(p.pack), n))) return;
        const row = itemToRow(decodePackItem(p, n, e), null) as unknown as Record<string, unknown>;
        delete row.pack;
        columns = Object.keys(row);
        out.push(columns.map((c) => row[c]));
      });
    }
    if (out.length > 0) await bulkInsert(db, { table: "review_items", columns }, out);
    const last = packs.at(-1);
    if (packs.length < PAGE || last === undefined) break;
    after = { campaign: last.campaign_id, pack: Number(last.pack) };
  }
  await db.schema.dropIndex("review_items_pack_idx").execute();
  await db.schema.alterTable("review_items").dropColumn("pack").execute();
  await db.schema.dropTable("review_item_packs").execute();
}
