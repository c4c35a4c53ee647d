import type { Kysely } from "kysely";

// An API token may stand for an identity (`tenure token create --identity KEY`): who decides as a
// person — a console sign-in with the token, and the requests and approvals of issue 14 — and the
// token stops working when that identity is terminated. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_tokens").addColumn("identity_id", "text").execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_tokens").dropColumn("identity_id").execute();
}
