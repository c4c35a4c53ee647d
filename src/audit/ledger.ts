import { hash } from "node:crypto";
import { availableParallelism } from "node:os";
import { type Kysely, SqliteAdapter, sql, type Transaction } from "kysely";
import { InvalidInputError, TenureError } from "../shared/errors.js";
import { type BulkInsertSpec, bulkInsertThen } from "../store/bulk-insert.js";
import type { Database } from "../store/schema-types.js";
import { canonicalJson } from "./canonical-json.js";
import { latestCheckpoint } from "./ledger-checkpoints.js";
import { lockAndReadHead, takeLockedHead } from "./ledger-lock.js";
import { type RangeResult, type SeqRange, verifyRangesInWorkers } from "./sqlite-parallel-verify.js";

/** The `prevHash` of event 1 and the head's hash while the ledger is empty. */
export const GENESIS_HASH = "0".repeat(64);

/** One change to record. `time` is an ISO-8601 instant with an offset; it is stored in UTC. */
export interface AuditEventInput {
  time: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

/** A recorded event: its place in the chain, the hash of its predecessor and its own hash. */
export interface AuditEvent {
  seq: number;
  /** UTC, as Date#toISOString writes it, so text order is time order. */
  time: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** The outcome of {@link verifyLedger}. `firstBadSeq` and `problem` are set only when `ok` is false. */
export interface LedgerVerification {
  ok: boolean;
  /** Events found intact before the first problem (all of them when `ok`). */
  checked: number;
  firstBadSeq?: number;
  /** What is wrong, in plain words, naming the event. */
  problem?: string;
  /**
   * Set when older events were archived (`tenure audit archive`): the chain was verified from this
   * cut — the last archived event's seq and hash — instead of from genesis. The archive files hold the rest.
   */
  from?: { seq: number; hash: string };
}

/** Options of {@link verifyLedger}; none changes the verdict, only how it is reached. */
export interface VerifyOptions {
  /** Called after each chunk; `total` is the row count when verification started. */
  onProgress?: (checked: number, total: number) => void;
  /**
   * Rows read per query (default 5,000; 20,000 measured slower, as more of each chunk's garbage
   * survives into V8's old generation).
   */
  chunkSize?: number;
  /**
   * Worker threads for a file-backed SQLite ledger: by default one per CPU (at most 4) when it
   * holds 100,000 events or more, otherwise none; 0 turns them off. Ignored on PostgreSQL, for an
   * in-memory database and inside a transaction.
   */
  workers?: number;
}

/**
 * Every subject an identity's events are recorded under: its id (lifecycle, accounts) and
 * `identity:ID` (requests, separation of duties, reviews), so a timeline shows them all.
 */
export function identitySubjects(identityId: string): string[] {
  return [identityId, `identity:${identityId}`];
}

/** Filters of {@link queryEvents}; all given ones must match. */
export interface AuditEventFilter {
  /** One subject, or any of several (an identity's events: {@link identitySubjects}). */
  subject?: string | readonly string[];
  action?: string;
  /** Inclusive lower bound on `time` (ISO-8601). */
  since?: string;
  /** Exclusive upper bound on `time` (ISO-8601). */
  until?: string;
  /** Only events with a larger seq: pass the last seq of the previous page. */
  afterSeq?: number;
  /** At most this many events (default 1,000). */
  limit?: number;
}

type Db = Kysely<Database> | Transaction<Database>;

const DEFAULT_VERIFY_CHUNK = 5000;
const PARALLEL_MIN_EVENTS = 100_000;
const MAX_VERIFY_WORKERS = 4;
// Raw array rows are cheap to hold, but smaller chunks keep each worker's garbage young.
const PARALLEL_CHUNK_ROWS = 5000;
const DEFAULT_QUERY_LIMIT = 1000;
const UNPAIRED_SURROGATE = /\p{Cs}/u;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The hash of one event: lowercase hex SHA-256 of
 * `prevHash + "\n" + canonicalJson({ seq, time, actor, action, subject, details })`.
 *
 * `detailsJson` must be the canonical JSON of the details — the text the ledger stores — which
 * lets verification rebuild the hashed string from the stored columns without parsing them.
 * The keys below are written in JCS order (action, actor, details, seq, subject, time).
 */
export function computeEventHash(
  prevHash: string,
  event: { seq: number; time: string; actor: string; action: string; subject: string },
  detailsJson: string,
): string {
  return hashFields(prevHash, event.seq, event.time, event.actor, event.action, event.subject, detailsJson);
}

// Positional, so the verify loop hashes a million rows without allocating an object per row.
function hashFields(
  prevHash: string,
  seq: number,
  time: string,
  actor: string,
  action: string,
  subject: string,
  detailsJson: string,
): string {
  const input =
    `${prevHash}\n{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)}` +
    `,"details":${detailsJson},"seq":${seq}` +
    `,"subject":${JSON.stringify(subject)},"time":${JSON.stringify(time)}}`;
  return hash("sha256", input, "hex");
}

/**
 * Appends a batch of events to the hash chain, in array order, and returns them as recorded.
 *
 * Call it inside the caller's transaction so the events commit or roll back with the changes
 * they describe; given a plain Kysely instance it opens a transaction of its own. Either way
 * the batch and the head move atomically.
 *
 * Concurrency: the first statement updates the `audit_head` row (and reads it back), which takes its
 * row lock on PostgreSQL and the database write lock on SQLite, so concurrent appenders queue behind
 * one another and the chain stays gap-free; the lock is held until the caller's transaction ends, so
 * append as the transaction's last write: on PostgreSQL the append is then two round trips (lock and
 * read the head; insert the events and move the head in one statement) before the commit, and
 * appenders queue only for those. PostgreSQL transactions must be READ COMMITTED (the default):
 * under REPEATABLE READ a concurrent append makes this fail with a serialization error. On
 * SQLite, a transaction that read before appending can fail with SQLITE_BUSY if another
 * connection committed in between (SQLite cannot upgrade a stale snapshot); retry it.
 *
 * The whole batch is hashed in memory and inserted in bulk (store/bulk-insert.ts): 100,000 events
 * cost 27 inserts on SQLite and 20 on PostgreSQL, not 100,000 round trips.
 *
 * @throws InvalidInputError when an event is malformed (nothing is written).
 * @throws TenureError `audit_head_missing` when the head row is gone (a damaged database).
 */
export async function appendEvents(trx: Db, events: readonly AuditEventInput[]): Promise<AuditEvent[]> {
  if (events.length === 0) return [];
  const prepared = events.map(prepareEvent);
  if (!trx.isTransaction) {
    return trx.transaction().execute((own) => appendPrepared(own, prepared));
  }
  return appendPrepared(trx, prepared);
}

/**
 * Appends one event. Given a plain Kysely instance it runs in a transaction of its own; given a
 * transaction it joins it. Same contract as {@link appendEvents}.
 */
export async function appendEvent(db: Db, event: AuditEventInput): Promise<AuditEvent> {
  const [recorded] = await appendEvents(db, [event]);
  return recorded!;
}

interface PreparedEvent {
  time: string;
  actor: string;
  action: string;
  subject: string;
  detailsJson: string;
}

async function appendPrepared(trx: Db, events: PreparedEvent[]): Promise<AuditEvent[]> {
  // A transaction that locked the ledger already (lockLedger) read the head then, and holds it.
  const head = takeLockedHead(trx) ?? (await lockAndReadHead(trx));
  if (head === undefined) {
    throw new TenureError("audit_head_missing", "the audit_head row is missing; the audit ledger is damaged");
  }

  let seq = Number(head.seq);
  let prevHash = head.hash;
  const rows: Array<Record<(typeof AUDIT_INSERT.columns)[number], string | number>> = new Array(
    events.length,
  );
  const recorded: AuditEvent[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    seq += 1;
    const eventHash = hashFields(prevHash, seq, e.time, e.actor, e.action, e.subject, e.detailsJson);
    rows[i] = {
      seq,
      time: e.time,
      actor: e.actor,
      action: e.action,
      subject: e.subject,
      details: e.detailsJson,
      prev_hash: prevHash,
      hash: eventHash,
    };
    const detailsJson = e.detailsJson;
    recorded[i] = {
      seq,
      time: e.time,
      actor: e.actor,
      action: e.action,
      subject: e.subject,
      // Parsed back from the stored text, so callers see exactly what a later query returns — but
      // only when read: a sync of 100,000 people never reads them, and parsing them all cost seconds.
      get details() {
        return JSON.parse(detailsJson) as Record<string, unknown>;
      },
      prevHash,
      hash: eventHash,
    };
    prevHash = eventHash;
  }
  // Kysely's builder turns every bound value into a frozen AST node; for 100,000 events that was
  // most of the append time (and garbage), so the rows go in through the shared bulk insert:
  // multi-row statements on SQLite, one statement of 5,000 rows (a column an array) on PostgreSQL —
  // there, with the head's move in the same statement, so the lock taken above is held for two round
  // trips (and the commit) when the append ends its transaction.
  await bulkInsertThen(
    trx,
    AUDIT_INSERT,
    rows,
    trx.updateTable("audit_head").set({ seq, hash: prevHash }).where("id", "=", 1).compile(),
  );
  return recorded;
}

const AUDIT_INSERT = {
  table: "audit_events",
  columns: ["seq", "time", "actor", "action", "subject", "details", "prev_hash", "hash"],
} as const satisfies BulkInsertSpec;

function prepareEvent(event: AuditEventInput, index: number): PreparedEvent {
  const where = `audit event ${index + 1}`;
  for (const field of ["actor", "action", "subject"] as const) {
    if (typeof event[field] !== "string" || event[field] === "") {
      throw new InvalidInputError(`${where}: ${field} must be a non-empty string`);
    }
    // Neither database can store half a surrogate pair: SQLite would keep U+FFFD instead and
    // the event would no longer match its hash.
    if (UNPAIRED_SURROGATE.test(event[field])) {
      throw new InvalidInputError(`${where}: ${field} contains an unpaired surrogate (malformed text)`);
    }
  }
  const details = event.details;
  if (details === null || typeof details !== "object" || Array.isArray(details)) {
    throw new InvalidInputError(`${where}: details must be an object`);
  }
  let detailsJson: string;
  try {
    detailsJson = canonicalJson(details);
  } catch (err) {
    throw new InvalidInputError(`${where}: details cannot be recorded: ${(err as Error).message}`);
  }
  return {
    time: normaliseInstant(event.time, `${where}: time`),
    actor: event.actor,
    action: event.action,
    subject: event.subject,
    detailsJson,
  };
}

// Times are compared as text by queryEvents, which is only sound when every stored time has
// the same shape; Date#toISOString gives one (UTC, milliseconds).
// A batch's events usually share one time; the last one normalised is remembered.
let lastInstant: { value: string; normalised: string } | undefined;

function normaliseInstant(value: string, what: string): string {
  if (lastInstant?.value === value) return lastInstant.normalised;
  if (typeof value !== "string" || !ISO_INSTANT.test(value)) {
    throw new InvalidInputError(
      `${what} must be an ISO-8601 date-time with an offset, such as 2026-03-03T09:00:00Z; got ${JSON.stringify(value)}`,
    );
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) {
    throw new InvalidInputError(`${what} is not a valid date-time: ${JSON.stringify(value)}`);
  }
  lastInstant = { value, normalised: at.toISOString() };
  return lastInstant.normalised;
}

/**
 * Checks the whole chain and reports the first event that is wrong.
 *
 * Reads `audit_events` in seq order with keyset pagination (`chunkSize` rows per query, so
 * memory stays flat), and checks that seqs run 1, 2, 3… (a deleted or inserted event), that
 * each event's `prev_hash` is its predecessor's hash (reordering), and that each hash matches
 * the event's contents (edits); finally that the `audit_head` row names the last event (a
 * truncated or extended tail). After an archive (`ledger-archive.ts`) the chain starts at the latest
 * checkpoint's seq and hash instead of genesis, and the result's `from` says so.
 *
 * On a file-backed SQLite ledger of 100,000 events or more (and not inside a transaction), the
 * bulk of the chain is first checked by worker threads, each reading a slice of it through its
 * own read-only connection. They only answer "intact or not"; from the first slice that is not,
 * the ordinary sequential check takes over and names the problem, so every verdict and message
 * comes from one code path.
 *
 * What it cannot see: someone who rewrites the chain from some event onwards and moves the
 * head to match. Only a copy of the head kept elsewhere (an export, a notarised hash) catches
 * that.
 *
 * Concurrency: it reads without a long transaction, so it never holds up appenders (and never
 * holds SQLite's single Kysely connection for seconds). Events appended while it runs are
 * checked too: when the head turns out to be ahead of the last event read, it reads on, and
 * reports truncation only when the head is ahead of events that are committed.
 */
export async function verifyLedger(db: Db, options: VerifyOptions = {}): Promise<LedgerVerification> {
  const chunkSize = options.chunkSize ?? DEFAULT_VERIFY_CHUNK;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new InvalidInputError(`chunkSize must be a positive integer; got ${chunkSize}`);
  }
  const counted = await db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  const total = Number(counted.n);
  const report = (checked: number) => options.onProgress?.(checked, Math.max(total, checked));

