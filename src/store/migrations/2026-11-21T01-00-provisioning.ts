import { type Kysely, sql } from "kysely";

// Provisioning: actual accounts, durable operations, assignments. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("identities").addColumn("previous_attributes", "text").execute();
  await db.schema.alterTable("identities").addColumn("attributes_changed_at", "text").execute();

  await db.schema
    .createTable("accounts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("native_id", "text")
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("identity_id", "text")
    .addColumn("enabled", "integer", (c) => c.notNull())
    .addColumn("attributes", "text", (c) => c.notNull())
    .addColumn("entitlements", "text", (c) => c.notNull())
    .addColumn("managed_entitlements", "text", (c) => c.notNull())
    .addColumn("managed", "integer", (c) => c.notNull())
    .addColumn("vanished_at", "text")
    .addColumn("last_seen_at", "text")
    .addColumn("last_used_at", "text")
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("accounts_system_username_uq", ["system", "username"])
    .execute();
  await db.schema
    .createIndex("accounts_identity_idx")
    .on("accounts")
    .columns(["identity_id", "system"])
    .execute();

  // The username each identity holds in each system, allocated once (collision rule applied) and kept.
  await db.schema
    .createTable("account_links")
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("account_links_pk", ["identity_id", "system"])
    .addUniqueConstraint("account_links_username_uq", ["system", "username"])
    .execute();

  await db.schema
    .createTable("operations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("identity_id", "text")
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("native_id", "text")
    .addColumn("entitlement", "text")
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("lineage", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("max_attempts", "integer", (c) => c.notNull())
    .addColumn("next_attempt_at", "text", (c) => c.notNull())
    .addColumn("last_error", "text")
    .addColumn("claimed_by", "text")
    .addColumn("claim_expires_at", "text")
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text")
    .execute();
  await db.schema
    .createIndex("operations_state_idx")
    .on("operations")
    .columns(["state", "next_attempt_at"])
    .execute();
  // Claims take the earliest open operation per (identity, system): this index serves that query.
  await db.schema
    .createIndex("operations_identity_idx")
    .on("operations")
    .columns(["identity_id", "system", "seq"])
    .execute();
  // A change is queued once: at most one open operation per idempotency key.
  await sql`create unique index operations_open_key_uq on operations (idempotency_key)
    where state in ('pending', 'running', 'failed')`.execute(db);

  await db.schema
    .createTable("assignments")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("role", "text")
    .addColumn("system", "text")
    .addColumn("entitlement", "text")
    .addColumn("employment", "integer", (c) => c.notNull())
    .addColumn("valid_from", "text", (c) => c.notNull())
    .addColumn("valid_until", "text")
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("approved_by", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema.createIndex("assignments_identity_idx").on("assignments").column("identity_id").execute();

  await db.schema
    .createTable("reconcile_runs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["reconcile_runs", "assignments", "operations", "account_links", "accounts"]) {
    await db.schema.dropTable(t).execute();
  }
  await db.schema.alterTable("identities").dropColumn("attributes_changed_at").execute();
  await db.schema.alterTable("identities").dropColumn("previous_attributes").execute();
}
