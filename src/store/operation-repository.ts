import { type Selectable, sql } from "kysely";
import type { Lineage, OperationKind, PlannedOperation } from "../domain/access-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { type ClaimOptions, claimOperationRows } from "./operation-claim.js";
import { OPEN_STATES, OPERATION_STATES, type OperationState } from "./operation-states.js";
import type { Db, OperationsTable } from "./schema-types.js";

export type { ClaimOptions } from "./operation-claim.js";
export { OPEN_STATES, OPERATION_STATES, type OperationState } from "./operation-states.js";

/** One durable operation row, as the engine and the interfaces read it: the planned change and its progress. */
export interface OperationRecord extends PlannedOperation {
  id: string;
  state: OperationState;
  /** Executions started: incremented by each claim, reset by `retryDead`. */
  attempts: number;
  maxAttempts: number;
  /** When a failed operation is due again (ISO-8601); for other states the time it was last scheduled. */
  nextAttemptAt: string;
  /** The last failure, already free of secrets (connector messages redact them). */
  lastError: string | null;
  claimedBy: string | null;
  claimExpiresAt: string | null;
  /** Plan order; operations of one identity in one system run in ascending seq. */
  seq: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /**
   * The trace that queued it: the HTTP request id of a push (the caller's `x-request-id` or `traceparent`
   * trace id when it sent one), the run id of a CLI `sync` / `apply`, or a scheduled job's run. Log lines
   * about it carry the same `traceId`. Null when queued outside a trace.
   */
  traceId: string | null;
}

interface Payload {
  attributes: Record<string, string | null> | null;
  enabled: boolean | null;
  drift?: boolean;
}

export interface EnqueueContext {
  now: Date;
  /** The `retry.maxAttempts` of a system, stored on each row so a later config change does not reshape queued work. */
  maxAttemptsFor(system: string): number;
  /** Stored on every row inserted (OperationRecord.traceId); absent: null. */
  traceId?: string | null;
  /** Per operation, the trace id stored on its row instead of `traceId` (grouped pushes). */
  traceIdOf?: (op: PlannedOperation) => string | null;
}

export interface EnqueueResult {
  /** The rows inserted, in plan order. */
  queued: OperationRecord[];
  /** Operations skipped because an open operation with the same idempotency key exists (or repeats in `ops`). */
  alreadyQueued: PlannedOperation[];
}

export interface OperationFilter {
  state?: OperationState;
  system?: string;
  identityId?: string;
  /** Only the operations queued under this trace id. */
  traceId?: string;
  /** Keyset cursor: only operations after this one in queue order (seq, then id). */
  after?: { seq: number; id: string };
  /** Default 100. */
  limit?: number;
}

export interface MarkFailedInput {
  now: Date;
  workerId: string;
  /** Stored as `last_error`; must already be free of secrets. */
  error: string;
  /** False sends the operation to `dead` at once. */
  retryable: boolean;
  /** When a retry becomes due; ignored when the operation goes dead. */
  nextAttemptAt: Date;
}

// 23 columns a row: 1,000 rows stay under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
const CHUNK = 1000;
/**
 * The open states written into the SQL as literals, for the lookups by idempotency key: the partial
 * unique index operations_open_key_uq covers `state in ('pending', 'running', 'failed', 'awaiting')`,
 * and a planner uses a partial index only when it can prove the query's filter implies its predicate.
 * With the states as parameters it cannot — PostgreSQL's generic plan of a named statement
 * (pg-prepared.ts), SQLite's bound variables — and each push's lookup scanned every operation ever
 * queued (issue 19: 12 ms at 12,000 operations, growing with them).
 */
const OPEN_LITERALS = OPEN_STATES.map((state) => sql.lit(state));

function fromRow(r: Selectable<OperationsTable>): OperationRecord {
  const payload = JSON.parse(r.payload) as Payload;
  return {
    id: r.id,
    system: r.system,
    kind: r.kind as OperationKind,
    identityId: r.identity_id,
    username: r.username,
    nativeId: r.native_id,
    entitlement: r.entitlement,
    attributes: payload.attributes ?? null,
    enabled: payload.enabled ?? null,
    drift: payload.drift === true,
    lineage: JSON.parse(r.lineage) as Lineage[],
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    state: r.state as OperationState,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    claimedBy: r.claimed_by,
    claimExpiresAt: r.claim_expires_at,
    seq: Number(r.seq),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    traceId: r.trace_id ?? null,
  };
}

