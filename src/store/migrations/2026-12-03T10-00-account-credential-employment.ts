import type { Kysely } from "kysely";

// Issue 10, point 5: the employment of its identity in which Tenure last set an account's password
// (created it or rotated it), so a rehire's old account gets a new password before it is enabled again.
// Null: Tenure never set one (found by reconcile, or an account older than this column). Never edit
// after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("accounts").addColumn("credential_employment", "integer").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("accounts").dropColumn("credential_employment").execute();
}
