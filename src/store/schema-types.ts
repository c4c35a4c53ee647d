import type { Kysely, Transaction } from "kysely";

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
  previous_attributes: string | null;
  attributes_changed_at: string | null;
  /** The department attribute, beside the JSON so the listing filters on it in SQL. */
  department: string | null;
  /** Lowercased source key, email, display name and id, one per line: what a listing search matches. */
  search_text: string;
}

export interface UnprovisionedTable {
  identity_id: string;
  system: string;
  kind: string;
  message: string;
  recorded_at: string;
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

/** A signed ledger head Tenure published (src/audit/ledger-publish.ts), with the sinks still owed it. */
export interface LedgerHeadsTable {
  id: string;
  seq: number;
  hash: string;
  time: string;
  key_id: string;
  signature: string;
  published_at: string;
  /** JSON array of sink ids not yet delivered to; '[]' when every sink has it. */
  pending_sinks: string;
  last_error: string | null;
}

/** A point-in-time access checkpoint (src/audit/point-in-time.ts): the account journal replayed to `seq`. */
export interface AccessCheckpointsTable {
  seq: number;
  /** The latest event time up to `seq` (ISO, UTC): the checkpoint answers for instants from then on. */
  covers_until: string;
  created_at: string;
  accounts: number;
}

/** One system's accounts in an access checkpoint: JSON (src/audit/access-checkpoint-slices.ts). */
export interface AccessCheckpointAccountsTable {
  seq: number;
  system: string;
  state: string;
}

/**
 * What was last asked of one (system, entitlement) in an access checkpoint — entitlement '' for the
 * accounts themselves: compact JSON, each "why" once (src/audit/access-checkpoint-slices.ts).
 */
export interface AccessCheckpointDesiredTable {
  seq: number;
  system: string;
  entitlement: string;
  state: string;
}

/** An archived segment of the ledger (src/audit/ledger-archive.ts): verification starts after the latest. */
export interface LedgerCheckpointsTable {
  /** The last archived event. */
  seq: number;
  hash: string;
  first_seq: number;
  events: number;
  archived_at: string;
  /** Absolute path of the archive file as written. */
  file: string;
  /** SHA-256 (hex) of the archive file. */
  sha256: string;
}

export interface SourceRunsTable {
  id: string;
  source: string;
  started_at: string;
  finished_at: string;
  dry_run: number;
  summary: string;
}

export interface AccountsTable {
  id: string;
  system: string;
  native_id: string | null;
  username: string;
  identity_id: string | null;
  enabled: number;
  attributes: string;
  entitlements: string;
  managed_entitlements: string;
  managed: number;
  vanished_at: string | null;
  last_seen_at: string | null;
  last_used_at: string | null;
  updated_at: string;
  /** The identity's employment in which Tenure last set the password; null: never. */
  credential_employment: number | null;
}

export interface AccountLinksTable {
  identity_id: string;
  system: string;
  username: string;
  created_at: string;
}

export interface OperationsTable {
  id: string;
  system: string;
  kind: string;
  identity_id: string | null;
  username: string;
  native_id: string | null;
  entitlement: string | null;
  payload: string;
  lineage: string;
  reason: string;
  idempotency_key: string;
  state: string;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  claimed_by: string | null;
  claim_expires_at: string | null;
  /** The host and process id of the claim's holder (null: not recorded); see claim-owner-repository.ts. */
  claim_host: string | null;
  claim_pid: number | null;
  /** Order within the plan that queued it: operations of one identity and system run in this order. */
  seq: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** The trace that queued it (an HTTP request id, a CLI run id, a scheduled run); null: none known. */
  trace_id: string | null;
}

export interface AssignmentsTable {
  id: string;
  identity_id: string;
  role: string | null;
  system: string | null;
  entitlement: string | null;
  employment: number;
  valid_from: string;
  valid_until: string | null;
  reason: string;
  approved_by: string | null;
  created_at: string;
  revoked_at: string | null;
  /** The access request that granted it; null for an admin's assignment. */
  request_id: string | null;
  /** When its end (expiry or revocation) was confirmed by reading every target back. */
  ended_at: string | null;
  /** JSON: the read-back receipt of its end. */
  end_receipt: string | null;
  /** When an end the targets did not confirm was alerted (once). */
  end_alerted_at: string | null;
}

/** Every workflow event id accepted: a second delivery of the same id is a replay. */
export interface WorkflowEventsTable {
  workflow: string;
  event_id: string;
  received_at: string;
}

/** The elevations an opened workflow (an incident) granted: its closing revokes exactly these. */
export interface WorkflowGrantsTable {
  workflow: string;
  incident: string;
  request_id: string;
  identity_id: string;
  opened_at: string;
  closed_at: string | null;
}

/** An approver's decisions handed to someone else for a window (while away). */
export interface DelegationsTable {
  id: string;
  delegator_id: string;
  delegate_id: string;
  valid_from: string;
  valid_until: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

export interface SodViolationsTable {
  id: string;
  identity_id: string;
  rule: string;
  severity: string;
  /** 1 while the newer access is kept out of the plan (`onBirthrightConflict: withhold`). */
  withheld: number;
  /** JSON: the colliding access and why it is held (ViolationSideRecord[]). */
  sides: string;
  held_from: string;
  held_until: string | null;
  opened_at: string;
  last_seen_at: string;
  closed_at: string | null;
  close_reason: string | null;
}

export interface SodExceptionsTable {
  id: string;
  identity_id: string;
  rule: string;
  violation_id: string | null;
  request_id: string | null;
  control: string;
  justification: string;
  approved_by: string;
  approved_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  /** When its end (expiry or revocation) was processed: the violation back, its owner told. */
  ended_at: string | null;
}

export interface SodScansTable {
  id: string;
  at: string;
  kind: string;
  identities: number;
  open: number;
  opened: number;
  closed: number;
  by_severity: string;
  duration_ms: number;
}

/** A recertification campaign: one run of a `reviews.campaigns` definition (or a mover micro-review). */
export interface ReviewCampaignsTable {
  id: string;
  /** The definition's name in tenure.yaml (`mover` for a mover micro-review). */
  definition: string;
  /** `scheduled`, `ad-hoc` or `mover`. */
  kind: string;
  /** `open` or `closed`. */
  status: string;
  /** JSON: the definition as it was at the start (a later config change does not move the goalposts). */
  settings: string;
  /** A mover micro-review: the identity who moved. */
  subject_identity_id: string | null;
  started_at: string;
  started_by: string;
  deadline: string;
  closed_at: string | null;
  closed_by: string | null;
  items: number;
}

/** One (identity, access) under review: its risk, evidence, reviewer, decision and removal. */
export interface ReviewItemsTable {
  id: string;
  campaign_id: string;
  identity_id: string;
  /** `role:NAME` or `entitlement:SYSTEM:KEY`: the access, comparable across campaigns. */
  access_key: string;
  role: string | null;
  system: string | null;
  entitlement: string | null;
  /** ReviewSource: `birthright`, `assignment`, `mover-grace` or `found`. */
  source: string;
  assignment_id: string | null;
  privileged: number;
  risk_score: number;
  risk_level: string;
  /** JSON: RiskReason[], each a code alone where its words derive (domain/review-item-codec.ts). */
  reasons: string;
  recommendation: string;
  /** JSON: ReviewItemEvidence, as a compact array (domain/review-item-codec.ts). */
  evidence: string;
  /** 0 for the first stage, 1 for the second. */
  stage: number;
  /** Who reviews it now; null when nobody could be found (an admin must assign one). */
  reviewer_id: string | null;
  /** Who the stage's rule named, when someone else reviews it (self-review, delegation, escalation). */
  rule_reviewer_id: string | null;
  reroute_reason: string | null;
  /** ReviewItemState. */
  state: string;
  decided_by: string | null;
  decided_at: string | null;
  comment: string | null;
  /** 1 when decided in a bulk decision. */
  bulk: number;
  /** RemovalState of a revocation; null otherwise. */
  removal_state: string | null;
  removal_detail: string | null;
  removal_attempts: number;
  removal_next_at: string | null;
  /** When the target was read back without the access. */
  confirmed_at: string | null;
  /** Bumped by every change: two reviewers deciding at once, exactly one wins. */
  version: number;
  created_at: string;
  /** The pack of a campaign's packed items it was written out of when it first changed; null otherwise. */
  pack: number | null;
}

/**
 * A campaign's fresh items, packed: one row per (campaign, identity, first-stage reviewer), the items a
 * compact JSON array (store/review-pack-codec.ts). An item that changes is written out to review_items,
 * whose row then overrides its packed copy.
 */
export interface ReviewItemPacksTable {
  campaign_id: string;
  /** 0… within the campaign; an item's id is `CAMPAIGN.PACK.INDEX`. */
  pack: number;
  identity_id: string;
  reviewer_id: string | null;
  item_count: number;
  /** Items whose risk level is high. */
  high_count: number;
  max_score: number;
  items: string;
  created_at: string;
}

/** Birthright access a reviewer revoked: the plan keeps it away from this identity until lifted. */
export interface ReviewExclusionsTable {
  id: string;
  identity_id: string;
  /** The employment it was decided in: a rehire starts clean. */
  employment: number;
  role: string | null;
  system: string | null;
  entitlement: string | null;
  item_id: string;
  campaign_id: string;
  created_at: string;
  created_by: string;
  lifted_at: string | null;
  lifted_by: string | null;
}

/** A reminder, escalation or notice already sent, by a key naming what and to whom. */
export interface ReviewNoticesTable {
  key: string;
  sent_at: string;
}

/** An account unused past its system's dormant policy: noticed, then disabled at `disable_at`. */
export interface DormantAccountsTable {
  account_id: string;
  system: string;
  identity_id: string | null;
  last_used_at: string | null;
  noticed_at: string;
  disable_at: string;
  disabled_at: string | null;
  /** Used again (or gone) before the disable: the notice no longer applies. */
  cleared_at: string | null;
}

export interface ReconcileRunsTable {
  id: string;
  system: string;
  started_at: string;
  finished_at: string;
  summary: string;
}

/** An API bearer token: only its SHA-256 hash is stored; `prefix` is the start of the token, for display. */
export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  token_hash: string;
  prefix: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  /** The identity the token stands for; null for a machine's token. */
  identity_id: string | null;
}

/** An access request: its items, steps and decisions in `body` (JSON), changed whole under `version`. */
export interface AccessRequestsTable {
  id: string;
  requester_id: string;
  beneficiary_id: string;
  state: string;
  body: string;
  submitted_at: string;
  expires_at: string;
  closed_at: string | null;
  version: number;
}

/** Who may decide the current step of a pending request: an approver's inbox, by index. */
export interface AccessRequestApproversTable {
  approver_id: string;
  request_id: string;
}

/** A console session: the cookie holds the secret, the store its SHA-256 hash. */
export interface ConsoleSessionsTable {
  id: string;
  secret_hash: string;
  /** Sent back in `x-csrf-token` by the console on every request that changes something. */
  csrf_token: string;
  name: string;
  role: string;
  identity_id: string | null;
  /** How the person signed in: `token`, `oidc` or `link`. */
  via: string;
  created_at: string;
  expires_at: string;
  ended_at: string | null;
}

/** A one-time sign-in link: used once, within minutes; only the code's hash is stored. */
export interface ConsoleSignInLinksTable {
  id: string;
  code_hash: string;
  name: string;
  role: string;
  created_at: string;
  created_by: string;
  expires_at: string;
  used_at: string | null;
}

/**
 * The notification outbox: one message to one channel target. `recipient` names the target (email
 * addresses joined by ", ", or a webhook's name under `notify.webhooks`), never a URL: webhook URLs
 * carry tokens, so they stay in the config and are looked up when the message is sent.
 */
export interface NotificationsTable {
  id: string;
  event: string;
  dedupe_key: string;
  channel: string;
  recipient: string;
  subject: string;
  body: string;
  payload: string;
  state: string;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string;
  claimed_by: string | null;
  claim_expires_at: string | null;
  /** The host and process id of the claim's holder (null: not recorded); see claim-owner-repository.ts. */
  claim_host: string | null;
  claim_pid: number | null;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

/**
 * A task: an operation of a manual system handed to a person. `state` is open, done or cancelled;
 * `done_at` is when the person said it was done, which is when the operation really finished.
 */
export interface TasksTable {
  id: string;
  operation_id: string;
  system: string;
  kind: string;
  identity_id: string | null;
  username: string;
  entitlement: string | null;
  instructions: string;
  fulfiller: string;
  state: string;
  created_at: string;
  due_at: string;
  done_at: string | null;
  done_by: string | null;
  note: string | null;
  overdue_notified_at: string | null;
}

/**
 * A resource of Tenure's SCIM server (a User or a Group) as the client wrote it, canonicalised. `name`
 * is a User's userName or a Group's displayName and `name_key` its compared form (NFC, trimmed, lower case; unique per type);
 * `person_key` is a User's key in the push source. `json` holds the whole resource but `meta`.
 */
export interface ScimResourcesTable {
  id: string;
  type: string;
  name: string;
  name_key: string;
  external_id: string | null;
  person_key: string | null;
  version: number;
  json: string;
  created: string;
  last_modified: string;
}

/**
 * The scheduler's memory: one row per job (`lifecycle`, `reconcile:ldap`, `notify`, …) with the last due
 * time it handled (`last_due`, ISO-8601) and how that run went. `status` is succeeded or failed;
 * `caught_up` is 1 when the run made up for slots missed while it could not run (it started late).
 */
export interface ScheduleRunsTable {
  job: string;
  pattern: string;
  last_due: string;
  started_at: string;
  finished_at: string;
  status: string;
  late_seconds: number;
  caught_up: number;
  summary: string | null;
  error: string | null;
  runs: number;
  failures: number;
}

/**
 * A run lock's holder (src/store/run-lock.ts): one row per run name (`sync`) while a process runs it.
 * On SQLite the row is the lock; on PostgreSQL the lock is an advisory lock and the row only says who.
 */
export interface RunLocksTable {
  name: string;
  token: string;
  pid: number;
  host: string;
  command: string;
  acquired_at: string;
}

/** What a repository function runs on: the database, or a transaction the caller holds. */
export type Db = Kysely<Database> | Transaction<Database>;

/** Each configuration Tenure ran with (engine/config-versions.ts): the text as stored, secrets redacted. */
export interface ConfigVersionsTable {
  /** SHA-256 (hex) of `text`. */
  hash: string;
  path: string;
  text: string;
  first_loaded_at: string;
  last_loaded_at: string;
}

/** Credential rotations of non-human identities (issue 17, item 4); never the secret. */
export interface NhiRotationsTable {
  id: string;
  nhi_id: string;
  system: string;
  username: string;
  /** started | delivered | set | verified | retired | done | failed (domain/rotation-steps.ts). */
  state: string;
  /** deliver | set | verify | retire, when it failed. */
  failed_step: string | null;
  /** Why it failed and which credential is in force; never a secret. */
  error: string | null;
  started_at: string;
  updated_at: string;
  /** Null while it runs: a second rotation of the NHI is refused until then. */
  finished_at: string | null;
  actor: string;
  /** scheduled | on-demand */
  reason: string;
}

/** Non-human identities (issue 17): the inventory's record beside the `kind: service` identity. */
export interface NonHumanIdentitiesTable {
  /** = identities.id */
  identity_id: string;
  name: string;
  /** service_account | api_key | oauth_app | certificate | agent */
  type: string;
  system: string | null;
  purpose: string | null;
  /** The owner as the inventory names it (source key, email or id). */
  owner_key: string | null;
  /** The owner in force, an identity id. */
  owner_id: string | null;
  owner_since: string | null;
  /** JSON array of source keys. */
  co_owner_keys: string;
  created_on: string | null;
  last_rotated_at: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  /** JSON array. */
  scopes: string;
  /** JSON object: scope → when it was last used, where known. */
  scope_last_used: string;
  /** An owner assigned by hand: when and by whom (null: the inventory's owner), and the co-owners (JSON). */
  owner_assigned_at: string | null;
  owner_assigned_by: string | null;
  assigned_co_owner_keys: string | null;
  /** JSON array of SYSTEM:KEY. */
  entitlements: string;
  /** config | file | discovered */
  origin: string;
  /** A discovered NHI's account username in `system`. */
  account: string | null;
  pending_owner_id: string | null;
  pending_since: string | null;
  pending_deadline: string | null;
  ownerless_reason: string | null;
  disabled_reason: string | null;
  disabled_at: string | null;
  removed_at: string | null;
  created_at: string;
  updated_at: string;
  /** Optimistic check: every write increments it. */
  version: number;
  /** domain/nhi-digest.ts of the inventory's fields, written with every write; null: not known yet. */
  inventory_digest: string | null;
}

/** A disabled NHI's account held disabled in its target (issue 17, item 3; domain/nhi-account.ts). */
export interface NhiAccountHoldsTable {
  /** = non_human_identities.identity_id */
  nhi_id: string;
  system: string | null;
  username: string | null;
  /** held | unenforced */
  state: string;
  why: string | null;
  /** 1 / 0; null: the account was not recorded when held. */
  was_enabled: number | null;
  held_at: string;
  reason: string;
}

export interface Database {
  identities: IdentitiesTable;
  unprovisioned: UnprovisionedTable;
  source_records: SourceRecordsTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  ledger_heads: LedgerHeadsTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  access_checkpoints: AccessCheckpointsTable;
  access_checkpoint_accounts: AccessCheckpointAccountsTable;
  access_checkpoint_desired: AccessCheckpointDesiredTable;
  source_runs: SourceRunsTable;
  accounts: AccountsTable;
  account_links: AccountLinksTable;
  operations: OperationsTable;
  assignments: AssignmentsTable;
  reconcile_runs: ReconcileRunsTable;
  tasks: TasksTable;
  notifications: NotificationsTable;
  api_tokens: ApiTokensTable;
  console_sessions: ConsoleSessionsTable;
  access_requests: AccessRequestsTable;
  access_request_approvers: AccessRequestApproversTable;
  workflow_events: WorkflowEventsTable;
  delegations: DelegationsTable;
  sod_violations: SodViolationsTable;
  sod_exceptions: SodExceptionsTable;
  sod_scans: SodScansTable;
  review_campaigns: ReviewCampaignsTable;
  review_items: ReviewItemsTable;
  review_item_packs: ReviewItemPacksTable;
  review_exclusions: ReviewExclusionsTable;
  review_notices: ReviewNoticesTable;
  dormant_accounts: DormantAccountsTable;
  workflow_grants: WorkflowGrantsTable;
  console_sign_in_links: ConsoleSignInLinksTable;
  scim_resources: ScimResourcesTable;
  schedule_runs: ScheduleRunsTable;
  run_locks: RunLocksTable;
  config_versions: ConfigVersionsTable;
  nhi_rotations: NhiRotationsTable;
  non_human_identities: NonHumanIdentitiesTable;
  nhi_account_holds: NhiAccountHoldsTable;
}
