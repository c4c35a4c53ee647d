import type { Selectable } from "kysely";
import type { OperationKind } from "../domain/access-types.js";
import { newId } from "../shared/ids.js";
import type { Db, TasksTable } from "./schema-types.js";

export const TASK_STATES = ["open", "done", "cancelled"] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** An operation of a manual system handed to a person, and what became of it. */
export interface TaskRecord {
  id: string;
  operationId: string;
  system: string;
  kind: OperationKind;
  identityId: string | null;
  username: string;
  entitlement: string | null;
  /** What the person is asked to do (rendered by the connector; free of secrets). */
  instructions: string;
  fulfiller: string;
  state: TaskState;
  createdAt: string;
  /** When it becomes overdue: created plus the system's `slaHours`. */
  dueAt: string;
  /** When the person said it was done (or it was cancelled). */
  doneAt: string | null;
  /** Who did (or cancelled) it, as the audit names them (`user:alice`). */
  doneBy: string | null;
  /** Their note, or the reason of a cancellation. */
  note: string | null;
  /** When the overdue alert went out; set once. */
  overdueNotifiedAt: string | null;
}

/** A task to create: the operation it stands for, what to do, who, and by when. */
export type NewTask = Pick<
  TaskRecord,
  "operationId" | "system" | "kind" | "identityId" | "username" | "entitlement" | "instructions" | "fulfiller"
> & { dueAt: Date };

export interface TaskFilter {
  /** Default `open`; `all` for every state. */
  state?: TaskState | "all";
  system?: string;
  /** Only tasks due at or before this instant (overdue at it). */
  dueBy?: Date;
  /** Default 1000. */
  limit?: number;
}

// 16 columns a row: 1,000 rows stay well under either database's bound-parameter limit.
const CHUNK = 1000;

function fromRow(r: Selectable<TasksTable>): TaskRecord {
  return {
    id: r.id,
    operationId: r.operation_id,
    system: r.system,
    kind: r.kind as OperationKind,
    identityId: r.identity_id,
    username: r.username,
    entitlement: r.entitlement,
    instructions: r.instructions,
    fulfiller: r.fulfiller,
    state: r.state as TaskState,
    createdAt: r.created_at,
    dueAt: r.due_at,
    doneAt: r.done_at,
    doneBy: r.done_by,
    note: r.note,
    overdueNotifiedAt: r.overdue_notified_at,
  };
}

/**
 * Tasks of manual systems. Functions take a db or a transaction: a task is created in the transaction
 * that parks its operation as `awaiting`, and closed in the one that finishes the operation, so the two
 * never disagree.
 */
