import type { Kysely } from "kysely";

// Issue 14: an approver away delegates their decisions to someone else for a window. Never edit after
// landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("delegations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("delegator_id", "text", (c) => c.notNull())
    .addColumn("delegate_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "text", (c) => c.notNull())
    .addColumn("valid_until", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema
    .createIndex("delegations_delegate_idx")
    .on("delegations")
    .columns(["delegate_id", "valid_until"])
    .execute();
  await db.schema.createIndex("delegations_delegator_idx").on("delegations").column("delegator_id").execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("delegations").execute();
}
