import type { Kysely } from "kysely";

// Issue 13: console sessions (an http-only cookie names one) and one-time sign-in links (`tenure demo`,
// `tenure console link`). Only SHA-256 hashes of the cookie value and of the link code are stored, so the
// tables alone sign nobody in. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("console_sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("csrf_token", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("identity_id", "text")
    .addColumn("via", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("ended_at", "text")
    .addUniqueConstraint("console_sessions_secret_uq", ["secret_hash"])
    .execute();
  await db.schema
    .createTable("console_sign_in_links")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("code_hash", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .addUniqueConstraint("console_sign_in_links_code_uq", ["code_hash"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("console_sign_in_links").execute();
  await db.schema.dropTable("console_sessions").execute();
}
