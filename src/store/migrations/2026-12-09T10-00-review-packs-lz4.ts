import { type Kysely, sql } from "kysely";

// Issue 16 (performance): PostgreSQL compresses every review pack's items text (about 1.9 kB of JSON a
// pack, a campaign of 100,000 identities writes 100,000 of them) with its default, pglz. lz4 does the
// same in less of the server's CPU: inserting one such campaign's packs took 2.04 s against 2.85 –
// 2.89 s, alternating (the packs 3 % larger), and a reviewer's page reads its packs back faster.
// Packs written before keep pglz; PostgreSQL reads both. A server built without lz4 keeps pglz. SQLite
// does not compress: nothing changes there. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  if (!sql`select ${1}`.compile(db).sql.includes("$1")) return;
  const { rows } = await sql<{ lz4: boolean }>`select 'lz4' = any(enumvals) as lz4 from pg_settings
    where name = 'default_toast_compression'`.execute(db);
  if (rows[0]?.lz4 !== true) return;
  await sql`alter table review_item_packs alter column items set compression lz4`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  if (!sql`select ${1}`.compile(db).sql.includes("$1")) return;
  await sql`alter table review_item_packs alter column items set compression default`.execute(db);
}
