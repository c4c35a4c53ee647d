import type { Transaction } from "kysely";
import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import type { PlannedOperation, SystemDef } from "../domain/access-types.js";
import type { LifecycleConfig } from "../policy/config-types.js";
import { DEFAULT_RETRY } from "../shared/backoff.js";
import { currentTraceId } from "../shared/trace-context.js";
import { accountRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import {
  type EnqueueResult,
  type OperationRecord,
  operationRepository,
} from "../store/operation-repository.js";
import type { Database, Db } from "../store/schema-types.js";
import { checkMassChange, type MassChangeCount, massChangesOf } from "./apply.js";
import { operationDetails, operationSubject } from "./operation-events.js";

export interface EnqueuePlanOptions {
  now: Date;
  /** Who queues, recorded in the audit (e.g. `cli:alice`). */
  actor: string;
  /**
   * Lets the plan through mass-change protection; the audit records who confirmed, per system. Callers
   * set it only after guardMassChange accepted the confirmed plan hash.
   */
  confirmMassChange?: boolean;
  /** The confirmed plan hash, recorded in `operation.mass_change_confirmed`. */
  planHash?: string;
  lifecycle: Pick<LifecycleConfig, "massChangeThreshold">;
  /** For each system's `retry.maxAttempts`, stored on its operations. */
  systems: Readonly<Record<string, Pick<SystemDef, "retry">>>;
  /**
   * Accounts per system, the population the threshold is a share of. The planner has read them already;
   * when absent they are counted from the store.
   */
  accountCountBySystem?: Readonly<Record<string, number>>;
  /**
   * Writes made first in the same transaction — what caused the plan (a push's identities and records),
   * so they and the operations commit together — returning their audit events, appended before the
   * operations' in the transaction's one ledger append.
   */
  alongside?: (trx: Transaction<Database>) => Promise<AuditEventInput[]>;
}

export interface EnqueuePlanResult extends EnqueueResult {
  /** Systems past the mass-change threshold that went ahead because the caller confirmed. */
  massChangeConfirmed: MassChangeCount[];
}

/**
 * Queues a plan: mass-change check, insert, and one `operation.queued` audit event per queued operation
 * (plus `operation.mass_change_confirmed` per system let through by confirmation), all in one
 * transaction — so a plan stopped by protection, or any failure, queues nothing.
 *
 * The check counts only operations not queued already: re-planning while a confirmed mass change is
 * still being applied does not ask again for the same changes.
 *
 * Concurrency: safe to run beside workers and other enqueuers; the unique index on open idempotency keys
 * makes a concurrent duplicate a skip. On SQLite the transaction takes the write lock as it begins
 * (store/sqlite-immediate-dialect.ts), so another process's write waits rather than failing.
 * @throws MassChangeError (exit code 3) when a system's disables and deletes exceed the threshold and
 *   `confirmMassChange` is not set; nothing is queued.
 */
export async function enqueuePlan(
  store: Pick<Store, "db">,
  ops: readonly PlannedOperation[],
  options: EnqueuePlanOptions,
): Promise<EnqueuePlanResult> {
  const at = options.now.toISOString();
  const threshold = options.lifecycle.massChangeThreshold;
  return store.db.transaction().execute(async (trx) => {
    const events: AuditEventInput[] = options.alongside === undefined ? [] : await options.alongside(trx);
    const open = await operationRepository.openKeys(
      trx,
      ops.map((op) => op.idempotencyKey),
    );
    const fresh = ops.filter((op) => !open.has(op.idempotencyKey));
    const population = options.accountCountBySystem ?? (await countAccounts(trx));
    if (!options.confirmMassChange) checkMassChange(fresh, population, threshold);
    const confirmed = options.confirmMassChange ? massChangesOf(fresh, population, threshold) : [];

    const result = await operationRepository.enqueue(trx, ops, {
      now: options.now,
      maxAttemptsFor: (system) => options.systems[system]?.retry.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
      // The push, CLI run or scheduled run this happens in (shared/trace-context.ts); in pushes grouped
      // into one, each operation's own push.
      traceId: currentTraceId(),
      traceIdOf: (op) => currentTraceId(op.identityId),
    });
    for (const c of confirmed) {
      events.push({
        time: at,
        actor: options.actor,
        action: "operation.mass_change_confirmed",
        subject: `system:${c.system}`,
        details: {
          system: c.system,
          disable: c.disable,
          delete: c.delete,
          total: c.total,
          confirmedBy: options.actor,
          ...(options.planHash !== undefined ? { planHash: options.planHash } : {}),
        },
      });
    }
    for (const op of result.queued) events.push(queuedEvent(op, at, options.actor));
    await appendEvents(trx, events);
    return { ...result, massChangeConfirmed: confirmed };
  });
}

/**
 * Queues operations in the caller's transaction, each with its `operation.queued` audit event, so that a
 * workflow's own record and the change it decides commit (or fail) together: a non-human identity disabled
 * by policy and its account's disable (workflows/nhi-disable.ts). An operation whose idempotency key is
 * open already is skipped (`alreadyQueued`) and audited no second time.
 *
 * No mass-change check: use it for changes decided one at a time by a policy with its own notice period,
 * never for a computed plan (that is {@link enqueuePlan}'s, which stops a plan past the threshold).
 */
export async function enqueueInTransaction(
  trx: Db,
  ops: readonly PlannedOperation[],
  options: Pick<EnqueuePlanOptions, "now" | "actor" | "systems">,
): Promise<EnqueueResult> {
  const result = await operationRepository.enqueue(trx, ops, {
    now: options.now,
    maxAttemptsFor: (system) => options.systems[system]?.retry.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
    traceId: currentTraceId(),
  });
  const at = options.now.toISOString();
  await appendEvents(
    trx,
    result.queued.map((op) => queuedEvent(op, at, options.actor)),
  );
  return result;
}

/**
 * Puts a dead operation back in the queue (attempts reset, due at once) and audits who did it
 * (`operation.retried`), in one transaction.
 * @throws NotFoundError when no dead operation has this id; TenureError `operation_open` when the same
 *   change is queued again already.
 */
export async function retryDeadOperation(
  store: Pick<Store, "db">,
  id: string,
  options: { now: Date; actor: string },
): Promise<OperationRecord> {
  return store.db.transaction().execute(async (trx) => {
    const before = await operationRepository.find(trx, id);
    const op = await operationRepository.retryDead(trx, id, options.now);
    await appendEvents(trx, [
      {
        time: options.now.toISOString(),
        actor: options.actor,
        action: "operation.retried",
        subject: operationSubject(op),
        details: {
          operationId: op.id,
          system: op.system,
          kind: op.kind,
          username: op.username,
          entitlement: op.entitlement,
          identity: op.identityId,
          previousAttempts: before?.attempts ?? null,
          lastError: op.lastError,
        },
      },
    ]);
    return op;
  });
}

function queuedEvent(op: OperationRecord, at: string, actor: string): AuditEventInput {
  return {
    time: at,
    actor,
    action: "operation.queued",
    // Filed under the identity, as apply files the outcome, so its timeline shows the whole story.
    subject: operationSubject(op),
    details: { ...operationDetails(op), idempotencyKey: op.idempotencyKey },
  };
}

async function countAccounts(db: Store["db"] | Parameters<typeof accountRepository.list>[0]) {
  const counts: Record<string, number> = {};
  for (const account of await accountRepository.list(db))
    counts[account.system] = (counts[account.system] ?? 0) + 1;
  return counts;
}
