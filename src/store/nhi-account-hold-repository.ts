import type { NhiAccountHold } from "../domain/nhi-account.js";
import type { Db, NhiAccountHoldsTable } from "./schema-types.js";

function fromRow(r: NhiAccountHoldsTable): NhiAccountHold {
  return {
    nhiId: r.nhi_id,
    system: r.system,
    username: r.username,
    state: r.state === "unenforced" ? "unenforced" : "held",
    why: r.why,
    wasEnabled: r.was_enabled === null ? null : Number(r.was_enabled) === 1,
    heldAt: r.held_at,
    reason: r.reason,
  };
}

/**
 * Disabled NHIs' accounts held disabled (`nhi_account_holds`, one row per NHI while it is disabled; see
 * domain/nhi-account.ts). Functions take a db or a transaction. {@link nhiAccountHoldRepository.insert}
 * and {@link nhiAccountHoldRepository.remove} say whether they wrote: of two processes settling the same
 * NHI at once, one wins and the other writes (and audits) nothing.
 */
export const nhiAccountHoldRepository = {
  async find(db: Db, nhiId: string): Promise<NhiAccountHold | undefined> {
    const row = await db
      .selectFrom("nhi_account_holds")
      .selectAll()
      .where("nhi_id", "=", nhiId)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  async list(db: Db): Promise<NhiAccountHold[]> {
    return (await db.selectFrom("nhi_account_holds").selectAll().orderBy("nhi_id").execute()).map(fromRow);
  },

  /**
   * The ids of NHIs whose account may need settling: disabled ones (held or not yet) and held ones (the NHI
   * maybe enabled since). Enabled NHIs without a hold, the many, are not read.
   */
  async candidates(db: Db): Promise<string[]> {
    const [disabled, held] = await Promise.all([
      db
        .selectFrom("non_human_identities")
        .select("identity_id")
        .where("disabled_at", "is not", null)
        .execute(),
      db.selectFrom("nhi_account_holds").select("nhi_id").execute(),
    ]);
    return [...new Set([...disabled.map((r) => r.identity_id), ...held.map((r) => r.nhi_id)])].sort();
  },

  /** Records a hold; false (nothing written) when the NHI has one already. */
  async insert(db: Db, hold: NhiAccountHold): Promise<boolean> {
    const result = await db
      .insertInto("nhi_account_holds")
      .values({
        nhi_id: hold.nhiId,
        system: hold.system,
        username: hold.username,
        state: hold.state,
        why: hold.why,
        was_enabled: hold.wasEnabled === null ? null : hold.wasEnabled ? 1 : 0,
        held_at: hold.heldAt,
        reason: hold.reason,
      })
      .onConflict((oc) => oc.column("nhi_id").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },

  /** Ends the hold; false (nothing written) when there was none (another process ended it). */
  async remove(db: Db, nhiId: string): Promise<boolean> {
    const result = await db.deleteFrom("nhi_account_holds").where("nhi_id", "=", nhiId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  },
};
