import type { RotationState, RotationStep } from "../domain/rotation-steps.js";
import type { Db, NhiRotationsTable } from "./schema-types.js";
import { isUniqueViolation } from "./store-errors.js";

/**
 * Credential rotations of non-human identities (`nhi_rotations`): one row per rotation, its state moved
 * forward step by step, finished as `done` or `failed`. Never holds a secret. At most one unfinished row
 * per NHI (a partial unique index), so two processes cannot rotate the same credential at once.
 */

export interface NhiRotationRecord {
  id: string;
  nhiId: string;
  system: string;
  username: string;
  state: RotationState;
  failedStep: RotationStep | null;
  error: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  actor: string;
  reason: "scheduled" | "on-demand";
}

function fromRow(r: NhiRotationsTable): NhiRotationRecord {
  return {
    id: r.id,
    nhiId: r.nhi_id,
    system: r.system,
    username: r.username,
    state: r.state as RotationState,
    failedStep: r.failed_step as RotationStep | null,
    error: r.error,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    actor: r.actor,
    reason: r.reason as NhiRotationRecord["reason"],
  };
}

export const nhiRotationRepository = {
  /**
   * Records a rotation as `started`. Returns false, writing nothing, when the NHI has an unfinished one.
   * Not for use inside a transaction on PostgreSQL: the refused insert would abort it.
   */
  async start(
    db: Db,
    r: Pick<NhiRotationRecord, "id" | "nhiId" | "system" | "username" | "actor" | "reason">,
    at: string,
  ): Promise<boolean> {
    try {
      await db
        .insertInto("nhi_rotations")
        .values({
          id: r.id,
          nhi_id: r.nhiId,
          system: r.system,
          username: r.username,
          state: "started",
          failed_step: null,
          error: null,
          started_at: at,
          updated_at: at,
          finished_at: null,
          actor: r.actor,
          reason: r.reason,
        })
        .execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  },

  /** Moves an unfinished rotation to `state` (a step done). */
  async advance(db: Db, id: string, state: RotationState, at: string): Promise<void> {
    await db
      .updateTable("nhi_rotations")
      .set({ state, updated_at: at })
      .where("id", "=", id)
      .where("finished_at", "is", null)
      .execute();
  },

  /** Ends an unfinished rotation as `done`. Returns whether it was unfinished. */
  async finish(db: Db, id: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable("nhi_rotations")
      .set({ state: "done", updated_at: at, finished_at: at })
      .where("id", "=", id)
      .where("finished_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  /** Ends an unfinished rotation as `failed` at `step` with `error` (free of secrets). Returns whether it was unfinished. */
  async fail(db: Db, id: string, step: RotationStep, error: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable("nhi_rotations")
      .set({ state: "failed", failed_step: step, error, updated_at: at, finished_at: at })
      .where("id", "=", id)
      .where("finished_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  async get(db: Db, id: string): Promise<NhiRotationRecord | undefined> {
    const row = await db.selectFrom("nhi_rotations").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** The NHI's unfinished rotation, if one runs. */
  async running(db: Db, nhiId: string): Promise<NhiRotationRecord | undefined> {
    const row = await db
      .selectFrom("nhi_rotations")
      .selectAll()
      .where("nhi_id", "=", nhiId)
      .where("finished_at", "is", null)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** The NHI's rotations, newest first. */
  async listFor(db: Db, nhiId: string, limit = 100): Promise<NhiRotationRecord[]> {
    const rows = await db
      .selectFrom("nhi_rotations")
      .selectAll()
      .where("nhi_id", "=", nhiId)
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  },
};
