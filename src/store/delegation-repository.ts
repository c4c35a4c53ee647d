import type { Db, DelegationsTable } from "./schema-types.js";

export interface Delegation {
  id: string;
  delegatorId: string;
  delegateId: string;
  validFrom: string;
  validUntil: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

function fromRow(r: DelegationsTable): Delegation {
  return {
    id: r.id,
    delegatorId: r.delegator_id,
    delegateId: r.delegate_id,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    createdAt: r.created_at,
    createdBy: r.created_by,
    revokedAt: r.revoked_at,
  };
}

/** Delegations of approval while away: who decides for whom, in which window. */
export const delegationRepository = {
  async insert(db: Db, d: Delegation): Promise<void> {
    await db
      .insertInto("delegations")
      .values({
        id: d.id,
        delegator_id: d.delegatorId,
        delegate_id: d.delegateId,
        valid_from: d.validFrom,
        valid_until: d.validUntil,
        created_at: d.createdAt,
        created_by: d.createdBy,
        revoked_at: d.revokedAt,
      })
      .execute();
  },

  /** Who `delegateId` decides for at `now`: the delegators of their delegations in force. */
  async delegatorsOf(db: Db, delegateId: string, now: string): Promise<string[]> {
    const rows = await db
      .selectFrom("delegations")
      .select("delegator_id")
      .where("delegate_id", "=", delegateId)
      .where("revoked_at", "is", null)
      .where("valid_from", "<=", now)
      .where("valid_until", ">", now)
      .execute();
    return [...new Set(rows.map((r) => r.delegator_id))];
  },

  /** A person's delegations, given and received, newest first. */
  async listFor(db: Db, identityId: string): Promise<Delegation[]> {
    const rows = await db
      .selectFrom("delegations")
      .selectAll()
      .where((eb) => eb.or([eb("delegator_id", "=", identityId), eb("delegate_id", "=", identityId)]))
      .orderBy("created_at", "desc")
      .execute();
    return rows.map(fromRow);
  },

  async find(db: Db, id: string): Promise<Delegation | undefined> {
    const row = await db.selectFrom("delegations").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  async revoke(db: Db, id: string, at: string): Promise<boolean> {
    const r = await db
      .updateTable("delegations")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },
};
