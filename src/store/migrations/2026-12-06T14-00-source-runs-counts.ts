import { type Kysely, sql } from "kysely";

// Issue 19 item 0: a sync stored every identity of the run (and every change and finding) in its one
// `source_runs.summary` row — about 70 MB for 100,000 people, read whole by each /metrics scrape that
// looks at the last run. Runs now store counts only (engine/sync-write.ts finishSourceRun); this
// rewrites the rows earlier versions wrote the same way: `identities` and `changes` dropped, `findings`
// the number of findings. The identities and changes are in their tables and the ledger already.
// Irreversible (`down` keeps the counts). Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  if (sql`select ${1}`.compile(db).sql.includes("$1")) {
    await sql`
      update source_runs set summary = (
        (summary::jsonb - 'identities' - 'changes')
        || jsonb_build_object('findings', jsonb_array_length(summary::jsonb -> 'findings'))
      )::text
      where jsonb_typeof(summary::jsonb -> 'findings') = 'array'`.execute(db);
    await sql`
      update source_runs set summary = (summary::jsonb - 'identities' - 'changes')::text
      where summary::jsonb -> 'identities' is not null or summary::jsonb -> 'changes' is not null`.execute(
      db,
    );
    return;
  }
  await sql`
    update source_runs
    set summary = json_set(json_remove(summary, '$.identities', '$.changes'), '$.findings', json_array_length(summary, '$.findings'))
    where json_type(summary, '$.findings') = 'array'`.execute(db);
  await sql`
    update source_runs set summary = json_remove(summary, '$.identities', '$.changes')
    where json_type(summary, '$.identities') is not null or json_type(summary, '$.changes') is not null`.execute(
    db,
  );
}

export async function down(): Promise<void> {
  // What was dropped is in the identities, source_records and audit_events tables; nothing to restore.
}
