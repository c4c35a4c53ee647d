import type { ClaimOwner } from "./claim-rows.js";
import type { Db } from "./schema-types.js";

/** The tables whose rows workers claim, and the state a claimed row is in. */
export const CLAIM_TABLES = { operations: "running", notifications: "sending" } as const;
export type ClaimTable = keyof typeof CLAIM_TABLES;

/** The claims one worker holds in one table. */
export interface ClaimHolder {
  table: ClaimTable;
  /** The worker id (`claimed_by`). */
  claimedBy: string;
  /** The process that holds them, when it was recorded (claims made before it was are `null`). */
  owner: ClaimOwner | null;
  /** Rows claimed. */
  claims: number;
  /** Of them, those whose lease has ended: any worker takes them over at its next claim. */
  expired: number;
  /** When the last of its leases ends. */
  expiresAt: string;
}

/** A row given back because the process holding it is gone. */
export interface ReleasedClaim {
  table: ClaimTable;
  id: string;
}

/**
 * Who holds claims on work rows (operations, notifications), and giving back the claims of a process
 * that is gone. A claim records its worker id, and since migration 2026-12-03T08-00 the host and pid of
 * the process: that is what lets a restarted worker tell a crashed holder (same host, pid not running)
 * from a live one, where the lease alone would make everyone wait until it ends.
 */
export const claimOwnerRepository = {
  /** Every holder of a claim, per table, worker and process, most claims first. */
  async holders(db: Db, now: Date): Promise<ClaimHolder[]> {
    const at = now.toISOString();
    const holders: ClaimHolder[] = [];
    for (const [table, state] of Object.entries(CLAIM_TABLES) as [ClaimTable, string][]) {
      const rows = await db
        .selectFrom(table)
        .select((eb) => [
          "claimed_by",
          "claim_host",
          "claim_pid",
          eb.fn.countAll().as("claims"),
          eb.fn.sum<number>(eb.case().when("claim_expires_at", "<", at).then(1).else(0).end()).as("expired"),
          eb.fn.max("claim_expires_at").as("expires_at"),
        ])
        .where("state", "=", state)
        .groupBy(["claimed_by", "claim_host", "claim_pid"])
        .execute();
      for (const r of rows) {
        holders.push({
          table,
          claimedBy: r.claimed_by ?? "",
          owner:
            r.claim_host === null || r.claim_pid === null
              ? null
              : { host: r.claim_host, pid: Number(r.claim_pid) },
          claims: Number(r.claims),
          expired: Number(r.expired ?? 0),
          expiresAt: r.expires_at ?? "",
        });
      }
    }
    return holders.sort((a, b) => b.claims - a.claims || (a.claimedBy < b.claimedBy ? -1 : 1));
  },

  /** The processes on `host` that hold claims, with the tables they hold them in. */
  async ownersOn(db: Db, host: string): Promise<number[]> {
    const pids = new Set<number>();
    for (const [table, state] of Object.entries(CLAIM_TABLES) as [ClaimTable, string][]) {
      const rows = await db
        .selectFrom(table)
        .select("claim_pid")
        .distinct()
        .where("state", "=", state)
        .where("claim_host", "=", host)
        .where("claim_pid", "is not", null)
        .execute();
      for (const r of rows) if (r.claim_pid !== null) pids.add(Number(r.claim_pid));
    }
    return [...pids].sort((a, b) => a - b);
  },

  /**
   * Gives back every claim `owner` holds: its claimed rows return to `pending`, due as they were, for any
   * worker to claim. The attempt each claim counted is kept — the process may have died during the
   * write — so an operation that keeps killing its workers still runs out of attempts (apply.ts). Call
   * it only for a process known to be gone: a live one would go on with work another worker then
   * claims too. Returns the rows released.
   */
  async releaseOwner(db: Db, owner: ClaimOwner, now: Date): Promise<ReleasedClaim[]> {
    const released: ReleasedClaim[] = [];
    const free = { claimed_by: null, claim_expires_at: null, claim_host: null, claim_pid: null } as const;
    const operations = await db
      .updateTable("operations")
      .set({ ...free, state: "pending", updated_at: now.toISOString() })
      .where("state", "=", CLAIM_TABLES.operations)
      .where("claim_host", "=", owner.host)
      .where("claim_pid", "=", owner.pid)
      .returning("id")
      .execute();
    for (const r of operations) released.push({ table: "operations", id: r.id });
    const notifications = await db
      .updateTable("notifications")
      .set({ ...free, state: "pending" })
      .where("state", "=", CLAIM_TABLES.notifications)
      .where("claim_host", "=", owner.host)
      .where("claim_pid", "=", owner.pid)
      .returning("id")
      .execute();
    for (const r of notifications) released.push({ table: "notifications", id: r.id });
    return released;
  },
};
