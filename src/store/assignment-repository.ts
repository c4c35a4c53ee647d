import type { Assignment } from "../domain/access-types.js";
import type { AssignmentsTable, Db } from "./schema-types.js";

function fromRow(r: AssignmentsTable): Assignment {
  return {
    id: r.id,
    identityId: r.identity_id,
    target: r.role !== null ? { role: r.role } : { system: r.system ?? "", entitlement: r.entitlement ?? "" },
    employment: Number(r.employment),
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    reason: r.reason,
    approvedBy: r.approved_by,
    revokedAt: r.revoked_at,
  };
}

/** Assignments: access held outside birthright, always time-bound and attributable. */
export const assignmentRepository = {
  async list(
    db: Db,
    filter: { identityId?: string; identityIds?: readonly string[] } = {},
  ): Promise<Assignment[]> {
    if (filter.identityIds?.length === 0) return [];
    let q = db.selectFrom("assignments").selectAll();
    if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
    if (filter.identityIds !== undefined) q = q.where("identity_id", "in", filter.identityIds);
    return (await q.execute()).map(fromRow);
  },

  async insert(db: Db, a: Assignment, createdAt: string): Promise<void> {
    await db
      .insertInto("assignments")
      .values({
        id: a.id,
        identity_id: a.identityId,
        role: "role" in a.target ? a.target.role : null,
        system: "system" in a.target ? a.target.system : null,
        entitlement: "entitlement" in a.target ? a.target.entitlement : null,
        employment: a.employment,
        valid_from: a.validFrom,
        valid_until: a.validUntil,
        reason: a.reason,
        approved_by: a.approvedBy,
        created_at: createdAt,
        revoked_at: a.revokedAt,
      })
      .execute();
  },
};
