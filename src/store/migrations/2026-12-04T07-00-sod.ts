import { type Kysely, sql } from "kysely";

// Issue 15: separation of duties — violations found by scans (open until the conflict ends), exceptions
// accepting one for a while, and each scan's totals for the trend. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("sod_violations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("rule", "text", (c) => c.notNull())
    .addColumn("severity", "text", (c) => c.notNull())
    .addColumn("withheld", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("sides", "text", (c) => c.notNull())
    .addColumn("held_from", "text", (c) => c.notNull())
    .addColumn("held_until", "text")
    .addColumn("opened_at", "text", (c) => c.notNull())
    .addColumn("last_seen_at", "text", (c) => c.notNull())
    .addColumn("closed_at", "text")
    .addColumn("close_reason", "text")
    .execute();
  // One open violation per identity and rule, whoever scans at the same moment.
  await db.schema
    .createIndex("sod_violations_open_idx")
    .on("sod_violations")
    .columns(["identity_id", "rule"])
    .unique()
    .where(sql.ref("closed_at"), "is", null)
    .execute();
  await db.schema
    .createIndex("sod_violations_opened_idx")
    .on("sod_violations")
    .columns(["opened_at", "id"])
    .execute();
  // Closed ones for the period report; open ones counted by severity at every scan.
  await db.schema
    .createIndex("sod_violations_closed_idx")
    .on("sod_violations")
    .columns(["closed_at", "severity"])
    .execute();

  await db.schema
    .createTable("sod_exceptions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("rule", "text", (c) => c.notNull())
    .addColumn("violation_id", "text")
    .addColumn("request_id", "text")
    .addColumn("control", "text", (c) => c.notNull())
    .addColumn("justification", "text", (c) => c.notNull())
    .addColumn("approved_by", "text", (c) => c.notNull())
    .addColumn("approved_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .addColumn("revoked_by", "text")
    .addColumn("ended_at", "text")
    .execute();
  await db.schema
    .createIndex("sod_exceptions_identity_idx")
    .on("sod_exceptions")
    .columns(["identity_id", "rule", "expires_at"])
    .execute();
  await db.schema
    .createIndex("sod_exceptions_due_idx")
    .on("sod_exceptions")
    .columns(["ended_at", "expires_at"])
    .execute();

  await db.schema
    .createTable("sod_scans")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("identities", "integer", (c) => c.notNull())
    .addColumn("open", "integer", (c) => c.notNull())
    .addColumn("opened", "integer", (c) => c.notNull())
    .addColumn("closed", "integer", (c) => c.notNull())
    .addColumn("by_severity", "text", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sod_scans_at_idx").on("sod_scans").column("at").execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("sod_scans").execute();
  await db.schema.dropTable("sod_exceptions").execute();
  await db.schema.dropTable("sod_violations").execute();
}
