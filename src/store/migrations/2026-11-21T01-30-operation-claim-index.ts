import { type Kysely, sql } from "kysely";

/**
 * Claims walk open operations in queue order (seq) and stop at the first `limit` claimable ones. This
 * partial index holds only open operations, so a claim never reads through the finished history, and
 * its cost is the batch size times the operations queued per identity, not the size of the queue.
 * An operation is open exactly while `finished_at` is null (succeeded and dead set it; a retried dead one
 * clears it). The predicate is on that column rather than on `state` because a condition on `state`
 * in the claim would let SQLite's planner, which has no statistics, prefer the state index and sort
 * every open operation; both databases use a partial index only when the query's WHERE implies its
 * predicate, which the claim query writes out as it is here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index operations_open_seq_idx on operations (seq, id) where finished_at is null`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index operations_open_seq_idx`.execute(db);
}