/** Claim order: one identity's operations in one system stay together and in plan order. */
function byClaimOrder(a: OperationRecord, b: OperationRecord): number {
  const ka = a.identityId ?? "";
  const kb = b.identityId ?? "";
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.system !== b.system) return a.system < b.system ? -1 : 1;
  if (a.seq !== b.seq) return a.seq - b.seq;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Applies `set` to those of `ids` that are `running` under `workerId`'s claim, one statement per chunk,
 * and returns their ids: the operations whose result this worker may still record.
 */
async function settleClaims(
  db: Db,
  ids: readonly string[],
  workerId: string,
  set: Partial<OperationsTable>,
): Promise<Set<string>> {
  const held = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db
      .updateTable("operations")
      .set(set)
      .where("id", "in", ids.slice(i, i + CHUNK))
      .where("state", "=", "running")
      .where("claimed_by", "=", workerId)
      .returning("id")
      .execute();
    for (const row of rows) held.add(row.id);
  }
  return held;
}

/**
 * Durable operations: the unit of work of provisioning (docs/architecture.md "Data flow"). Functions take a db or a
 * transaction, so the engine can record an outcome, the account it changed and its audit event atomically.
 *
 * Lifecycle: `pending` → (claim) `running` → `succeeded`, or `failed` (retry due at `next_attempt_at`,
 * claimed again then) → … → `dead` when attempts are exhausted or the error cannot be retried. `dead`
 * needs a person: `retryDead` puts it back to `pending`. A manual system's operation goes from `running`
 * to `awaiting` (a task for a person, `markAwaitingMany`) and stays open, unclaimable, until the task is
 * done (`completeAwaiting` → `succeeded`) or cancelled (`cancelAwaiting` → `dead`). A `running` row whose claim expired is claimed
 * again by anyone, which is how work survives a crashed worker; connectors are idempotent, so running an
 * operation a second time after a crash between the write and its record is a no-op.
 */
