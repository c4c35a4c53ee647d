import type { Kysely } from "kysely";
import { newId } from "../shared/ids.js";
import type { Database, Db } from "../store/schema-types.js";
import type { HeadSinkConfig } from "./audit-config.js";
import { appendEvents } from "./ledger.js";
import { type LedgerHead, type SignedHead, type SigningKey, signHead } from "./ledger-signing.js";
import { deliverHead, sinkId } from "./ledger-sinks.js";

/** The audit action recorded when a head is published; its event follows the head it publishes. */
export const HEAD_PUBLISHED_ACTION = "audit.head_published";

/** A head Tenure published, as `ledger_heads` keeps it. */
export interface PublishedHead extends SignedHead {
  publishedAt: string;
  /** Sinks that have not received it yet (they are retried on the next run). */
  pendingSinks: string[];
  /** Why the last delivery to a pending sink failed, free of secrets. */
  lastError: string | null;
}

export interface PublishDeps {
  key: SigningKey;
  sinks: readonly HeadSinkConfig[];
  now: Date;
  /** Who publishes, for the audit event: `scheduler`, `cli:alice`. */
  actor: string;
  /** Delivery attempts of an emailed head (notify.retry.maxAttempts). Default 10. */
  emailMaxAttempts?: number;
}

/** What one run of {@link publishLedgerHead} did. */
export interface PublishResult {
  /** The head signed and recorded by this run; null when nothing changed since the last one. */
  published: SignedHead | null;
  /** Heads handed to a sink by this run (the new one, and older ones a sink was still owed). */
  delivered: Array<{ sink: string; seq: number }>;
  /** Deliveries that failed; each is tried again on the next run. */
  failed: Array<{ sink: string; seq: number; error: string }>;
}

/**
 * Signs the ledger's current head, records it in `ledger_heads` with every configured sink pending,
 * appends an `audit.head_published` event (in the same transaction), then delivers it — and any head
 * a sink is still owed — to every sink.
 *
 * The head published is the head as it was BEFORE its own `audit.head_published` event: that event is
 * covered by the next head. When the only event since the last published head is that head's own
 * publication event, nothing new is signed (the ledger did not change), but owed deliveries are retried.
 *
 * Sinks are independent: one failing leaves its heads pending and the others still get them; a sink
 * gets its owed heads in seq order and, after a failure, no later head in the same run (so a heads file
 * stays in order). The record is written before anything is delivered, so a crash in between leaves
 * the deliveries pending, never lost. Delivery is at least once: a crash after a delivery and before
 * it is recorded sends the head again.
 *
 * Concurrency: the transaction locks the `audit_head` row first (as appenders do), so the head read is
 * the head the event follows. Run it from one process at a time (the scheduler leader); two runs at
 * once may deliver a head twice.
 */
export async function publishLedgerHead(db: Kysely<Database>, deps: PublishDeps): Promise<PublishResult> {
  const sinkIds = deps.sinks.map(sinkId);
  const published = await db.transaction().execute(async (trx) => {
    // The same no-op update appenders start with: it takes the head's lock before the head is read.
    await trx
      .updateTable("audit_head")
      .set((eb) => ({ seq: eb.ref("seq") }))
      .where("id", "=", 1)
      .execute();
    const row = await trx
      .selectFrom("audit_head")
      .select(["seq", "hash"])
      .where("id", "=", 1)
      .executeTakeFirstOrThrow();
    const head: LedgerHead = { seq: Number(row.seq), hash: row.hash };
    if (await unchangedSinceLastPublished(trx, head, deps.key.keyId)) return null;
    const signed = signHead(head, deps.now, deps.key);
    await trx
      .insertInto("ledger_heads")
      .values({
        id: newId(),
        seq: signed.seq,
        hash: signed.hash,
        time: signed.time,
        key_id: signed.keyId,
        signature: signed.signature,
        published_at: deps.now.toISOString(),
        pending_sinks: JSON.stringify(sinkIds),
        last_error: null,
      })
      .execute();
    await appendEvents(trx, [
      {
        time: deps.now.toISOString(),
        actor: deps.actor,
        action: HEAD_PUBLISHED_ACTION,
        subject: "ledger",
        details: { seq: signed.seq, hash: signed.hash, keyId: signed.keyId, sinks: sinkIds },
      },
    ]);
    return signed;
  });
  const result: PublishResult = { published, delivered: [], failed: [] };
  await deliverOwed(db, deps, sinkIds, result);
  return result;
}