  // After an archive, the chain left in the database links to the last archived event.
  const cut = await latestCheckpoint(db);
  const base = cut === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: cut.seq, hash: cut.hash };
  let state: ChainState = { expected: base.seq + 1, prevHash: base.hash, checked: 0, lastSeq: undefined };
  const parallel = await parallelPlan(db, total, options.workers);
  if (parallel !== undefined) {
    state = (await verifyPrefixInWorkers(db, parallel, base, report)) ?? state;
  }
  const result = await verifyFrom(db, state, chunkSize, report);
  return cut === undefined ? result : { ...result, from: base };
}

/** Where the sequential check stands: the next seq expected and the hash it must link to. */
interface ChainState {
  expected: number;
  prevHash: string;
  checked: number;
  /** Undefined before the first row: a forged event with seq 0 or below must be read, not skipped. */
  lastSeq: number | undefined;
}

async function verifyFrom(
  db: Db,
  start: ChainState,
  chunkSize: number,
  report: (checked: number) => void,
): Promise<LedgerVerification> {
  let { expected, prevHash, checked, lastSeq } = start;
  const fail = (firstBadSeq: number | undefined, problem: string, intact = checked): LedgerVerification =>
    firstBadSeq === undefined
      ? { ok: false, checked: intact, problem }
      : { ok: false, checked: intact, firstBadSeq, problem };

  for (;;) {
    // Read until the table is exhausted.
    for (;;) {
      let query = db
        .selectFrom("audit_events")
        .select(["seq", "time", "actor", "action", "subject", "details", "prev_hash", "hash"])
        .orderBy("seq")
        .limit(chunkSize);
      if (lastSeq !== undefined) query = query.where("seq", ">", lastSeq);
      const rows = await query.execute();
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== expected) {
          return seq > expected
            ? fail(expected, `event ${expected} missing: expected seq ${expected}, found ${seq} (deleted?)`)
            : fail(seq, `event ${seq}: unexpected sequence number, expected ${expected} (inserted?)`);
        }
        if (row.prev_hash !== prevHash) {
          return fail(
            seq,
            seq === 1
              ? "event 1: its previous-hash is not the genesis hash (inserted or reordered?)"
              : `event ${seq}: its previous-hash does not match the hash of event ${seq - 1} (reordered, inserted, or event ${seq - 1} edited and re-hashed?)`,
          );
        }
        if (
          hashFields(prevHash, seq, row.time, row.actor, row.action, row.subject, row.details) !== row.hash
        ) {
          return fail(seq, `event ${seq}: hash does not match its contents (edited?)`);
        }
        prevHash = row.hash;
        lastSeq = seq;
        expected = seq + 1;
        checked += 1;
      }
      if (rows.length > 0) report(checked);
      if (rows.length < chunkSize) break;
    }

    const head = await db
      .selectFrom("audit_head")
      .select(["seq", "hash"])
      .where("id", "=", 1)
      .executeTakeFirst();
    if (head === undefined) return fail(undefined, "the audit_head row is missing");
    const headSeq = Number(head.seq);
    // With nothing read yet, the chain ends where it starts: genesis, or the last archived event.
    const last = lastSeq ?? expected - 1;
    if (headSeq === last) {
      if (head.hash !== prevHash) {
        return last === 0
          ? fail(undefined, "the ledger is empty but its head hash is not the genesis hash")
          : fail(last, `event ${last}: does not match the hash recorded in the ledger head (replaced?)`);
      }
      return { ok: true, checked };
    }
    if (headSeq < last) {
      // Every append moves the head in the same transaction, so events past it were not appended.
      return fail(
        headSeq + 1,
        headSeq === last - 1
          ? `event ${last}: the ledger head ends at seq ${headSeq}, so event ${last} was added outside the ledger (forged?)`
          : `event ${headSeq + 1}: the ledger head ends at seq ${headSeq}, so events ${headSeq + 1}–${last} were added outside the ledger (forged?)`,
        checked - (last - headSeq),
      );
    }
    // The head is ahead: either events were appended after our last read, or the tail is gone.
    const more = await db
      .selectFrom("audit_events")
      .select("seq")
      .where("seq", ">", last)
      .limit(1)
      .executeTakeFirst();
    if (more === undefined) {
      return fail(
        last + 1,
        `event ${last + 1} missing: the ledger head records ${headSeq} events but the last event is ${last} (truncated?)`,
      );
    }
  }
}