export const operationRepository = {
  /**
   * Inserts planned operations as `pending`, in plan order (seq continues after the largest seq so far).
   * An operation whose idempotency key already has an open operation — or repeats earlier in `ops` — is
   * skipped, so planning twice queues a change once. A key whose last operation is `succeeded` or `dead`
   * is queued again: that change is wanted anew.
   *
   * Concurrency: the partial unique index decides between concurrent enqueuers (`on conflict do nothing`),
   * so a key is never queued twice; concurrent enqueues on PostgreSQL may draw the same seqs, and ties
   * are ordered by id, which keeps each plan's own order.
   */
  async enqueue(db: Db, ops: readonly PlannedOperation[], ctx: EnqueueContext): Promise<EnqueueResult> {
    const at = ctx.now.toISOString();
    const alreadyQueued: PlannedOperation[] = [];
    const fresh: PlannedOperation[] = [];
    // Open keys are filtered first so seqs stay gap-free; the conflict clause below covers the race.
    const seen = await operationRepository.openKeys(
      db,
      ops.map((op) => op.idempotencyKey),
    );
    for (const op of ops) {
      if (seen.has(op.idempotencyKey)) alreadyQueued.push(op);
      else {
        seen.add(op.idempotencyKey);
        fresh.push(op);
      }
    }
    const max = await db
      .selectFrom("operations")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .executeTakeFirst();
    let seq = Number(max?.seq ?? 0);

    const queued: OperationRecord[] = [];
    for (let i = 0; i < fresh.length; i += CHUNK) {
      const chunk = fresh.slice(i, i + CHUNK);
      const rows: OperationsTable[] = chunk.map((op) => ({
        id: newId(),
        system: op.system,
        kind: op.kind,
        identity_id: op.identityId,
        username: op.username,
        native_id: op.nativeId,
        entitlement: op.entitlement,
        payload: JSON.stringify({
          attributes: op.attributes,
          enabled: op.enabled,
          drift: op.drift,
        } satisfies Payload),
        lineage: JSON.stringify(op.lineage),
        reason: op.reason,
        idempotency_key: op.idempotencyKey,
        state: "pending",
        attempts: 0,
        max_attempts: ctx.maxAttemptsFor(op.system),
        next_attempt_at: at,
        last_error: null,
        claimed_by: null,
        claim_expires_at: null,
        claim_host: null,
        claim_pid: null,
        seq: ++seq,
        created_at: at,
        updated_at: at,
        finished_at: null,
        trace_id: ctx.traceIdOf?.(op) ?? ctx.traceId ?? null,
      }));
      const inserted = await db
        .insertInto("operations")
        .values(rows)
        // The predicate names the partial index (literally: a bound parameter would not let PostgreSQL
        // prove the index applies).
        .onConflict((oc) =>
          oc
            .column("idempotency_key")
            .where(sql<boolean>`state in ('pending', 'running', 'failed', 'awaiting')`)
            .doNothing(),
        )
        .returning("id")
        .execute();
      const ids = new Set(inserted.map((r) => r.id));
      rows.forEach((row, j) => {
        if (ids.has(row.id)) queued.push(fromRow(row));
        else alreadyQueued.push(chunk[j]!);
      });
    }
    return { queued, alreadyQueued };
  },

  /**
   * Atomically moves up to `limit` due operations to `running` for `workerId`, with a claim that expires
   * `leaseSeconds` after `now`, counting one more attempt; returns them in claim order (identity, system,
   * seq). What is claimable is defined by `claimable` (operation-claim.ts): in particular only the earliest open
   * operation of an identity in a system is ever claimable, so a grant never runs before its create and
   * one batch holds at most one operation per (identity, system). An operation that went dead no longer
   * holds back the ones behind it: a leaver's disable must not wait on a person fixing a failed update.
   *
   * Concurrency: on PostgreSQL the due rows are locked `FOR UPDATE SKIP LOCKED` and updated in one
   * transaction, so concurrent workers claim disjoint sets without waiting on each other; a row
   * claimed and committed meanwhile is re-checked by PostgreSQL and no longer qualifies. On SQLite the
   * claim is one transaction holding the database's write lock, so processes sharing the file cannot
   * claim the same row. A system's concurrency over every process bounds what executes, not what is
   * claimed (system-slots.ts).
   */
  async claimDue(db: Db, options: ClaimOptions): Promise<OperationRecord[]> {
    return (await claimOperationRows(db, options)).map(fromRow).sort(byClaimOrder);
  },

  /**
   * Records success of a claimed operation. Returns false — and changes nothing — when `workerId` no
   * longer holds the claim (it expired and another worker claimed the operation, which will record it).
   * Call it first in the transaction that also records the account change and the audit event: as the
   * first write it takes the lock, and a false return is the signal to roll that transaction back.
   */
  async markSucceeded(db: Db, id: string, options: { now: Date; workerId: string }): Promise<boolean> {
    const at = options.now.toISOString();
    const result = await db
      .updateTable("operations")
      .set({ state: "succeeded", last_error: null, claim_expires_at: null, updated_at: at, finished_at: at })
      .where("id", "=", id)
      .where("state", "=", "running")
      .where("claimed_by", "=", options.workerId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * {@link markSucceeded} for many operations in one statement per chunk; returns the ids whose claim
   * `workerId` still held (only those changed).
   */
  markSucceededMany(
    db: Db,
    ids: readonly string[],
    options: { now: Date; workerId: string },
  ): Promise<Set<string>> {
    const at = options.now.toISOString();
    return settleClaims(db, ids, options.workerId, {
      state: "succeeded",
      last_error: null,
      claim_expires_at: null,
      updated_at: at,
      finished_at: at,
    });
  },

  /**
   * Parks claimed operations whose connector handed the work to a person: `awaiting`, claim released,
   * still open (no finished_at), so they keep their idempotency key and hold back the later operations
   * of their identity in their system. Returns the ids whose claim `workerId` still held (only those
   * changed).
   */
  markAwaitingMany(
    db: Db,
    ids: readonly string[],
    options: { now: Date; workerId: string },
  ): Promise<Set<string>> {
    return settleClaims(db, ids, options.workerId, {
      state: "awaiting",
      last_error: null,
      claimed_by: null,
      claim_expires_at: null,
      updated_at: options.now.toISOString(),
    });
  },

  /**
   * Finishes an awaiting operation whose task a person has done: `succeeded`, finished at `now` (the
   * real completion time). Returns the operation, or undefined — changing nothing — when it is not
   * awaiting (any more); one statement decides and writes, so two people finishing it at once cannot
   * both succeed.
   */
  async completeAwaiting(db: Db, id: string, now: Date): Promise<OperationRecord | undefined> {
    const at = now.toISOString();
    const row = await db
      .updateTable("operations")
      .set({ state: "succeeded", updated_at: at, finished_at: at })
      .where("id", "=", id)
      .where("state", "=", "awaiting")
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /**
   * Ends an awaiting operation whose task was cancelled: `dead` with `error` (already free of secrets)
   * as its last error, so it no longer holds back the identity's later operations and can be retried
   * like any dead one. Returns undefined, changing nothing, when it is not awaiting.
   */
  async cancelAwaiting(db: Db, id: string, now: Date, error: string): Promise<OperationRecord | undefined> {
    const at = now.toISOString();
    const row = await db
      .updateTable("operations")
      .set({ state: "dead", last_error: error, updated_at: at, finished_at: at })
      .where("id", "=", id)
      .where("state", "=", "awaiting")
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /**
   * Records a failed attempt of a claimed operation: `dead` when the error is not retryable or the
   * attempts reached `max_attempts`, else `failed`, due again at `nextAttemptAt`. Returns the new state,
   * or undefined when `workerId` no longer holds the claim (nothing changed). One statement decides and
   * writes, so it is safe as the first write of the caller's transaction.
   */
  async markFailed(db: Db, id: string, input: MarkFailedInput): Promise<"failed" | "dead" | undefined> {
    const at = input.now.toISOString();
    const dead = input.retryable ? sql<boolean>`attempts >= max_attempts` : sql<boolean>`1 = 1`;
    const row = await db
      .updateTable("operations")
      .set({
        state: sql<string>`case when ${dead} then 'dead' else 'failed' end`,
        next_attempt_at: sql<string>`case when ${dead} then next_attempt_at else ${input.nextAttemptAt.toISOString()} end`,
        finished_at: sql<string | null>`case when ${dead} then ${at} else null end`,
        last_error: input.error,
        claim_expires_at: null,
        updated_at: at,
      })
      .where("id", "=", id)
      .where("state", "=", "running")
      .where("claimed_by", "=", input.workerId)
      .returning("state")
      .executeTakeFirst();
    return row === undefined ? undefined : (row.state as "failed" | "dead");
  },

  async find(db: Db, id: string): Promise<OperationRecord | undefined> {
    const row = await db.selectFrom("operations").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** The trace id of each of these operations (absent ids are left out), for log lines about them. */
  async traceIds(db: Db, ids: readonly string[]): Promise<Map<string, string | null>> {
    const found = new Map<string, string | null>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await db
        .selectFrom("operations")
        .select(["id", "trace_id"])
        .where("id", "in", ids.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) found.set(r.id, r.trace_id);
    }
    return found;
  },

  /** Operations matching every given filter, in queue order (seq). */
  async list(db: Db, filter: OperationFilter = {}): Promise<OperationRecord[]> {
    let q = db.selectFrom("operations").selectAll();
    if (filter.state !== undefined) q = q.where("state", "=", filter.state);
    if (filter.system !== undefined) q = q.where("system", "=", filter.system);
    if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
    if (filter.traceId !== undefined) q = q.where("trace_id", "=", filter.traceId);
    const after = filter.after;
    if (after !== undefined) {
      // A row-value comparison, so both databases seek the (…, seq, id) index rather than scan for an `or`.
      q = q.where((eb) => eb(eb.refTuple("seq", "id"), ">", eb.tuple(after.seq, after.id)));
    }
    const rows = await q
      .orderBy("seq")
      .orderBy("id")
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(fromRow);
  },

  /**
   * Operations whose id starts with `prefix` (ids are lower-case hex and dashes; anything else matches
   * nothing), at most `limit`: enough to tell one from ambiguous.
   */
  async findByIdPrefix(db: Db, prefix: string, limit = 10): Promise<OperationRecord[]> {
    const clean = prefix.toLowerCase();
    if (!/^[0-9a-f-]{1,36}$/.test(clean)) return [];
    // The prefix holds no LIKE wildcard (checked above), so it needs no escaping.
    const rows = await db
      .selectFrom("operations")
      .selectAll()
      .where("id", "like", `${clean}%`)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(fromRow).filter((op) => op.id.startsWith(clean));
  },

  /** How many operations are in each state (every state present, zero when none). */
  async countByState(db: Db, filter: { system?: string } = {}): Promise<Record<OperationState, number>> {
    let q = db
      .selectFrom("operations")
      .select((eb) => ["state", eb.fn.countAll().as("n")])
      .groupBy("state");
    if (filter.system !== undefined) q = q.where("system", "=", filter.system);
    const rows = await q.execute();
    const counts = Object.fromEntries(OPERATION_STATES.map((s) => [s, 0])) as Record<OperationState, number>;
    for (const r of rows) counts[r.state as OperationState] = Number(r.n);
    return counts;
  },

  /**
   * Puts a dead operation back to `pending` with its attempts reset, due at once; the caller audits who
   * asked. The last error is kept until the next attempt replaces it.
   * @throws NotFoundError when no dead operation has this id.
   * @throws TenureError `operation_open` (409) when the same change was queued again meanwhile: that
   *   operation is already open, and the unique index allows only one.
   */
  async retryDead(db: Db, id: string, now: Date): Promise<OperationRecord> {
    const current = await operationRepository.find(db, id);
    if (current === undefined || current.state !== "dead") {
      throw new NotFoundError(
        current === undefined ? `no operation ${id}` : `operation ${id} is ${current.state}, not dead`,
      );
    }
    const open = await db
      .selectFrom("operations")
      .select("id")
      .where("idempotency_key", "=", current.idempotencyKey)
      .where("state", "in", OPEN_LITERALS)
      .executeTakeFirst();
    if (open !== undefined) {
      throw new TenureError(
        "operation_open",
        `operation ${id} cannot be retried: the same change is already queued as operation ${open.id}`,
        { httpStatus: 409 },
      );
    }
    const at = now.toISOString();
    const row = await db
      .updateTable("operations")
      .set({
        state: "pending",
        attempts: 0,
        next_attempt_at: at,
        claimed_by: null,
        claim_expires_at: null,
        finished_at: null,
        updated_at: at,
      })
      .where("id", "=", id)
      .where("state", "=", "dead")
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`operation ${id} is no longer dead`);
    return fromRow(row);
  },

  /**
   * Gives back a worker's claims (graceful shutdown): its `running` operations return to `pending`, and
   * the attempt their claim counted is taken back. Call it only once none of them is executing — an
   * operation released mid-write could run twice at once. Returns how many were released.
   */
  async releaseClaims(db: Db, workerId: string, now: Date): Promise<number> {
    const result = await db
      .updateTable("operations")
      .set((eb) => ({
        state: "pending",
        attempts: sql<number>`case when ${eb.ref("attempts")} > 0 then ${eb.ref("attempts")} - 1 else 0 end`,
        claimed_by: null,
        claim_expires_at: null,
        updated_at: now.toISOString(),
      }))
      .where("state", "=", "running")
      .where("claimed_by", "=", workerId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  /** The open idempotency keys among `keys`: the changes already queued and not yet finished. */
  async openKeys(db: Db, keys: readonly string[]): Promise<Set<string>> {
    const open = new Set<string>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += 10_000) {
      const rows = await db
        .selectFrom("operations")
        .select("idempotency_key")
        .where("idempotency_key", "in", unique.slice(i, i + 10_000))
        .where("state", "in", OPEN_LITERALS)
        .execute();
      for (const r of rows) open.add(r.idempotency_key);
    }
    return open;
  },
};
