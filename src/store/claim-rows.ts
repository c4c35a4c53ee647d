import { usesDollar } from "./bulk-insert.js";
import type { Db } from "./schema-types.js";

/**
 * The process holding a claim: its host name and process id. A claim whose owner is on this host and no
 * longer running can be given back at once (claim-owner-repository.ts); owners elsewhere cannot be
 * checked, and their claims wait for their lease.
 */
export interface ClaimOwner {
  host: string;
  pid: number;
}

/** A select of candidate ids that can lock what it reads (Kysely's SelectQueryBuilder). */
interface LockableSelect {
  forUpdate(): { skipLocked(): { execute(): Promise<{ id: string }[]> } };
}

/**
 * The one way work rows (operations, notifications) are claimed by a worker. `candidates` selects the
 * ids of claimable rows; `claim` updates the rows whose ids are given — as a list, or as the select
 * itself — to claimed, and returns them.
 *
 * On PostgreSQL the candidates are locked `FOR UPDATE SKIP LOCKED` and updated in one transaction, so
 * concurrent workers claim disjoint sets without waiting on each other (a row claimed and committed
 * meanwhile is re-checked by PostgreSQL and no longer qualifies). On SQLite the claim is one
 * `UPDATE … WHERE id IN (SELECT …) RETURNING`, which holds the database's write lock for its whole
 * duration, so processes sharing the file cannot claim the same row.
 */
export async function claimRows<Q extends LockableSelect, R>(
  db: Db,
  candidates: (trx: Db) => Q,
  claim: (trx: Db, ids: Q | readonly string[]) => Promise<R[]>,
): Promise<R[]> {
  if (!usesDollar(db)) return claim(db, candidates(db));
  const run = async (trx: Db) => {
    const locked = await candidates(trx).forUpdate().skipLocked().execute();
    return locked.length === 0
      ? []
      : claim(
          trx,
          locked.map((r) => r.id),
        );
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}
