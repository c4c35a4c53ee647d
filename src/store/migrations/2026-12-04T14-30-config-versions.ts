import type { Kysely } from "kysely";

// Issue 18: every configuration Tenure ran with, so the rule that granted something can be shown as it
// was then, at its line; when each was in force is in the ledger (`config.loaded`). Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("config_versions")
    .addColumn("hash", "text", (c) => c.primaryKey())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("text", "text", (c) => c.notNull())
    .addColumn("first_loaded_at", "text", (c) => c.notNull())
    .addColumn("last_loaded_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("config_versions_loaded_idx")
    .on("config_versions")
    .column("last_loaded_at")
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("config_versions").execute();
}
