import type { Kysely } from "kysely";

// Issue 19: a push looks up the identities of its source by email (listBySourceKeysOrEmails), as it
// does by key through the unique (source, source_key). With the email alone indexed, PostgreSQL without
// statistics (a store autovacuum has not analysed yet, or never: autovacuum off) planned the lookup as
// `source = $1` through identities_source_id_idx — every identity of the source, per push. Both columns
// in one index leave no such choice. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex("identities_source_email_idx")
    .on("identities")
    .columns(["source", "email"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("identities_source_email_idx").execute();
}