interface ParallelPlan {
  file: string;
  workers: number;
}

// Worker threads pay off only for a big ledger in a file they can open themselves, and only
// outside a transaction, whose uncommitted appends other connections could not see.
async function parallelPlan(
  db: Db,
  total: number,
  requested: number | undefined,
): Promise<ParallelPlan | undefined> {
  const workers =
    requested ?? (total >= PARALLEL_MIN_EVENTS ? Math.min(availableParallelism(), MAX_VERIFY_WORKERS) : 0);
  if (workers < 1 || db.isTransaction || !(db.getExecutor().adapter instanceof SqliteAdapter)) {
    return undefined;
  }
  const { rows } = await sql<{ name: string; file: string }>`pragma database_list`.execute(db);
  const file = rows.find((r) => r.name === "main")?.file;
  return file ? { file, workers } : undefined;
}

/**
 * Checks seqs 1…head in worker slices and returns the state to resume the sequential check
 * from: past the last slice when all are intact, else at the start of the first slice that is
 * not (or does not link to the one before). Undefined means start from the beginning.
 */
async function verifyPrefixInWorkers(
  db: Db,
  plan: ParallelPlan,
  base: { seq: number; hash: string },
  report: (checked: number) => void,
): Promise<ChainState | undefined> {
  const head = await db
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirst();
  const first = await db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.min("seq").as("seq"))
    .executeTakeFirst();
  const headSeq = Number(head?.seq ?? 0);
  // Slices cover base+1…head; anything below is for the sequential check to find and explain.
  const span = headSeq - base.seq;
  if (span < 1 || Number(first?.seq) !== base.seq + 1) return undefined;

  const count = Math.min(plan.workers, span);
  const ranges: SeqRange[] = [];
  for (let i = 0; i < count; i++) {
    ranges.push({
      lo: base.seq + Math.floor((i * span) / count) + 1,
      hi: base.seq + Math.floor(((i + 1) * span) / count),
    });
  }
  let done = 0;
  let results: RangeResult[];
  try {
    results = await verifyRangesInWorkers(plan.file, ranges, {
      chunkSize: PARALLEL_CHUNK_ROWS,
      onProgress: (rows) => {
        done += rows;
        report(done);
      },
    });
  } catch {
    // The sequential check gives the same verdict, only slower.
    return undefined;
  }
  let prevHash = base.hash;
  for (let i = 0; i < ranges.length; i++) {
    const result = results[i]!;
    const range = ranges[i]!;
    if (!result.ok || result.firstPrevHash !== prevHash) {
      return range.lo === base.seq + 1
        ? undefined
        : { expected: range.lo, prevHash, checked: range.lo - 1 - base.seq, lastSeq: range.lo - 1 };
    }
    prevHash = result.lastHash;
  }
  return { expected: headSeq + 1, prevHash, checked: span, lastSeq: headSeq };
}

