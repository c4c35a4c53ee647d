import type { Db } from "../store/schema-types.js";

/** An archived segment: events `firstSeq`…`seq` moved to `file` and deleted from the database. */
export interface LedgerCheckpoint {
  /** The last archived event; the chain left in the database starts at `seq + 1` and links to `hash`. */
  seq: number;
  hash: string;
  firstSeq: number;
  events: number;
  archivedAt: string;
  /** Absolute path of the archive file as it was written. */
  file: string;
  /** SHA-256 (hex) of the archive file. */
  sha256: string;
}

/** The latest cut (highest seq), or undefined when nothing was ever archived. */
export async function latestCheckpoint(db: Db): Promise<LedgerCheckpoint | undefined> {
  const [latest] = await listCheckpoints(db, 1);
  return latest;
}

/** Every cut, newest first (at most `limit`). */
export async function listCheckpoints(db: Db, limit = 1000): Promise<LedgerCheckpoint[]> {
  const rows = await db
    .selectFrom("ledger_checkpoints")
    .selectAll()
    .orderBy("seq", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    hash: r.hash,
    firstSeq: Number(r.first_seq),
    events: Number(r.events),
    archivedAt: r.archived_at,
    file: r.file,
    sha256: r.sha256,
  }));
}
