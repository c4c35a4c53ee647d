import type { Transaction } from "kysely";
import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import { notifyConnectorUnreachable, notifyOperationDead } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { nextAttemptAt, type RetryPolicy } from "../shared/backoff.js";
import type { Store } from "../store/database.js";
import { type OperationRecord, operationRepository } from "../store/operation-repository.js";
import type { Database } from "../store/schema-types.js";
import { type TaskRecord, taskRepository } from "../store/task-repository.js";
import { recordAccountChanges } from "./account-changes.js";
import { describeError, type Executed, type Succeeded } from "./apply-execute.js";
import { type LifecycleNoticeConfig, queueLifecycleNotices } from "./lifecycle-notices.js";
import { operationDetails, operationSubject } from "./operation-events.js";

type Trx = Transaction<Database>;

export interface RecorderDeps {
  db: Store["db"];
  workerId: string;
  actor: string;
  retryPolicyOf: (system: string) => RetryPolicy;
  random: () => number;
  now: () => Date;
  /** Where alerts go; with `lifecycle` too (the whole config), the leaver notice reads its SLA from it. */
  notify?: Pick<TenureConfig, "notify"> & Partial<Pick<LifecycleNoticeConfig, "lifecycle">>;
}

/**
 * What happened to one claimed operation. `skipped`: its result could not be recorded — the claim
 * expired and another worker took the operation over (it records the result), or the store failed; the
 * operation stays `running` until its claim expires and is then run again, which idempotency makes safe.
 * `awaiting`: the connector handed the change to a person (a manual system); it is not done yet.
 */
export type OperationOutcomeKind = "succeeded" | "awaiting" | "failed" | "dead" | "skipped";

export interface OperationOutcome {
  id: string;
  system: string;
  kind: OperationRecord["kind"];
  identityId: string | null;
  username: string;
  entitlement: string | null;
  outcome: OperationOutcomeKind;
  /** Attempts including this one. */
  attempts: number;
  /** On success: whether the system changed (false: it already matched, e.g. a re-run after a crash). */
  changed?: boolean;
  /** On failure or skip: what went wrong, free of secrets. */
  error?: string;
  /** For `failed`: when the retry is due. */
  nextAttemptAt?: string;
  /** For `awaiting`: the task a person must do, who, and by when. */
  task?: { id: string; fulfiller: string; dueAt: string };
}

/**
 * The recording half of apply: turns executed operations into their durable outcome — the operation's
 * state, the account change, tasks, notifications and audit events — in one transaction per group.
 */
