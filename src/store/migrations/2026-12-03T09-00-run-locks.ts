import type { Kysely } from "kysely";

// Who runs a sync now (issue 10, point 14): one row per run name while a process holds its lock, so a
// second process answers "a sync is running (pid, host, command, since)". Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("run_locks")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("token", "text", (c) => c.notNull())
    .addColumn("pid", "integer", (c) => c.notNull())
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("command", "text", (c) => c.notNull())
    .addColumn("acquired_at", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("run_locks").execute();
}
