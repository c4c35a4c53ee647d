import type { Kysely } from "kysely";

// Issue 17, items 1-3: non-human identities. Each is an identity (kind service, source nhi) plus this row:
// what the inventory says of it (type, system, owners, credential dates, scopes, entitlements) and where
// its owner succession stands. JSON lists are TEXT, instants ISO-8601 TEXT. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("non_human_identities")
    .addColumn("identity_id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("system", "text")
    .addColumn("purpose", "text")
    .addColumn("owner_key", "text")
    .addColumn("owner_id", "text")
    .addColumn("owner_since", "text")
    .addColumn("co_owner_keys", "text", (c) => c.notNull())
    .addColumn("created_on", "text")
    .addColumn("last_rotated_at", "text")
    .addColumn("expires_at", "text")
    .addColumn("scopes", "text", (c) => c.notNull())
    .addColumn("entitlements", "text", (c) => c.notNull())
    .addColumn("origin", "text", (c) => c.notNull())
    .addColumn("account", "text")
    .addColumn("pending_owner_id", "text")
    .addColumn("pending_since", "text")
    .addColumn("pending_deadline", "text")
    .addColumn("ownerless_reason", "text")
    .addColumn("disabled_reason", "text")
    .addColumn("disabled_at", "text")
    .addColumn("removed_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .execute();
  // Succession reads the NHIs of an owner that left, and of a pending owner.
  await db.schema.createIndex("nhi_owner_idx").on("non_human_identities").column("owner_id").execute();
  await db.schema
    .createIndex("nhi_pending_owner_idx")
    .on("non_human_identities")
    .column("pending_owner_id")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("non_human_identities").execute();
}