export const taskRepository = {
  /**
   * Inserts one open task per operation, created at `now`, and returns them in order. An operation has
   * one task row: one that already has an open task (re-run after a crash) keeps it as it is; one whose
   * task was cancelled and that was then retried by hand gets that row opened again, with new
   * instructions and due time (the cancellation stays in the audit ledger).
   */
  async insertMany(db: Db, tasks: readonly NewTask[], now: Date): Promise<TaskRecord[]> {
    const at = now.toISOString();
    for (let i = 0; i < tasks.length; i += CHUNK) {
      const rows: TasksTable[] = tasks.slice(i, i + CHUNK).map((t) => ({
        id: newId(),
        operation_id: t.operationId,
        system: t.system,
        kind: t.kind,
        identity_id: t.identityId,
        username: t.username,
        entitlement: t.entitlement,
        instructions: t.instructions,
        fulfiller: t.fulfiller,
        state: "open",
        created_at: at,
        due_at: t.dueAt.toISOString(),
        done_at: null,
        done_by: null,
        note: null,
        overdue_notified_at: null,
      }));
      await db
        .insertInto("tasks")
        .values(rows)
        .onConflict((oc) =>
          oc
            .column("operation_id")
            .doUpdateSet((eb) => ({
              instructions: eb.ref("excluded.instructions"),
              fulfiller: eb.ref("excluded.fulfiller"),
              state: "open",
              created_at: eb.ref("excluded.created_at"),
              due_at: eb.ref("excluded.due_at"),
              done_at: null,
              done_by: null,
              note: null,
              overdue_notified_at: null,
            }))
            .where("tasks.state", "!=", "open"),
        )
        .execute();
    }
    const byOperation = new Map<string, TaskRecord>();
    for (let i = 0; i < tasks.length; i += CHUNK) {
      const rows = await db
        .selectFrom("tasks")
        .selectAll()
        .where(
          "operation_id",
          "in",
          tasks.slice(i, i + CHUNK).map((t) => t.operationId),
        )
        .execute();
      for (const r of rows) byOperation.set(r.operation_id, fromRow(r));
    }
    return tasks.flatMap((t) => byOperation.get(t.operationId) ?? []);
  },

  async find(db: Db, id: string): Promise<TaskRecord | undefined> {
    const row = await db.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /**
   * The tasks whose id starts with `prefix` (at most `limit`): how people name a task by its first
   * characters. Ids are lower-case hex and dashes; any other prefix matches nothing (so it can hold no
   * LIKE wildcard).
   */
  async findByPrefix(db: Db, prefix: string, limit = 2): Promise<TaskRecord[]> {
    const normal = prefix.toLowerCase();
    if (!/^[0-9a-f-]+$/.test(normal)) return [];
    const rows = await db
      .selectFrom("tasks")
      .selectAll()
      .where("id", "like", `${normal}%`)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  },

  /** Tasks matching every filter, oldest due first (then by id). */
  async list(db: Db, filter: TaskFilter = {}): Promise<TaskRecord[]> {
    let q = db.selectFrom("tasks").selectAll();
    const state = filter.state ?? "open";
    if (state !== "all") q = q.where("state", "=", state);
    if (filter.system !== undefined) q = q.where("system", "=", filter.system);
    if (filter.dueBy !== undefined) q = q.where("due_at", "<=", filter.dueBy.toISOString());
    const rows = await q
      .orderBy("due_at")
      .orderBy("id")
      .limit(filter.limit ?? 1000)
      .execute();
    return rows.map(fromRow);
  },

  /**
   * Closes an open task: `done` or `cancelled`, at `now`, by `by` with `note`. Returns the task, or
   * undefined — changing nothing — when it is not open (any more); one statement decides and writes.
   */
  async close(
    db: Db,
    id: string,
    input: { state: "done" | "cancelled"; now: Date; by: string; note: string | null },
  ): Promise<TaskRecord | undefined> {
    const row = await db
      .updateTable("tasks")
      .set({ state: input.state, done_at: input.now.toISOString(), done_by: input.by, note: input.note })
      .where("id", "=", id)
      .where("state", "=", "open")
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /**
   * Marks open tasks due by `now` that have not been alerted about as alerted, and returns them (at
   * most `limit`, oldest due first). The update decides, so two schedulers running at once alert about
   * a task once: only the one whose update changed the row gets it back.
   */
  async claimOverdue(db: Db, now: Date, limit = 500): Promise<TaskRecord[]> {
    const at = now.toISOString();
    const due = db
      .selectFrom("tasks")
      .select("id")
      .where("state", "=", "open")
      .where("due_at", "<=", at)
      .where("overdue_notified_at", "is", null)
      .orderBy("due_at")
      .orderBy("id")
      .limit(limit);
    const rows = await db
      .updateTable("tasks")
      .set({ overdue_notified_at: at })
      .where("id", "in", due)
      .where("overdue_notified_at", "is", null)
      .returningAll()
      .execute();
    return rows.map(fromRow).sort((a, b) => (a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : 0));
  },

  /** How many tasks are open, and how many of them are overdue at `now`. */
  async countOpen(db: Db, now: Date): Promise<{ open: number; overdue: number }> {
    const row = await db
      .selectFrom("tasks")
      .select((eb) => [
        eb.fn.countAll().as("open"),
        eb.fn.sum(eb.case().when("due_at", "<=", now.toISOString()).then(1).else(0).end()).as("overdue"),
      ])
      .where("state", "=", "open")
      .executeTakeFirst();
    return { open: Number(row?.open ?? 0), overdue: Number(row?.overdue ?? 0) };
  },
};
