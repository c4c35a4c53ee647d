import { type Kysely, sql } from "kysely";

// Issue 15 (performance): a full separation-of-duties scan reads a few attributes of every identity in
// PostgreSQL (store/sod-scan-repository.ts `population`); parsing each identity's attributes text for
// them was a third of that read's backend CPU (0.43 of 1.2 s at 100,000 identities). PostgreSQL keeps
// them parsed as well, in a generated jsonb column it maintains on every write, and the read looks them
// up (0.13 s). The same for accounts' entitlements, which the read unnests (about 0.12 s more).
// Identities and accounts are read by the columns they are made of (IDENTITY_READ_COLUMNS,
// ACCOUNT_COLUMNS), never `select *`: the copies are not sent to readers that do not use them. SQLite
// reads in the process and parses as before: nothing changes there. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  if (!sql`select ${1}`.compile(db).sql.includes("$1")) return;
  await sql`alter table identities add column attributes_jsonb jsonb generated always as (attributes::jsonb) stored`.execute(
    db,
  );
  await sql`alter table accounts add column entitlements_jsonb jsonb generated always as (entitlements::jsonb) stored`.execute(
    db,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  if (!sql`select ${1}`.compile(db).sql.includes("$1")) return;
  await sql`alter table accounts drop column entitlements_jsonb`.execute(db);
  await sql`alter table identities drop column attributes_jsonb`.execute(db);
}
