import type { Kysely } from "kysely";

// Issue 14: access requests. A request's items, steps and decisions are one JSON document (`body`),
// written whole with an optimistic version check; the approvers of its current step are kept beside it
// (`access_request_approvers`) so an approver's inbox is an indexed read. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("access_requests")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("requester_id", "text", (c) => c.notNull())
    .addColumn("beneficiary_id", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("submitted_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("closed_at", "text")
    .addColumn("version", "integer", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("access_requests_state_expiry_idx")
    .on("access_requests")
    .columns(["state", "expires_at"])
    .execute();
  await db.schema
    .createIndex("access_requests_beneficiary_idx")
    .on("access_requests")
    .columns(["beneficiary_id", "state"])
    .execute();
  await db.schema
    .createTable("access_request_approvers")
    .addColumn("approver_id", "text", (c) => c.notNull())
    .addColumn("request_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("access_request_approvers_pk", ["approver_id", "request_id"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("access_request_approvers").execute();
  await db.schema.dropTable("access_requests").execute();
}
