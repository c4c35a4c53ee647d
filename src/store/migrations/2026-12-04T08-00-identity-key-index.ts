import type { Kysely } from "kysely";

// Issue 15: people named in tenure.yaml (rule owners, approvers) are resolved by HR key without the
// source; without this index each look-up read every identity. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("identities_source_key_idx").on("identities").column("source_key").execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("identities_source_key_idx").execute();
}
