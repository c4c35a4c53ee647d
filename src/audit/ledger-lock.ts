import type { Db } from "../store/schema-types.js";

/**
 * Takes the ledger's append lock — the `audit_head` row, which appendEvents locks first — for the rest
 * of the caller's transaction: a writer that must read rows and journal their change (account-journal,
 * access checkpoints) takes it before reading, so no other journalling writer changes them in between.
 * The same queueing as appendEvents: PostgreSQL's row lock, SQLite's write lock.
 */
export async function lockLedger(trx: Db): Promise<void> {
  await trx
    .updateTable("audit_head")
    .set((eb) => ({ seq: eb.ref("seq") }))
    .where("id", "=", 1)
    .execute();
}
