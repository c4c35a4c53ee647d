import type { Kysely } from "kysely";

// Issue 17, item 3: a disabled NHI's account, held disabled in its target (domain/nhi-account.ts): one row
// per NHI while it is disabled — `held` (its disable queued, or the account disabled already) or
// `unenforced` (Tenure cannot switch the credential off: `why`). Deleted when the NHI is enabled again; the
// ledger keeps the history. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("nhi_account_holds")
    .addColumn("nhi_id", "text", (c) => c.primaryKey())
    .addColumn("system", "text")
    .addColumn("username", "text")
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("why", "text")
    // 1 / 0, or null when Tenure had no record of the account.
    .addColumn("was_enabled", "integer")
    .addColumn("held_at", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("nhi_account_holds").execute();
}
