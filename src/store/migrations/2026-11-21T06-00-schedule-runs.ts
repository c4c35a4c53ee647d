import type { Kysely } from "kysely";

// The scheduler's memory (issue 5, item 6): per job, the last due time it handled and how that run
// went, so a restarted process knows what fell due while it was down. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("schedule_runs")
    .addColumn("job", "text", (c) => c.primaryKey())
    .addColumn("pattern", "text", (c) => c.notNull())
    .addColumn("last_due", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("late_seconds", "integer", (c) => c.notNull())
    .addColumn("caught_up", "integer", (c) => c.notNull())
    .addColumn("summary", "text")
    .addColumn("error", "text")
    .addColumn("runs", "integer", (c) => c.notNull())
    .addColumn("failures", "integer", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("schedule_runs").execute();
}
