import { type Kysely, sql } from "kysely";

// Issue 16: a campaign writes a million items at once, none decided and none being removed. Indexing only
// decided items (the last decision of an access) and items with a removal under way (the removal timer)
// spares two index entries per item written; every query of either index names the same condition.
// Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("review_items_access_idx").execute();
  await db.schema
    .createIndex("review_items_access_idx")
    .on("review_items")
    .columns(["identity_id", "access_key", "decided_at"])
    .where(sql.ref("decided_at"), "is not", null)
    .execute();
  await db.schema.dropIndex("review_items_removal_idx").execute();
  await db.schema
    .createIndex("review_items_removal_idx")
    .on("review_items")
    .columns(["removal_state", "removal_next_at"])
    .where(sql.ref("removal_state"), "is not", null)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("review_items_access_idx").execute();
  await db.schema
    .createIndex("review_items_access_idx")
    .on("review_items")
    .columns(["identity_id", "access_key", "decided_at"])
    .execute();
  await db.schema.dropIndex("review_items_removal_idx").execute();
  await db.schema
    .createIndex("review_items_removal_idx")
    .on("review_items")
    .columns(["removal_state", "removal_next_at"])
    .execute();
}
