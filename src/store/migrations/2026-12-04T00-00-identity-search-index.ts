import { type Kysely, sql } from "kysely";

// Issue 13 (performance): a search of the identities listing (`search_text like '%term%'`) read the
// whole table when few identities matched — 118 ms at 100,000 identities on SQLite, over a second at a
// million. A trigram index answers a substring search from the index instead:
// - SQLite: an FTS5 table with the trigram tokenizer over identities.search_text (external content,
//   kept in step by triggers), which the listing asks with a phrase query;
// - PostgreSQL: a GIN index with pg_trgm's operator class, which `like '%term%'` uses as it is. Where the
//   extension cannot be created (no privilege), the index is left out and a search scans, as before.
// Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  if (sql`select ${1}`.compile(db).sql.includes("$1")) {
    await postgresIndex(db);
    return;
  }
  await sql`create virtual table identities_search using fts5(search_text, content='identities', content_rowid='rowid', tokenize='trigram')`.execute(
    db,
  );
  await sql`insert into identities_search(identities_search) values ('rebuild')`.execute(db);
  await sql`create trigger identities_search_insert after insert on identities begin
    insert into identities_search(rowid, search_text) values (new.rowid, new.search_text);
  end`.execute(db);
  await sql`create trigger identities_search_delete after delete on identities begin
    insert into identities_search(identities_search, rowid, search_text) values ('delete', old.rowid, old.search_text);
  end`.execute(db);
  await sql`create trigger identities_search_update after update of search_text on identities begin
    insert into identities_search(identities_search, rowid, search_text) values ('delete', old.rowid, old.search_text);
    insert into identities_search(rowid, search_text) values (new.rowid, new.search_text);
  end`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
async function postgresIndex(db: Kysely<any>): Promise<void> {
  // In a savepoint: a refused `create extension` must not abort the migration's transaction.
  await sql`savepoint tenure_pg_trgm`.execute(db);
  try {
    // In public, beside every schema a Tenure store may use: one extension serves them all.
    await sql`create extension if not exists pg_trgm with schema public`.execute(db);
    await sql`release savepoint tenure_pg_trgm`.execute(db);
  } catch {
    await sql`rollback to savepoint tenure_pg_trgm`.execute(db);
  }
  const found = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm'`.execute(db);
  const schema = found.rows[0]?.schema;
  if (schema === undefined) return;
  await sql`create index identities_search_trgm_idx on identities using gin (search_text ${sql.id(schema)}.gin_trgm_ops)`.execute(
    db,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  if (sql`select ${1}`.compile(db).sql.includes("$1")) {
    await sql`drop index if exists identities_search_trgm_idx`.execute(db);
    return;
  }
  await sql`drop trigger if exists identities_search_update`.execute(db);
  await sql`drop trigger if exists identities_search_delete`.execute(db);
  await sql`drop trigger if exists identities_search_insert`.execute(db);
  await sql`drop table if exists identities_search`.execute(db);
}
