import type { Kysely } from "kysely";

// Issue 19 item 3: the trace id of what queued an operation — the HTTP request id of a SCIM / JSON push,
// the run id of a CLI `tenure sync` / `apply`, a scheduled job's run — so a push can be followed to its
// operations and their log lines. Null for operations queued before this migration or outside a trace.
// Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("operations").addColumn("trace_id", "text").execute();
  // `GET /api/operations?traceId=`: the operations of one push.
  await db.schema.createIndex("operations_trace_idx").on("operations").column("trace_id").execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("operations_trace_idx").execute();
  await db.schema.alterTable("operations").dropColumn("trace_id").execute();
}
