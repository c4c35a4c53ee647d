import type { Kysely } from "kysely";

// Issue 10 point 8: a claim records the process that holds it (host name and pid), so the claims of a
// process that died can be given back at the next start on that host instead of waiting out their lease.
// Null for claims made before this migration, or by a caller that names no process: those wait for
// their lease as before. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ["operations", "notifications"]) {
    await db.schema.alterTable(table).addColumn("claim_host", "text").execute();
    await db.schema.alterTable(table).addColumn("claim_pid", "integer").execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ["operations", "notifications"]) {
    await db.schema.alterTable(table).dropColumn("claim_pid").execute();
    await db.schema.alterTable(table).dropColumn("claim_host").execute();
  }
}