export function createRecorder(
  deps: RecorderDeps,
): (executed: readonly Executed[]) => Promise<OperationOutcome[]> {
  const { db, actor, random, retryPolicyOf } = deps;
  /**
   * Records the results of a batch in one transaction (group commit: one commit and one ledger append
   * for the batch instead of one each per operation). Each operation's record still requires its claim:
   * an operation whose claim was lost gets no account change and no event, and is `skipped`. If the
   * transaction fails, each operation is recorded alone, so one bad record cannot cost the others
   * theirs.
   */
  async function record(executed: readonly Executed[]): Promise<OperationOutcome[]> {
    const now = deps.now();
    try {
      return await db.transaction().execute((trx) => recordIn(trx, executed, now));
    } catch (err) {
      if (executed.length > 1) {
        const outcomes: OperationOutcome[] = [];
        for (const one of executed) outcomes.push(...(await record([one])));
        return outcomes;
      }
      const [one] = executed;
      if (one === undefined) return [];
      const what = "result" in one ? "the result" : "the failure";
      return [
        {
          ...outcomeBase(one.op),
          outcome: "skipped",
          error: `recording ${what} failed: ${describeError(one.op, err)}`,
        },
      ];
    }
  }

  async function recordIn(trx: Trx, executed: readonly Executed[], now: Date): Promise<OperationOutcome[]> {
    const at = now.toISOString();
    const succeeded = executed.filter(
      (e): e is Succeeded => "result" in e && e.result.awaiting === undefined,
    );
    const handedOver = executed.filter(
      (e): e is Succeeded => "result" in e && e.result.awaiting !== undefined,
    );
    // First writes of the transaction: they take the lock, and without the claim nothing else is written.
    const held = await operationRepository.markSucceededMany(
      trx,
      succeeded.map((e) => e.op.id),
      { now, workerId: deps.workerId },
    );
    const parked = await operationRepository.markAwaitingMany(
      trx,
      handedOver.map((e) => e.op.id),
      { now, workerId: deps.workerId },
    );
    // The notices these changes complete are queued with them (account-changes.ts); those that a create
    // failing for good completes, below.
    // The account journal's events open the transaction's one ledger append, at its end.
    const events: AuditEventInput[] = [];
    const noticeEvents = await recordAccountChanges(
      trx,
      succeeded.filter((e) => held.has(e.op.id)),
      now,
      actor,
      deps.notify,
      events,
    );
    const tasks = new Map(
      (
        await createTasks(
          trx,
          handedOver.filter((e) => parked.has(e.op.id)),
          now,
        )
      ).map((t) => [t.operationId, t]),
    );
    const outcomes: OperationOutcome[] = [];
    for (const e of executed) {
      const base = outcomeBase(e.op);
      if ("result" in e && e.result.awaiting !== undefined) {
        const task = tasks.get(e.op.id);
        if (task === undefined) {
          outcomes.push({ ...base, outcome: "skipped", error: LEASE_LOST });
          continue;
        }
        events.push({
          time: at,
          actor,
          action: "operation.awaiting",
          subject: operationSubject(e.op),
          details: {
            ...eventDetails(e.op),
            taskId: task.id,
            fulfiller: task.fulfiller,
            dueAt: task.dueAt,
            slaHours: e.result.awaiting.slaHours,
          },
        });
        outcomes.push({
          ...base,
          outcome: "awaiting",
          task: { id: task.id, fulfiller: task.fulfiller, dueAt: task.dueAt },
        });
        continue;
      }
      if ("result" in e) {
        if (!held.has(e.op.id)) {
          outcomes.push({ ...base, outcome: "skipped", error: LEASE_LOST });
          continue;
        }
        events.push({
          time: at,
          actor,
          action: "operation.succeeded",
          subject: operationSubject(e.op),
          details: {
            ...eventDetails(e.op),
            changed: e.result.changed,
            nativeId: e.result.nativeId ?? e.op.nativeId,
          },
        });
        outcomes.push({ ...base, outcome: "succeeded", changed: e.result.changed });
        continue;
      }
      const retryAt = nextAttemptAt(now, Math.max(1, e.op.attempts), retryPolicyOf(e.op.system), random);
      const next = await operationRepository.markFailed(trx, e.op.id, {
        now,
        workerId: deps.workerId,
        error: e.error,
        retryable: e.retryable,
        nextAttemptAt: retryAt,
      });
      if (next === undefined) {
        outcomes.push({ ...base, outcome: "skipped", error: LEASE_LOST });
        continue;
      }
      if (deps.notify !== undefined) {
        if (next === "dead") await notifyOperationDead(trx, e.op, e.error, deps.notify, now);
        if (e.kind === "unreachable")
          await notifyConnectorUnreachable(trx, e.op.system, e.error, deps.notify, now);
      }
      events.push({
        time: at,
        actor,
        action: next === "dead" ? "operation.dead" : "operation.failed",
        subject: operationSubject(e.op),
        details: {
          ...eventDetails(e.op),
          maxAttempts: e.op.maxAttempts,
          error: e.error,
          retryable: e.retryable,
          ...(next === "failed"
            ? { nextAttemptAt: retryAt.toISOString() }
            : { why: e.retryable ? "attempts exhausted" : "not retryable" }),
        },
      });
      outcomes.push(
        next === "dead"
          ? { ...base, outcome: "dead", error: e.error }
          : { ...base, outcome: "failed", error: e.error, nextAttemptAt: retryAt.toISOString() },
      );
    }
    events.push(...noticeEvents);
    if (deps.notify !== undefined) {
      const dead = outcomes.filter((o) => o.outcome === "dead");
      if (dead.length > 0) events.push(...(await queueLifecycleNotices(trx, dead, deps.notify, now, actor)));
    }
    await appendEvents(trx, events);
    return outcomes;
  }

  return record;
}

const LEASE_LOST = "the claim expired and another worker took the operation over; it records the result";

/** One open task per operation handed to a person, due after the system's SLA. */
function createTasks(trx: Trx, handedOver: readonly Succeeded[], now: Date): Promise<TaskRecord[]> {
  return taskRepository.insertMany(
    trx,
    handedOver.flatMap(({ op, result }) =>
      result.awaiting === undefined
        ? []
        : [
            {
              operationId: op.id,
              system: op.system,
              kind: op.kind,
              identityId: op.identityId,
              username: op.username,
              entitlement: op.entitlement,
              instructions: result.awaiting.instructions,
              fulfiller: result.awaiting.fulfiller,
              dueAt: new Date(now.getTime() + result.awaiting.slaHours * 3_600_000),
            },
          ],
    ),
    now,
  );
}

function outcomeBase(op: OperationRecord): Omit<OperationOutcome, "outcome"> {
  return {
    id: op.id,
    system: op.system,
    kind: op.kind,
    identityId: op.identityId,
    username: op.username,
    entitlement: op.entitlement,
    attempts: op.attempts,
  };
}

function eventDetails(op: OperationRecord): Record<string, unknown> {
  return { ...operationDetails(op), attempts: op.attempts };
}
