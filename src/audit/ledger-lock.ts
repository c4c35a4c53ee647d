import type { Db } from "../store/schema-types.js";

/** What the ledger's head row holds: the last event's sequence number and hash. */
export interface LedgerHead {
  seq: number | string | bigint;
  hash: string;
}

/**
 * The head each transaction read as it took the lock, kept for its next append: the lock is held until
 * the transaction ends, so nobody else can move the head meanwhile, and the append need not lock and
 * read it again (a round trip per transaction that journals accounts: every group of pushes' record).
 */
const lockedHeads = new WeakMap<Db, LedgerHead>();

/**
 * Takes the ledger's append lock — the `audit_head` row, which appendEvents locks first — for the rest
 * of the caller's transaction: a writer that must read rows and journal their change (account-journal,
 * access checkpoints) takes it before reading, so no other journalling writer changes them in between.
 * The same queueing as appendEvents: PostgreSQL's row lock, SQLite's write lock.
 */
export async function lockLedger(trx: Db): Promise<void> {
  const head = await lockAndReadHead(trx);
  // Outside a transaction the lock ends with the statement: nothing to keep.
  if (head !== undefined && trx.isTransaction) lockedHeads.set(trx, head);
}

/**
 * Locks the head row and reads it, in one statement (a head read first could be stale by the time the
 * caller writes after it). Undefined: the row is gone (a damaged database).
 */
export function lockAndReadHead(trx: Db): Promise<LedgerHead | undefined> {
  return trx
    .updateTable("audit_head")
    .set((eb) => ({ seq: eb.ref("seq") }))
    .where("id", "=", 1)
    .returning(["seq", "hash"])
    .executeTakeFirst();
}

/**
 * The head `trx` read when it took the lock, if no append has used it since (appendEvents, the only
 * writer of the head inside a transaction that locked it, takes it once; an append after that locks and
 * reads the head itself).
 */
export function takeLockedHead(trx: Db): LedgerHead | undefined {
  const head = lockedHeads.get(trx);
  lockedHeads.delete(trx);
  return head;
}
