import type { Kysely } from "kysely";

// Issue 18: the ledger's proof beyond the database. `ledger_heads` holds every signed head Tenure
// published, with the sinks still owed it; `ledger_checkpoints` records each archived segment, so the
// chain is verified from the latest cut instead of from genesis. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("ledger_heads")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("time", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .addColumn("published_at", "text", (c) => c.notNull())
    // JSON array of the sink ids still owed this head ('[]' once every sink has it).
    .addColumn("pending_sinks", "text", (c) => c.notNull())
    .addColumn("last_error", "text")
    .execute();
  await db.schema
    .createIndex("ledger_heads_seq_key_idx")
    .on("ledger_heads")
    .columns(["seq", "key_id"])
    .unique()
    .execute();

  await db.schema
    .createTable("ledger_checkpoints")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("first_seq", "integer", (c) => c.notNull())
    .addColumn("events", "integer", (c) => c.notNull())
    .addColumn("archived_at", "text", (c) => c.notNull())
    .addColumn("file", "text", (c) => c.notNull())
    .addColumn("sha256", "text", (c) => c.notNull())
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("ledger_checkpoints").execute();
  await db.schema.dropTable("ledger_heads").execute();
}
