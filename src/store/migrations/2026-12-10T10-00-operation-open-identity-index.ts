import { type Kysely, sql } from "kysely";

/**
 * A claim asks of each operation it walks whether an earlier one of the same identity in the same system
 * is still open. Through operations_identity_idx (identity_id, system, seq) that probe read every earlier
 * operation of the identity in the system, finished ones too, and looked each up in the table for its
 * state: an identity's history grows with every grant and revocation, and a claim walks hundreds of
 * operations. This index holds open operations only (open exactly while `finished_at` is null, as
 * operations_open_seq_idx), so the probe reads only what is still open. Never edit after landing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index operations_open_identity_idx on operations (identity_id, system, seq, id) where finished_at is null`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index operations_open_identity_idx`.execute(db);
}
