import type { Kysely } from "kysely";

// Issue 14: granted access that ends by itself. An assignment remembers the request that granted it,
// when its end was confirmed in every target (`ended_at`, with the read-back receipt), and when an
// end the targets did not confirm was alerted (once). `requester_id` lists a person's own requests.
// Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("assignments").addColumn("request_id", "text").execute();
  await db.schema.alterTable("assignments").addColumn("ended_at", "text").execute();
  await db.schema.alterTable("assignments").addColumn("end_receipt", "text").execute();
  await db.schema.alterTable("assignments").addColumn("end_alerted_at", "text").execute();
  // The expiry timer's read: open assignments by their end.
  await db.schema
    .createIndex("assignments_open_end_idx")
    .on("assignments")
    .columns(["ended_at", "valid_until"])
    .execute();
  await db.schema.createIndex("assignments_request_idx").on("assignments").column("request_id").execute();
  await db.schema
    .createIndex("access_requests_requester_idx")
    .on("access_requests")
    .columns(["requester_id", "submitted_at"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("access_requests_requester_idx").execute();
  await db.schema.dropIndex("assignments_request_idx").execute();
  await db.schema.dropIndex("assignments_open_end_idx").execute();
  for (const column of ["end_alerted_at", "end_receipt", "ended_at", "request_id"]) {
    await db.schema.alterTable("assignments").dropColumn(column).execute();
  }
}
