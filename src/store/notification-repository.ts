import { type Selectable, sql } from "kysely";
import { newId } from "../shared/ids.js";
import { type BulkInsertSpec, bulkInsert } from "./bulk-insert.js";
import { type ClaimOwner, claimRows } from "./claim-rows.js";
import type { Db, NotificationsTable } from "./schema-types.js";

export const NOTIFICATION_STATES = ["pending", "sending", "sent", "dead"] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

export const NOTIFICATION_CHANNELS = ["email", "webhook"] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** A message to queue: what it says and where it goes, already rendered for its channel. */
export interface NewNotification {
  /** The event that caused it, e.g. `operation.dead`. */
  event: string;
  /** Unique over all time: a second message with the same key is not queued. */
  dedupeKey: string;
  channel: NotificationChannel;
  /** Email addresses joined by ", ", or the name of a webhook under `notify.webhooks` (never its URL). */
  recipient: string;
  subject: string;
  body: string;
  /** The event's data, kept with the message (a `json` webhook sends it). */
  payload: Record<string, unknown>;
  maxAttempts: number;
}

/** One outbox row as delivery and the interfaces read it. */
export interface NotificationRecord extends Omit<NewNotification, "maxAttempts"> {
  id: string;
  state: NotificationState;
  /** Deliveries started: incremented by each claim. */
  attempts: number;
  maxAttempts: number;
  /** When a pending message is due (its creation, or the retry time after a failure). */
  nextAttemptAt: string;
  claimedBy: string | null;
  claimExpiresAt: string | null;
  /** The last failure, already free of secrets. */
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

export interface InsertNotificationsResult {
  queued: NotificationRecord[];
  /** Dedupe keys already queued earlier (or repeated in the input): nothing new was written for them. */
  duplicates: string[];
}

export interface ClaimNotificationsOptions {
  now: Date;
  /** At most this many messages. */
  limit: number;
  /** Recorded in `claimed_by`; `markSent` / `markFailed` act only on rows this deliverer still holds. */
  workerId: string;
  /** How long the claim holds; after it, another deliverer may claim the message again. */
  leaseSeconds: number;
  /** The process claiming, recorded so its claims are given back once it is known dead (see claim-rows.ts). */
  owner?: ClaimOwner;
}

export interface MarkNotificationFailedInput {
  now: Date;
  workerId: string;
  /** Stored as `last_error`; must already be free of secrets. */
  error: string;
  /** False sends the message to `dead` at once. */
  retryable: boolean;
  /** When the retry becomes due; ignored when the message goes dead. */
  nextAttemptAt: Date;
}

export interface NotificationFilter {
  state?: NotificationState;
  event?: string;
  /** Default 100. */
  limit?: number;
}

const NOTIFICATION_COLUMNS = [
  "id",
  "event",
  "dedupe_key",
  "channel",
  "recipient",
  "subject",
  "body",
  "payload",
  "state",
  "attempts",
  "max_attempts",
  "next_attempt_at",
  "claimed_by",
  "claim_expires_at",
  "claim_host",
  "claim_pid",
  "last_error",
  "created_at",
  "sent_at",
] as const satisfies readonly (keyof NotificationsTable)[];

/** New messages; a dedupe key queued before is skipped, and the ids of those written come back. */
const NOTIFICATION_INSERT: BulkInsertSpec = {
  table: "notifications",
  columns: NOTIFICATION_COLUMNS,
  ignoreConflicts: ["dedupe_key"],
  returning: ["id"],
};

function fromRow(r: Selectable<NotificationsTable>): NotificationRecord {
  return recordOf(r, JSON.parse(r.payload) as Record<string, unknown>);
}

/** A message from its row, its payload parsed already (a message just queued: the payload given). */
function recordOf(r: Selectable<NotificationsTable>, payload: Record<string, unknown>): NotificationRecord {
  return {
    id: r.id,
    event: r.event,
    dedupeKey: r.dedupe_key,
    channel: r.channel as NotificationChannel,
    recipient: r.recipient,
    subject: r.subject,
    body: r.body,
    payload,
    state: r.state as NotificationState,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    nextAttemptAt: r.next_attempt_at,
    claimedBy: r.claimed_by,
    claimExpiresAt: r.claim_expires_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  };
}

/**
 * The notification outbox (src/notify/README.md). Functions take a db or a transaction, so a message is
 * queued in the transaction of the change that causes it and commits or rolls back with it.
 *
 * Lifecycle: `pending` (due at `next_attempt_at`) → (claim) `sending` → `sent`; or, after a failed
 * attempt, back to `pending` with a later `next_attempt_at` → … → `dead` when the attempts are used up.
 * A `sending` row whose claim expired (its deliverer crashed) is claimed again by anyone, so delivery is
 * at least once: a crash between sending and recording sends the message a second time.
 */
export const notificationRepository = {
  /**
   * Inserts messages as `pending`, due at `now`. A message whose dedupe key exists already — in any
   * state, at any age — is skipped, as is a key repeated in `messages`; the unique index decides between
   * concurrent writers (`on conflict do nothing`), so a key is never queued twice.
   */
  async insertMany(
    db: Db,
    messages: readonly NewNotification[],
    now: Date,
  ): Promise<InsertNotificationsResult> {
    const at = now.toISOString();
    const queued: NotificationRecord[] = [];
    const duplicates: string[] = [];
    const seen = new Set<string>();
    const fresh: NewNotification[] = [];
    for (const m of messages) {
      if (seen.has(m.dedupeKey)) duplicates.push(m.dedupeKey);
      else {
        seen.add(m.dedupeKey);
        fresh.push(m);
      }
    }
    const rows: NotificationsTable[] = fresh.map((m) => ({
      id: newId(),
      event: m.event,
      dedupe_key: m.dedupeKey,
      channel: m.channel,
      recipient: m.recipient,
      subject: m.subject,
      body: m.body,
      payload: JSON.stringify(m.payload),
      state: "pending",
      attempts: 0,
      max_attempts: m.maxAttempts,
      next_attempt_at: at,
      claimed_by: null,
      claim_expires_at: null,
      claim_host: null,
      claim_pid: null,
      last_error: null,
      created_at: at,
      sent_at: null,
    }));
    // Precompiled bulk statements: a first separation-of-duties scan queues thousands at once.
    const inserted = await bulkInsert<{ id: string }>(db, NOTIFICATION_INSERT, rows);
    const ids = new Set(inserted.map((r) => r.id));
    rows.forEach((row, i) => {
      // The payload as given, not parsed back from the text just written.
      if (ids.has(row.id)) queued.push(recordOf(row, fresh[i]!.payload));
      else duplicates.push(row.dedupe_key);
    });
    return { queued, duplicates };
  },

  /**
   * Atomically moves up to `limit` due messages to `sending` for `workerId`, with a claim that expires
   * `leaseSeconds` after `now`, counting one more attempt; returns them oldest due first. Due: `pending`
   * with `next_attempt_at` reached, or `sending` with an expired claim.
   *
   * Concurrency: on PostgreSQL the due rows are locked `FOR UPDATE SKIP LOCKED` and updated in one
   * transaction, so concurrent deliverers claim disjoint sets without waiting on each other. On SQLite
   * the claim is a single `UPDATE … WHERE id IN (SELECT …) RETURNING` statement, which holds the
   * database write lock throughout, so processes sharing the file cannot claim the same row.
   */
  async claimDue(db: Db, options: ClaimNotificationsOptions): Promise<NotificationRecord[]> {
    if (options.limit < 1) return [];
    const now = options.now.toISOString();
    const expires = new Date(options.now.getTime() + options.leaseSeconds * 1000).toISOString();
    const candidates = (trx: Db) =>
      trx
        .selectFrom("notifications")
        .select("id")
        .where((eb) =>
          eb.or([
            eb.and([eb("state", "=", "pending"), eb("next_attempt_at", "<=", now)]),
            eb.and([eb("state", "=", "sending"), eb("claim_expires_at", "<", now)]),
          ]),
        )
        .orderBy("next_attempt_at")
        .orderBy("id")
        .limit(options.limit);
    const claim = (trx: Db, ids: ReturnType<typeof candidates> | readonly string[]) =>
      trx
        .updateTable("notifications")
        .set((eb) => ({
          state: "sending",
          attempts: eb("attempts", "+", 1),
          claimed_by: options.workerId,
          claim_expires_at: expires,
          claim_host: options.owner?.host ?? null,
          claim_pid: options.owner?.pid ?? null,
        }))
        .where("id", "in", ids)
        .returningAll()
        .execute();

    const rows = await claimRows(db, candidates, claim);
    return rows
      .map(fromRow)
      .sort((a, b) =>
        a.nextAttemptAt !== b.nextAttemptAt
          ? a.nextAttemptAt < b.nextAttemptAt
            ? -1
            : 1
          : a.id < b.id
            ? -1
            : 1,
      );
  },

  /**
   * Records that a claimed message was sent. Returns false — and changes nothing — when `workerId` no
   * longer holds the claim (it expired and another deliverer took the message over).
   */
  async markSent(db: Db, id: string, options: { now: Date; workerId: string }): Promise<boolean> {
    const at = options.now.toISOString();
    const result = await db
      .updateTable("notifications")
      .set({ state: "sent", sent_at: at, last_error: null, claim_expires_at: null })
      .where("id", "=", id)
      .where("state", "=", "sending")
      .where("claimed_by", "=", options.workerId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Records a failed attempt of a claimed message: `dead` when the error is not retryable or the attempts
   * reached `max_attempts`, else back to `pending`, due at `nextAttemptAt`. Returns the new state, or
   * undefined when `workerId` no longer holds the claim (nothing changed). One statement decides and
   * writes, so it is safe as the first write of the caller's transaction.
   */
  async markFailed(
    db: Db,
    id: string,
    input: MarkNotificationFailedInput,
  ): Promise<"pending" | "dead" | undefined> {
    const dead = input.retryable ? sql<boolean>`attempts >= max_attempts` : sql<boolean>`1 = 1`;
    const row = await db
      .updateTable("notifications")
      .set({
        state: sql<string>`case when ${dead} then 'dead' else 'pending' end`,
        next_attempt_at: sql<string>`case when ${dead} then next_attempt_at else ${input.nextAttemptAt.toISOString()} end`,
        last_error: input.error,
        claim_expires_at: null,
      })
      .where("id", "=", id)
      .where("state", "=", "sending")
      .where("claimed_by", "=", input.workerId)
      .returning("state")
      .executeTakeFirst();
    return row === undefined ? undefined : (row.state as "pending" | "dead");
  },

  /**
   * Gives back a deliverer's claims (a graceful stop): its `sending` messages return to `pending`, and
   * the attempt each claim counted is taken back. Call it only for messages not being sent. Returns how
   * many were released.
   */
  async releaseClaims(db: Db, workerId: string, ids?: readonly string[]): Promise<number> {
    if (ids !== undefined && ids.length === 0) return 0;
    let q = db
      .updateTable("notifications")
      .set((eb) => ({
        state: "pending",
        attempts: sql<number>`case when ${eb.ref("attempts")} > 0 then ${eb.ref("attempts")} - 1 else 0 end`,
        claimed_by: null,
        claim_expires_at: null,
      }))
      .where("state", "=", "sending")
      .where("claimed_by", "=", workerId);
    if (ids !== undefined) q = q.where("id", "in", ids);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async find(db: Db, id: string): Promise<NotificationRecord | undefined> {
    const row = await db.selectFrom("notifications").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** Messages matching every given filter, oldest first. */
  async list(db: Db, filter: NotificationFilter = {}): Promise<NotificationRecord[]> {
    let q = db.selectFrom("notifications").selectAll();
    if (filter.state !== undefined) q = q.where("state", "=", filter.state);
    if (filter.event !== undefined) q = q.where("event", "=", filter.event);
    const rows = await q
      .orderBy("created_at")
      .orderBy("id")
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(fromRow);
  },

  /** How many messages are in each state (every state present, zero when none). */
  async countByState(db: Db): Promise<Record<NotificationState, number>> {
    const rows = await db
      .selectFrom("notifications")
      .select((eb) => ["state", eb.fn.countAll().as("n")])
      .groupBy("state")
      .execute();
    const counts = Object.fromEntries(NOTIFICATION_STATES.map((s) => [s, 0])) as Record<
      NotificationState,
      number
    >;
    for (const r of rows) counts[r.state as NotificationState] = Number(r.n);
    return counts;
  },
};
