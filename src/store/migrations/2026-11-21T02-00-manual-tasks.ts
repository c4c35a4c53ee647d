import { type Kysely, sql } from "kysely";

/**
 * Manual systems (issue 4): an operation handed to a person waits in the new state `awaiting` with one
 * task row. `awaiting` is open work — the change is not done yet — so the unique index that lets a
 * change be queued only once covers it too: re-planning while a task is open must not queue a second
 * one. (`operations_open_seq_idx` needs no change: an awaiting operation has no finished_at.)
 * Never edit after landing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("tasks")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("operation_id", "text", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("identity_id", "text")
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("entitlement", "text")
    .addColumn("instructions", "text", (c) => c.notNull())
    .addColumn("fulfiller", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("due_at", "text", (c) => c.notNull())
    .addColumn("done_at", "text")
    .addColumn("done_by", "text")
    .addColumn("note", "text")
    .addColumn("overdue_notified_at", "text")
    // One task per operation: an operation re-run after a crash does not hand out its work twice.
    .addUniqueConstraint("tasks_operation_uq", ["operation_id"])
    .execute();
  // Open tasks by due time: `tasks list` and the overdue alert read only these.
  await sql`create index tasks_open_due_idx on tasks (due_at) where state = 'open'`.execute(db);

  await sql`drop index operations_open_key_uq`.execute(db);
  await sql`create unique index operations_open_key_uq on operations (idempotency_key)
    where state in ('pending', 'running', 'failed', 'awaiting')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index operations_open_key_uq`.execute(db);
  await sql`create unique index operations_open_key_uq on operations (idempotency_key)
    where state in ('pending', 'running', 'failed')`.execute(db);
  await db.schema.dropTable("tasks").execute();
}
