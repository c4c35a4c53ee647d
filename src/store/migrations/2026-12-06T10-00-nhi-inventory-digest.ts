import type { Kysely } from "kysely";

// Issue 17 (performance): the digest of what the inventory says of each NHI (domain/nhi-digest.ts), written
// with every write of the row, so the hourly sync with nothing changed reads (name, digest) pairs instead
// of every whole row. Null (rows written before this migration) means "compare the whole row": the next
// sync does, and writes the digest of a row it finds unchanged. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("non_human_identities").addColumn("inventory_digest", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("non_human_identities").dropColumn("inventory_digest").execute();
}