/**
 * The first and last seq still in the ledger (null: none). Two reads of the key's ends: SQLite answers
 * `min(seq), max(seq)` in one query by scanning every row (seconds at ten million events), each alone
 * from the index.
 */
export async function ledgerSeqBounds(db: Db): Promise<{ first: number; last: number } | null> {
  const edge = (order: "asc" | "desc") =>
    db.selectFrom("audit_events").select("seq").orderBy("seq", order).limit(1).executeTakeFirst();
  const first = await edge("asc");
  const last = await edge("desc");
  return first === undefined || last === undefined
    ? null
    : { first: Number(first.seq), last: Number(last.seq) };
}
/**
 * Events in seq order matching every given filter, for timelines and evidence. Page with
 * `afterSeq` (the last seq of the previous page) and `limit`. Reads only; safe at any time.
 */
export async function queryEvents(db: Db, filter: AuditEventFilter = {}): Promise<AuditEvent[]> {
  const limit = filter.limit ?? DEFAULT_QUERY_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidInputError(`limit must be a positive integer; got ${limit}`);
  }
  let query = db.selectFrom("audit_events").selectAll().orderBy("seq").limit(limit);
  const subject = filter.subject;
  if (typeof subject === "string") query = query.where("subject", "=", subject);
  else if (subject !== undefined) {
    if (subject.length === 0) return [];
    query = query.where("subject", "in", subject);
  }
  if (filter.action !== undefined) query = query.where("action", "=", filter.action);
  if (filter.since !== undefined) query = query.where("time", ">=", normaliseInstant(filter.since, "since"));
  if (filter.until !== undefined) query = query.where("time", "<", normaliseInstant(filter.until, "until"));
  if (filter.afterSeq !== undefined) query = query.where("seq", ">", filter.afterSeq);
  const rows = await query.execute();
  return rows.map((row) => ({
    seq: Number(row.seq),
    time: row.time,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  }));
}
