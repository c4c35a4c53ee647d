import type { Kysely } from "kysely";

// Issue 18, item 1: point-in-time access. `access_checkpoints` records, at a ledger seq, the account
// journal replayed up to it (every account's confirmed state and what Tenure last asked of it), one row
// per system in `access_checkpoint_systems`, so "who had what at T" replays only the events after the
// latest checkpoint before T. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("access_checkpoints")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    // The latest `time` of any event up to `seq`: the checkpoint answers for instants from then on.
    .addColumn("covers_until", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("accounts", "integer", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("access_checkpoints_covers_idx")
    .on("access_checkpoints")
    .columns(["covers_until", "seq"])
    .execute();
  await db.schema
    .createTable("access_checkpoint_systems")
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    // Compact JSON: { accounts: [...], desired: [...] } (src/audit/point-in-time.ts).
    .addColumn("state", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("access_checkpoint_systems_pk", ["seq", "system"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("access_checkpoint_systems").execute();
  await db.schema.dropTable("access_checkpoints").execute();
}
