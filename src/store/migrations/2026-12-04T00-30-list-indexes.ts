import type { Kysely } from "kysely";

// Issue 13 (performance): every list page of the console stays fast at a million rows. The operations
// list pages in queue order (seq, id) and filters by state or system in queue order (seq, id), and the audit log by action in seq order;
// without an index that ends in the order, a filter that matches few rows read the whole table (or
// sorted every match) to fill a page. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("operations_seq_idx").on("operations").columns(["seq", "id"]).execute();
  await db.schema
    .createIndex("operations_state_seq_idx")
    .on("operations")
    .columns(["state", "seq", "id"])
    .execute();
  await db.schema
    .createIndex("operations_system_seq_idx")
    .on("operations")
    .columns(["system", "seq", "id"])
    .execute();
  await db.schema
    .createIndex("audit_events_action_seq_idx")
    .on("audit_events")
    .columns(["action", "seq"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("audit_events_action_seq_idx").execute();
  await db.schema.dropIndex("operations_system_seq_idx").execute();
  await db.schema.dropIndex("operations_state_seq_idx").execute();
  await db.schema.dropIndex("operations_seq_idx").execute();
}