async function unchangedSinceLastPublished(trx: Db, head: LedgerHead, keyId: string): Promise<boolean> {
  const last = await trx
    .selectFrom("ledger_heads")
    .select("seq")
    .where("key_id", "=", keyId)
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  if (last === undefined) return false;
  const lastSeq = Number(last.seq);
  if (head.seq === lastSeq) return true;
  if (head.seq !== lastSeq + 1) return false;
  const next = await trx
    .selectFrom("audit_events")
    .select("action")
    .where("seq", "=", head.seq)
    .executeTakeFirst();
  return next?.action === HEAD_PUBLISHED_ACTION;
}

async function deliverOwed(
  db: Kysely<Database>,
  deps: PublishDeps,
  sinkIds: readonly string[],
  result: PublishResult,
): Promise<void> {
  const owed = await db
    .selectFrom("ledger_heads")
    .selectAll()
    .where("pending_sinks", "!=", "[]")
    .orderBy("seq")
    .orderBy("published_at")
    .execute();
  const blocked = new Set<string>();
  for (const row of owed) {
    const head: SignedHead = {
      seq: Number(row.seq),
      hash: row.hash,
      time: row.time,
      keyId: row.key_id,
      signature: row.signature,
    };
    // A sink no longer configured cannot be delivered to: it is dropped from what the head is owed.
    const pending = (JSON.parse(row.pending_sinks) as string[]).filter((id) => sinkIds.includes(id));
    const still: string[] = [];
    let lastError: string | null = row.last_error;
    for (const id of pending) {
      const sink = deps.sinks[sinkIds.indexOf(id)]!;
      if (blocked.has(id)) {
        still.push(id);
        continue;
      }
      try {
        await deliverHead(sink, head, { db, now: deps.now, emailMaxAttempts: deps.emailMaxAttempts ?? 10 });
        result.delivered.push({ sink: id, seq: head.seq });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        blocked.add(id);
        still.push(id);
        lastError = error;
        result.failed.push({ sink: id, seq: head.seq, error });
      }
    }
    await db
      .updateTable("ledger_heads")
      .set({ pending_sinks: JSON.stringify(still), last_error: still.length === 0 ? null : lastError })
      .where("id", "=", row.id)
      .execute();
  }
}

/** Published heads, newest first; page with `beforeSeq` (the last seq of the previous page). */
export async function listPublishedHeads(
  db: Db,
  options: { limit?: number; beforeSeq?: number } = {},
): Promise<PublishedHead[]> {
  let query = db
    .selectFrom("ledger_heads")
    .selectAll()
    .orderBy("seq", "desc")
    .orderBy("published_at", "desc")
    .limit(options.limit ?? 1000);
  if (options.beforeSeq !== undefined) query = query.where("seq", "<", options.beforeSeq);
  const rows = await query.execute();
  return rows.map((row) => ({
    seq: Number(row.seq),
    hash: row.hash,
    time: row.time,
    keyId: row.key_id,
    signature: row.signature,
    publishedAt: row.published_at,
    pendingSinks: JSON.parse(row.pending_sinks) as string[],
    lastError: row.last_error,
  }));
}

/** Every published head in seq order, for verification (a few per hour: small). */
export async function allPublishedHeads(db: Db): Promise<SignedHead[]> {
  const rows = await db
    .selectFrom("ledger_heads")
    .select(["seq", "hash", "time", "key_id", "signature"])
    .orderBy("seq")
    .execute();
  return rows.map((row) => ({
    seq: Number(row.seq),
    hash: row.hash,
    time: row.time,
    keyId: row.key_id,
    signature: row.signature,
  }));
}
