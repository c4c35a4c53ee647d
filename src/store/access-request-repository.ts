import type { Selectable } from "kysely";
import type { AccessRequest } from "../domain/request-types.js";
import type { AccessRequestsTable, Db } from "./schema-types.js";

type Body = Pick<
  AccessRequest,
  | "items"
  | "justification"
  | "ticket"
  | "durationMs"
  | "steps"
  | "currentStep"
  | "decisions"
  | "kind"
  | "autoApproved"
  | "extends"
>;

function fromRow(r: Selectable<AccessRequestsTable>): AccessRequest {
  const body = JSON.parse(r.body) as Body;
  return {
    id: r.id,
    requesterId: r.requester_id,
    beneficiaryId: r.beneficiary_id,
    state: r.state as AccessRequest["state"],
    submittedAt: r.submitted_at,
    expiresAt: r.expires_at,
    closedAt: r.closed_at,
    version: Number(r.version),
    ...body,
  };
}

function bodyOf(r: AccessRequest): string {
  const body: Body = {
    items: r.items,
    justification: r.justification,
    ticket: r.ticket,
    durationMs: r.durationMs,
    steps: r.steps,
    currentStep: r.currentStep,
    decisions: r.decisions,
    kind: r.kind,
    autoApproved: r.autoApproved,
    extends: r.extends,
  };
  return JSON.stringify(body);
}

/** The identities who may decide the request now: its current step's approvers while it is pending. */
function inboxOf(r: AccessRequest): string[] {
  if (r.state !== "pending") return [];
  return [...new Set(r.steps[r.currentStep]?.approvers ?? [])];
}

async function writeInbox(db: Db, r: AccessRequest): Promise<void> {
  await db.deleteFrom("access_request_approvers").where("request_id", "=", r.id).execute();
  const approvers = inboxOf(r);
  if (approvers.length > 0) {
    await db
      .insertInto("access_request_approvers")
      .values(approvers.map((approver_id) => ({ approver_id, request_id: r.id })))
      .execute();
  }
}

/**
 * Access requests, written whole: `update` succeeds only when the stored version is the one the writer
 * read, so of two deciders at the same moment exactly one change is kept. The approvers of the current
 * step are kept beside the request for the approvers' inboxes. Functions take a db or a transaction
 * (insert and update write two tables: give them a transaction).
 */
export const accessRequestRepository = {
  async insert(db: Db, r: AccessRequest): Promise<void> {
    await db
      .insertInto("access_requests")
      .values({
        id: r.id,
        requester_id: r.requesterId,
        beneficiary_id: r.beneficiaryId,
        state: r.state,
        body: bodyOf(r),
        submitted_at: r.submittedAt,
        expires_at: r.expiresAt,
        closed_at: r.closedAt,
        version: r.version,
      })
      .execute();
    await writeInbox(db, r);
  },

  async find(db: Db, id: string): Promise<AccessRequest | undefined> {
    const row = await db.selectFrom("access_requests").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** Writes `next` if the stored request still has `next.version - 1`; false when another writer won. */
  async update(db: Db, next: AccessRequest): Promise<boolean> {
    const result = await db
      .updateTable("access_requests")
      .set({ state: next.state, body: bodyOf(next), closed_at: next.closedAt, version: next.version })
      .where("id", "=", next.id)
      .where("version", "=", next.version - 1)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await writeInbox(db, next);
    return true;
  },

  /** The pending requests `approverId` may decide now, oldest first, a page at a time (by id). */
  async pendingFor(
    db: Db,
    approverId: string,
    options: { limit: number; after?: string },
  ): Promise<AccessRequest[]> {
    let q = db
      .selectFrom("access_request_approvers as a")
      .innerJoin("access_requests as r", "r.id", "a.request_id")
      .selectAll("r")
      .where("a.approver_id", "=", approverId)
      .where("r.state", "=", "pending");
    if (options.after !== undefined) q = q.where("a.request_id", ">", options.after);
    const rows = await q.orderBy("a.request_id").limit(options.limit).execute();
    return rows.map(fromRow);
  },

  /**
   * Requests a person asked for or is the beneficiary of (`mine`), or every request (`all`, for admins
   * and auditors), newest first, a page at a time; optionally only those in `state`.
   */
  async list(
    db: Db,
    options: { identityId?: string; state?: string; limit: number; before?: string },
  ): Promise<AccessRequest[]> {
    let q = db.selectFrom("access_requests").selectAll();
    if (options.identityId !== undefined) {
      const id = options.identityId;
      q = q.where((eb) => eb.or([eb("requester_id", "=", id), eb("beneficiary_id", "=", id)]));
    }
    if (options.state !== undefined) q = q.where("state", "=", options.state);
    if (options.before !== undefined) q = q.where("id", "<", options.before);
    const rows = await q.orderBy("id", "desc").limit(options.limit).execute();
    return rows.map(fromRow);
  },

  /** The pending requests of a beneficiary: a second request for the same item is refused. */
  async pendingOf(db: Db, beneficiaryId: string): Promise<AccessRequest[]> {
    const rows = await db
      .selectFrom("access_requests")
      .selectAll()
      .where("beneficiary_id", "=", beneficiaryId)
      .where("state", "=", "pending")
      .execute();
    return rows.map(fromRow);
  },

  /** Requests of a beneficiary auto-approved since `since`: what an auto-approval quota counts. */
  async autoApprovedSince(db: Db, beneficiaryId: string, since: string): Promise<AccessRequest[]> {
    const rows = await db
      .selectFrom("access_requests")
      .selectAll()
      .where("beneficiary_id", "=", beneficiaryId)
      .where("state", "=", "approved")
      .where("submitted_at", ">=", since)
      .execute();
    // A person's own auto-approvals: break-glass and a workflow's elevations are not theirs to ration.
    return rows
      .map(fromRow)
      .filter((r) => r.autoApproved === true && r.kind !== "break-glass" && r.kind !== "workflow");
  },

  /** Pending requests submitted before `before`: those the reminder and escalation timers look at. */
  async pendingSubmittedBefore(db: Db, before: string, limit: number): Promise<AccessRequest[]> {
    const rows = await db
      .selectFrom("access_requests")
      .selectAll()
      .where("state", "=", "pending")
      .where("submitted_at", "<=", before)
      .orderBy("submitted_at")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  },

  /** Pending requests whose time ran out by `now`: what the expiry timer closes. */
  async pendingExpiredBy(db: Db, now: string, limit: number): Promise<AccessRequest[]> {
    const rows = await db
      .selectFrom("access_requests")
      .selectAll()
      .where("state", "=", "pending")
      .where("expires_at", "<=", now)
      .orderBy("expires_at")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  },
};
