import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { InvalidInputError, NotFoundError, TenureError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { type OperationRecord, operationRepository } from "../store/operation-repository.js";
import type { Db } from "../store/schema-types.js";
import { type TaskRecord, taskRepository } from "../store/task-repository.js";
import { recordAccountChanges } from "./account-changes.js";
import { type LifecycleNoticeConfig, queueLifecycleNotices } from "./lifecycle-notices.js";
import { operationDetails, operationSubject } from "./operation-events.js";

/** Who closes a task, and when. */
export interface CloseTaskInput {
  /** The person who did (or cancels) the work; recorded as actor `user:<by>`. Required: no anonymous completion. */
  by: string;
  now: Date;
  /** Who entered it, when not the same as `by` (e.g. `cli:root`); recorded beside it. */
  recordedBy?: string;
  /**
   * The configuration (its `notify`, and the leaver SLA): with it, the joiner and leaver notices that
   * closing the task completes are queued in the same transaction, as apply queues them. Without it,
   * none are (a caller with no configuration to route them).
   */
  notify?: LifecycleNoticeConfig;
}

export interface TaskOutcome {
  task: TaskRecord;
  operation: OperationRecord;
}

const MAX_NAME = 200;
const MAX_NOTE = 2000;

/** A task cannot be closed in its state: done already, cancelled, or its operation no longer awaits it. */
export class TaskStateError extends TenureError {
  constructor(message: string) {
    super("task_not_open", message, { exitCode: 1, httpStatus: 409 });
  }
}

/**
 * Marks a manual system's task done, in one transaction: the task (done at `now`, by, note), its
 * operation `succeeded` with `finished_at` = `now` — the real completion time — the account change
 * (through the code apply uses), and an `operation.succeeded` audit event with actor `user:<by>`, the
 * task, the note, and how long it took against the SLA; with `input.notify`, the joiner or leaver
 * notice the account change completes (account-changes.ts). Concurrent completions of one task: exactly
 * one wins (each step is a guarded update), the other gets TaskStateError.
 * @throws InvalidInputError for an empty `by`, or a `by` or note with control characters or too long.
 * @throws NotFoundError when no task has this id.
 * @throws TaskStateError when the task is not open, or its operation is not awaiting; nothing changed.
 */
export async function completeTask(
  store: Pick<Store, "db">,
  taskId: string,
  input: CloseTaskInput & { note?: string | null },
): Promise<TaskOutcome> {
  const by = checkName(input.by);
  const note = checkNote(input.note ?? null, "--note");
  return store.db.transaction().execute(async (trx) => {
    const { task, operation } = await closeBoth(trx, taskId, { state: "done", by, note, now: input.now });
    const actor = `user:${by}`;
    const notices = await recordAccountChanges(
      trx,
      [{ op: operation, result: { changed: true } }],
      input.now,
      actor,
      input.notify,
    );
    const createdAt = Date.parse(task.createdAt);
    const dueAt = Date.parse(task.dueAt);
    await appendEvents(trx, [
      closeEvent("operation.succeeded", { task, operation }, input, by, {
        changed: true,
        nativeId: operation.nativeId,
        doneBy: by,
        note,
        taskCreatedAt: task.createdAt,
        dueAt: task.dueAt,
        tookHours: hours(input.now.getTime() - createdAt),
        slaHours: hours(dueAt - createdAt),
        withinSla: input.now.getTime() <= dueAt,
      }),
      ...notices,
    ]);
    return { task, operation };
  });
}

/**
 * Cancels a manual system's task, in one transaction: the task `cancelled` (by, reason), its operation
 * `dead` with the reason as its last error — so it no longer holds back the identity's later operations
 * and shows among dead operations, where `tenure operations retry` can queue it again — and an
 * `operation.dead` audit event with actor `user:<by>`. The next plan queues the change anew if policy
 * still wants it. No account changes; with `input.notify`, a cancelled create counts as failed for good
 * for the joiner notice (the manager is told of the accounts that exist, as when apply gives up on one).
 * @throws InvalidInputError when `by` or `reason` is empty, has control characters or is too long.
 * @throws NotFoundError when no task has this id; TaskStateError when it is not open or its operation
 *   is not awaiting (nothing changed).
 */
export async function cancelTask(
  store: Pick<Store, "db">,
  taskId: string,
  input: CloseTaskInput & { reason: string },
): Promise<TaskOutcome> {
  const by = checkName(input.by);
  const reason = checkNote(input.reason, "--reason");
  if (reason === null) throw new InvalidInputError("--reason: say why the task is cancelled");
  return store.db.transaction().execute(async (trx) => {
    const { task, operation } = await closeBoth(trx, taskId, {
      state: "cancelled",
      by,
      note: reason,
      now: input.now,
    });
    const notices =
      input.notify === undefined
        ? []
        : await queueLifecycleNotices(
            trx,
            [{ kind: operation.kind, identityId: operation.identityId, outcome: "dead" }],
            input.notify,
            input.now,
            `user:${by}`,
          );
    await appendEvents(trx, [
      closeEvent("operation.dead", { task, operation }, input, by, {
        error: operation.lastError,
        retryable: false,
        why: "task cancelled",
        cancelledBy: by,
      }),
      ...notices,
    ]);
    return { task, operation };
  });
}

/** The audit event of a closed task's operation, by `user:<by>`: the operation, the task, and `extra`. */
function closeEvent(
  action: string,
  { task, operation }: TaskOutcome,
  input: CloseTaskInput,
  by: string,
  extra: Record<string, unknown>,
): AuditEventInput {
  return {
    time: input.now.toISOString(),
    actor: `user:${by}`,
    action,
    subject: operationSubject(operation),
    details: {
      ...operationDetails(operation),
      attempts: operation.attempts,
      taskId: task.id,
      fulfiller: task.fulfiller,
      ...extra,
      ...(input.recordedBy === undefined ? {} : { recordedBy: input.recordedBy }),
    },
  };
}

/**
 * Closes the task and ends its awaiting operation, task first (the first write takes SQLite's lock, so
 * nothing read here goes stale). Either both change or, by throwing, the caller's transaction undoes
 * the task's change too.
 */
async function closeBoth(
  trx: Db,
  taskId: string,
  close: { state: "done" | "cancelled"; by: string; note: string | null; now: Date },
): Promise<TaskOutcome> {
  const task = await taskRepository.close(trx, taskId, { ...close, by: `user:${close.by}` });
  if (task === undefined) {
    const existing = await taskRepository.find(trx, taskId);
    if (existing === undefined) throw new NotFoundError(`no task ${taskId}`);
    throw new TaskStateError(
      `task ${taskId} is already ${existing.state} (by ${existing.doneBy ?? "?"} at ${existing.doneAt ?? "?"}); nothing was changed`,
    );
  }
  const operation =
    close.state === "done"
      ? await operationRepository.completeAwaiting(trx, task.operationId, close.now)
      : await operationRepository.cancelAwaiting(
          trx,
          task.operationId,
          close.now,
          `${task.system}: task ${task.id} cancelled by user:${close.by}: ${close.note ?? ""}`,
        );
  if (operation === undefined) {
    const op = await operationRepository.find(trx, task.operationId);
    throw new TaskStateError(
      `task ${taskId}: its operation ${task.operationId} is ${op?.state ?? "gone"}, not awaiting; nothing was changed`,
    );
  }
  return { task, operation };
}

export interface OverdueAlertResult {
  /** The tasks alerted about in this call (each is alerted about once, ever). */
  alerted: TaskRecord[];
  /** Notifications queued for them (0 when `notify.routes` has no `task.overdue`). */
  notifications: number;
}

/**
 * The SLA alert: every open task past its due time that has not been alerted about gets a
 * `task.overdue` notification (through the outbox, routed by `notify.routes["task.overdue"]`) and a
 * `task.overdue` audit event, and is marked alerted — all in one transaction per batch, so an alert is
 * never recorded without its notification or sent twice. Safe to call as often as wanted (the
 * scheduler runs it periodically; `tenure tasks remind` runs it once) and from several processes at
 * once: the mark decides who alerts. Reads the clock only through `now`.
 */
export async function alertOverdueTasks(
  store: Pick<Store, "db">,
  config: Pick<TenureConfig, "notify" | "policy">,
  now: Date,
  options: { actor?: string; batchSize?: number } = {},
): Promise<OverdueAlertResult> {
  const batchSize = options.batchSize ?? 500;
  const actor = options.actor ?? "system:tasks";
  const result: OverdueAlertResult = { alerted: [], notifications: 0 };
  for (;;) {
    const batch = await store.db.transaction().execute(async (trx) => {
      const tasks = await taskRepository.claimOverdue(trx, now, batchSize);
      let queued = 0;
      const events: AuditEventInput[] = [];
      for (const task of tasks) {
        const sent = await enqueueNotifications(
          trx,
          {
            name: "task.overdue",
            data: {
              taskId: task.id,
              system: task.system,
              kind: task.kind,
              username: task.username,
              identity: task.identityId,
              entitlement: task.entitlement,
              fulfiller: task.fulfiller,
              owner: config.policy.systems[task.system]?.owner ?? null,
              instructions: task.instructions,
              createdAt: task.createdAt,
              dueAt: task.dueAt,
            },
          },
          config,
          now,
        );
        queued += sent.queued.length;
        events.push({
          time: now.toISOString(),
          actor,
          action: "task.overdue",
          subject: operationSubject(task),
          details: {
            taskId: task.id,
            operationId: task.operationId,
            system: task.system,
            kind: task.kind,
            username: task.username,
            entitlement: task.entitlement,
            fulfiller: task.fulfiller,
            dueAt: task.dueAt,
            overdueHours: hours(now.getTime() - Date.parse(task.dueAt)),
            notifications: sent.queued.length,
          },
        });
      }
      await appendEvents(trx, events);
      return { tasks, queued };
    });
    result.alerted.push(...batch.tasks);
    result.notifications += batch.queued;
    if (batch.tasks.length < batchSize) return result;
  }
}

/**
 * The task a person means by an id or its first characters (as `tenure tasks list` shows them).
 * @throws NotFoundError when none matches; InvalidInputError when several do (give more of the id).
 */
export async function resolveTask(db: Db, ref: string): Promise<TaskRecord> {
  const exact = await taskRepository.find(db, ref);
  if (exact !== undefined) return exact;
  const found = await taskRepository.findByPrefix(db, ref.trim(), 2);
  if (found.length === 0) throw new NotFoundError(`no task ${JSON.stringify(ref)}`);
  if (found.length > 1) {
    throw new InvalidInputError(`"${ref}" matches more than one task; give more of the id`);
  }
  return found[0]!;
}

/** Hours, to a tenth. */
function hours(ms: number): number {
  return Math.round(ms / 360_000) / 10;
}

// Names and notes go into the audit ledger and onto terminals: printable text only (notes may have lines).
const CONTROL = /\p{Cc}/u;

function checkName(raw: string): string {
  const by = raw.trim();
  if (by === "") throw new InvalidInputError("--by: say who did the work (a name or an email address)");
  if (by.length > MAX_NAME || CONTROL.test(by)) {
    throw new InvalidInputError(`--by: expected a name of at most ${MAX_NAME} printable characters`);
  }
  return by;
}

function checkNote(raw: string | null, option: string): string | null {
  if (raw === null) return null;
  const note = raw.replaceAll("\r\n", "\n").trim();
  if (note === "") return null;
  if (note.length > MAX_NOTE || CONTROL.test(note.replaceAll("\n", ""))) {
    throw new InvalidInputError(
      `${option}: expected at most ${MAX_NOTE} printable characters (lines allowed)`,
    );
  }
  return note;
}
