import type { Db } from "./schema-types.js";

/** Workflow events seen (replay protection) and the grants an opened workflow made. */
export const workflowRepository = {
  /** Records an event id; false when it was seen before (a replay). */
  async accept(db: Db, workflow: string, eventId: string, at: string): Promise<boolean> {
    // One statement, so two deliveries of the same id at the same moment cannot both be accepted.
    const result = await db
      .insertInto("workflow_events")
      .values({ workflow, event_id: eventId, received_at: at })
      .onConflict((oc) => oc.columns(["workflow", "event_id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  },

  async addGrant(
    db: Db,
    grant: { workflow: string; incident: string; requestId: string; identityId: string; openedAt: string },
  ): Promise<void> {
    await db
      .insertInto("workflow_grants")
      .values({
        workflow: grant.workflow,
        incident: grant.incident,
        request_id: grant.requestId,
        identity_id: grant.identityId,
        opened_at: grant.openedAt,
      })
      .execute();
  },

  /** The grants of an incident still open, and who holds each. */
  async openGrants(
    db: Db,
    workflow: string,
    incident: string,
  ): Promise<Array<{ requestId: string; identityId: string }>> {
    const rows = await db
      .selectFrom("workflow_grants")
      .select(["request_id", "identity_id"])
      .where("workflow", "=", workflow)
      .where("incident", "=", incident)
      .where("closed_at", "is", null)
      .execute();
    return rows.map((r) => ({ requestId: r.request_id, identityId: r.identity_id }));
  },

  async closeGrants(db: Db, workflow: string, incident: string, at: string): Promise<void> {
    await db
      .updateTable("workflow_grants")
      .set({ closed_at: at })
      .where("workflow", "=", workflow)
      .where("incident", "=", incident)
      .where("closed_at", "is", null)
      .execute();
  },
};
