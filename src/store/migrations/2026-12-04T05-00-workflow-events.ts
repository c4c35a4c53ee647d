import type { Kysely } from "kysely";

// Issue 14: elevation bound to a workflow (an incident system's signed webhook). Every event id accepted
// is kept, so a replay is refused; each grant an opening made is kept with its incident, so the closing
// event revokes exactly those. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("workflow_events")
    .addColumn("workflow", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("received_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("workflow_events_pk", ["workflow", "event_id"])
    .execute();
  await db.schema
    .createTable("workflow_grants")
    .addColumn("workflow", "text", (c) => c.notNull())
    .addColumn("incident", "text", (c) => c.notNull())
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("opened_at", "text", (c) => c.notNull())
    .addColumn("closed_at", "text")
    .addPrimaryKeyConstraint("workflow_grants_pk", ["workflow", "incident", "request_id"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("workflow_grants").execute();
  await db.schema.dropTable("workflow_events").execute();
}
