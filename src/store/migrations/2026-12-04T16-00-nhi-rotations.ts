import { type Kysely, sql } from "kysely";

// Issue 17, item 4: credential rotations of non-human identities, one row per rotation, each step recorded
// as it is done (state) so a failure or a crash shows where it stopped. The secret is never stored. At most
// one unfinished rotation per NHI: the partial unique index refuses a second while one runs.
// Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("nhi_rotations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("nhi_id", "text", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("failed_step", "text")
    .addColumn("error", "text")
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text")
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("nhi_rotations_running_idx")
    .unique()
    .on("nhi_rotations")
    .column("nhi_id")
    .where(sql.ref("finished_at"), "is", null)
    .execute();
  await db.schema
    .createIndex("nhi_rotations_nhi_idx")
    .on("nhi_rotations")
    .columns(["nhi_id", "started_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("nhi_rotations").execute();
}
