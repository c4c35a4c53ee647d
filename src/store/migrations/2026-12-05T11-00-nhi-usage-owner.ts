import type { Kysely } from "kysely";

// Issue 17, items 6 and 8: an NHI's last use (the credential's, and each scope's, where known) for the
// `unused` and `unused_grant` findings; and an owner assigned by hand (tenure nhi assign-owner), in force
// over the inventory's owner until the inventory's ownership of that NHI changes. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("non_human_identities").addColumn("last_used_at", "text").execute();
  // JSON object scope → date or instant; '{}' when no scope's last use is known.
  await db.schema
    .alterTable("non_human_identities")
    .addColumn("scope_last_used", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  await db.schema.alterTable("non_human_identities").addColumn("owner_assigned_at", "text").execute();
  await db.schema.alterTable("non_human_identities").addColumn("owner_assigned_by", "text").execute();
  // JSON array of source keys, set with owner_assigned_at.
  await db.schema.alterTable("non_human_identities").addColumn("assigned_co_owner_keys", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of [
    "assigned_co_owner_keys",
    "owner_assigned_by",
    "owner_assigned_at",
    "scope_last_used",
    "last_used_at",
  ]) {
    await db.schema.alterTable("non_human_identities").dropColumn(column).execute();
  }
}
