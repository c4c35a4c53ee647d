import { type Kysely, sql } from "kysely";

// Issue 16: access recertification — campaigns, one item per (identity, access) with its risk and
// evidence and decision, exclusions that keep revoked birthright access out of the plan, notices sent
// to reviewers (each once), and dormant-account notices. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("review_campaigns")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("definition", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("settings", "text", (c) => c.notNull())
    .addColumn("subject_identity_id", "text")
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("started_by", "text", (c) => c.notNull())
    .addColumn("deadline", "text", (c) => c.notNull())
    .addColumn("closed_at", "text")
    .addColumn("closed_by", "text")
    .addColumn("items", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex("review_campaigns_status_idx")
    .on("review_campaigns")
    .columns(["status", "deadline"])
    .execute();
  // One open campaign per definition (mover micro-reviews, one per mover, aside), whoever starts it.
  await db.schema
    .createIndex("review_campaigns_open_idx")
    .on("review_campaigns")
    .column("definition")
    .unique()
    .where(sql.ref("status"), "=", "open")
    .where(sql.ref("kind"), "<>", "mover")
    .execute();
  await db.schema
    .createIndex("review_campaigns_started_idx")
    .on("review_campaigns")
    .columns(["started_at", "id"])
    .execute();

  await db.schema
    .createTable("review_items")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("campaign_id", "text", (c) => c.notNull())
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("access_key", "text", (c) => c.notNull())
    .addColumn("role", "text")
    .addColumn("system", "text")
    .addColumn("entitlement", "text")
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("assignment_id", "text")
    .addColumn("privileged", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("risk_score", "integer", (c) => c.notNull())
    .addColumn("risk_level", "text", (c) => c.notNull())
    .addColumn("reasons", "text", (c) => c.notNull())
    .addColumn("recommendation", "text", (c) => c.notNull())
    .addColumn("evidence", "text", (c) => c.notNull())
    .addColumn("stage", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("reviewer_id", "text")
    .addColumn("rule_reviewer_id", "text")
    .addColumn("reroute_reason", "text")
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("decided_by", "text")
    .addColumn("decided_at", "text")
    .addColumn("comment", "text")
    .addColumn("bulk", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("removal_state", "text")
    .addColumn("removal_detail", "text")
    .addColumn("removal_attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("removal_next_at", "text")
    .addColumn("confirmed_at", "text")
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  // A reviewer's inbox: their pending items, riskiest first.
  await db.schema
    .createIndex("review_items_reviewer_idx")
    .on("review_items")
    .columns(["reviewer_id", "state", "risk_score", "id"])
    .execute();
  await db.schema
    .createIndex("review_items_campaign_idx")
    .on("review_items")
    .columns(["campaign_id", "state", "risk_score", "id"])
    .execute();
  // "Never reviewed before" and the last decision shown as evidence.
  await db.schema
    .createIndex("review_items_access_idx")
    .on("review_items")
    .columns(["identity_id", "access_key", "decided_at"])
    .execute();
  // Revocations still to apply or confirm.
  await db.schema
    .createIndex("review_items_removal_idx")
    .on("review_items")
    .columns(["removal_state", "removal_next_at"])
    .execute();

  await db.schema
    .createTable("review_exclusions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("identity_id", "text", (c) => c.notNull())
    .addColumn("employment", "integer", (c) => c.notNull())
    .addColumn("role", "text")
    .addColumn("system", "text")
    .addColumn("entitlement", "text")
    .addColumn("item_id", "text", (c) => c.notNull())
    .addColumn("campaign_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("lifted_at", "text")
    .addColumn("lifted_by", "text")
    .execute();
  await db.schema
    .createIndex("review_exclusions_identity_idx")
    .on("review_exclusions")
    .columns(["identity_id", "lifted_at"])
    .execute();

  // Mover micro-reviews look for identities whose attributes changed lately.
  await db.schema
    .createIndex("identities_attributes_changed_idx")
    .on("identities")
    .column("attributes_changed_at")
    .execute();

  // Each reminder, escalation or dormant notice is sent once, whoever runs the timer.
  await db.schema
    .createTable("review_notices")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("sent_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("dormant_accounts")
    .addColumn("account_id", "text", (c) => c.primaryKey())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("identity_id", "text")
    .addColumn("last_used_at", "text")
    .addColumn("noticed_at", "text", (c) => c.notNull())
    .addColumn("disable_at", "text", (c) => c.notNull())
    .addColumn("disabled_at", "text")
    .addColumn("cleared_at", "text")
    .execute();
  await db.schema
    .createIndex("dormant_accounts_due_idx")
    .on("dormant_accounts")
    .columns(["disabled_at", "cleared_at", "disable_at"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("dormant_accounts").execute();
  await db.schema.dropTable("review_notices").execute();
  await db.schema.dropIndex("identities_attributes_changed_idx").execute();
  await db.schema.dropTable("review_exclusions").execute();
  await db.schema.dropTable("review_items").execute();
  await db.schema.dropTable("review_campaigns").execute();
}
