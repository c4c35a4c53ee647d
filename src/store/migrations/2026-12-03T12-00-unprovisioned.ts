import type { Kysely } from "kysely";

// Issue 12, point 1: the identities the last provisioning run could not give an account where policy
// wants one (a username that renders empty or is taken, a system that could not be read), so
// `tenure status` and the API show them between runs. Replaced by each run. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("unprovisioned")
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("recorded_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("unprovisioned_pk", ["identity_id", "system"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("unprovisioned").execute();
}
