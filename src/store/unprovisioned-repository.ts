import type { PlanProblem } from "../domain/plan.js";
import type { Db } from "./schema-types.js";

/** An identity the last provisioning run could not give an account in a system, and why. */
export interface UnprovisionedRecord {
  identityId: string;
  system: string;
  kind: PlanProblem["kind"];
  message: string;
  recordedAt: string;
}

/** The problems that leave an identity without an account policy wants it to have. */
const KINDS: ReadonlySet<PlanProblem["kind"]> = new Set(["username-empty", "username-taken"]);

export const unprovisionedRepository = {
  /**
   * Replaces what the last run recorded — for every system, or for `system` alone when the run was
   * limited to it — with the identity problems of this run's plan.
   */
  async replace(db: Db, problems: readonly PlanProblem[], at: string, system?: string): Promise<void> {
    const rows = problems
      .filter(
        (p) => KINDS.has(p.kind) && p.identityId !== null && (system === undefined || p.system === system),
      )
      .map((p) => ({
        identity_id: p.identityId!,
        system: p.system,
        kind: p.kind,
        message: p.message,
        recorded_at: at,
      }));
    await db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom("unprovisioned");
      if (system !== undefined) q = q.where("system", "=", system);
      await q.execute();
      // One row per identity and system: a problem repeated in one plan is recorded once.
      const unique = [...new Map(rows.map((r) => [`${r.identity_id}\u0000${r.system}`, r])).values()];
      for (let i = 0; i < unique.length; i += 500) {
        await trx
          .insertInto("unprovisioned")
          .values(unique.slice(i, i + 500))
          .execute();
      }
    });
  },

  async list(db: Db, limit = 1000): Promise<UnprovisionedRecord[]> {
    const rows = await db
      .selectFrom("unprovisioned")
      .selectAll()
      .orderBy("system")
      .orderBy("identity_id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      identityId: r.identity_id,
      system: r.system,
      kind: r.kind as PlanProblem["kind"],
      message: r.message,
      recordedAt: r.recorded_at,
    }));
  },
};
