/**
 * Table types for every migration, in one place. JSON columns are TEXT holding JSON, and
 * instants are ISO-8601 TEXT, so one set of migrations serves SQLite and PostgreSQL alike.
 */
export interface IdentitiesTable {
  id: string;
  kind: string;
  source: string;
  source_key: string;
  email: string | null;
  state: string;
  attributes: string;
  employment: number;
  state_since: string;
  created_at: string;
  updated_at: string;
  last_record_id: string | null;
}

export interface SourceRecordsTable {
  id: string;
  source: string;
  record_key: string;
  row_number: number;
  content_hash: string;
  raw: string;
  attributes: string;
  received_at: string;
}

export interface AuditEventsTable {
  seq: number;
  time: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/** A single row (id = 1) holding the head of the audit chain; locking it serialises appends. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface SourceRunsTable {
  id: string;
  source: string;
  started_at: string;
  finished_at: string;
  dry_run: number;
  summary: string;
}

export interface Database {
  identities: IdentitiesTable;
  source_records: SourceRecordsTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  source_runs: SourceRunsTable;
}
