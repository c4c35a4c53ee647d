import type { Assignment } from "../domain/access-types.js";
import type { AssignmentsTable, Db } from "./schema-types.js";

/** An assignment from its row. */
export function fromRow(r: AssignmentsTable): Assignment {
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
    requestId: r.request_id ?? null,
    endedAt: r.ended_at ?? null,
  };
}

/** What an assignment's end left in the targets, read back after the change (see workflows/assignment-ends.ts). */
export interface EndReceipt {
  checkedAt: string;
  /** Every piece of access the assignment gave, as the target showed it after the change. */
  checks: Array<{
    system: string;
    username: string | null;
    entitlement: string | null;
    /** `gone`: not held any more; `kept`: still held, through other access; `present`: still there. */
    outcome: "gone" | "kept" | "present" | "unreadable";
    detail?: string;
  }>;
}

/** Assignments: access held outside birthright, always time-bound and attributable. */
export const assignmentRepository = {
  async list(
    db: Db,
    filter: { identityId?: string; identityIds?: readonly string[]; requestId?: string } = {},
  ): Promise<Assignment[]> {
    if (filter.identityIds?.length === 0) return [];
    let q = db.selectFrom("assignments").selectAll();
    if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
    if (filter.identityIds !== undefined) q = q.where("identity_id", "in", filter.identityIds);
    if (filter.requestId !== undefined) q = q.where("request_id", "=", filter.requestId);
    return (await q.execute()).map(fromRow);
  },

  /** The assignments of a request still in force at `now`: not revoked, not ended, not past their window. */
  async openOfRequest(db: Db, requestId: string, now: string): Promise<Assignment[]> {
    return (await this.list(db, { requestId })).filter(
      (a) =>
        a.revokedAt === null && (a.endedAt ?? null) === null && (a.validUntil === null || a.validUntil > now),
    );
  },

  async find(db: Db, id: string): Promise<Assignment | undefined> {
    const row = await db.selectFrom("assignments").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
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
        request_id: a.requestId ?? null,
        ended_at: a.endedAt ?? null,
      })
      .execute();
  },

  /**
   * Assignments whose end has come by `now` (their window ran out, or they were revoked) and is not yet
   * confirmed in the targets: what the expiry timer works on, oldest end first.
   */
  async endingBy(db: Db, now: string, limit: number): Promise<Assignment[]> {
    const rows = await db
      .selectFrom("assignments")
      .selectAll()
      .where("ended_at", "is", null)
      .where((eb) =>
        eb.or([
          eb.and([eb("valid_until", "is not", null), eb("valid_until", "<=", now)]),
          eb("revoked_at", "is not", null),
        ]),
      )
      .orderBy("valid_until")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  },

  /**
   * The soonest end of an open assignment — already past when one came due while the last pass ran —
   * leaving out ends a target did not confirm (alerted: they are retried at the timer's poll, not in a
   * loop): when the expiry timer must next wake.
   */
  async nextEnd(db: Db): Promise<string | null> {
    const row = await db
      .selectFrom("assignments")
      .select((eb) => eb.fn.min("valid_until").as("next"))
      .where("ended_at", "is", null)
      .where("revoked_at", "is", null)
      .where("end_alerted_at", "is", null)
      .where("valid_until", "is not", null)
      .executeTakeFirst();
    return (row?.next as string | null | undefined) ?? null;
  },

  /** Open assignments ending within (`from`, `to`]: whose holders are warned before the end. */
  async endingBetween(db: Db, from: string, to: string, limit: number): Promise<Assignment[]> {
    const rows = await db
      .selectFrom("assignments")
      .selectAll()
      .where("ended_at", "is", null)
      .where("revoked_at", "is", null)
      .where("valid_until", ">", from)
      .where("valid_until", "<=", to)
      .orderBy("valid_until")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  },

  /** Records an early end: the assignment stops counting at `at` (its end is then confirmed like an expiry). */
  async revoke(db: Db, id: string, at: string): Promise<boolean> {
    const r = await db
      .updateTable("assignments")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .where("ended_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  /** Moves the end of an open assignment (an approved extension): no gap, the same assignment. */
  async extend(db: Db, id: string, validUntil: string): Promise<boolean> {
    const r = await db
      .updateTable("assignments")
      .set({ valid_until: validUntil })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .where("ended_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  async markEnded(db: Db, id: string, at: string, receipt: EndReceipt): Promise<void> {
    await db
      .updateTable("assignments")
      .set({ ended_at: at, end_receipt: JSON.stringify(receipt) })
      .where("id", "=", id)
      .execute();
  },

  /** Marks an unconfirmed end as alerted; false when it already was (so the alert goes out once). */
  async markAlerted(db: Db, id: string, at: string): Promise<boolean> {
    const r = await db
      .updateTable("assignments")
      .set({ end_alerted_at: at })
      .where("id", "=", id)
      .where("end_alerted_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  async receiptOf(db: Db, id: string): Promise<EndReceipt | null> {
    const row = await db
      .selectFrom("assignments")
      .select("end_receipt")
      .where("id", "=", id)
      .executeTakeFirst();
    return row?.end_receipt ? (JSON.parse(row.end_receipt) as EndReceipt) : null;
  },
};
