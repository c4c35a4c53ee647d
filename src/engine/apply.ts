import type { Transaction } from "kysely";
import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import { type Connector, ConnectorError, type WriteResult } from "../connectors/connector-types.js";
import type { PlannedOperation } from "../domain/access-types.js";
import { notifyConnectorUnreachable, notifyOperationDead } from "../notify/notification-enqueue.js";
import type { LifecycleConfig, TenureConfig } from "../policy/config-types.js";
import { MassChangeError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { type OperationRecord, operationRepository } from "../store/operation-repository.js";
import type { Database } from "../store/schema-types.js";
import { type TaskRecord, taskRepository } from "../store/task-repository.js";
import { type AppliedChange, recordAccountChanges } from "./account-changes.js";
import { DEFAULT_RETRY, nextAttemptAt, type RetryPolicy } from "./backoff.js";
import { exceedsMassChangeThreshold } from "./mass-change.js";
import { operationDetails, operationSubject } from "./operation-events.js";

type Trx = Transaction<Database>;

export interface ApplyDeps {
  store: Pick<Store, "db">;
  /**
   * The connector of a system. Called at most once per system per `applyOperations` call; the caller
   * owns the connectors and closes them. Throwing (e.g. a system no longer configured) fails the
   * operations of that system without retry.
   */
  connectors: (system: string) => Connector;
  /** The retry policy of a system (tenure.yaml `systems.<name>.retry`), for the backoff between attempts. */
  retry: (system: string) => RetryPolicy;
  /** Read for every claim and every record, so a long run keeps real time (or a pinned one in tests). */
  now: () => Date;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  /** Unique per process (e.g. `host:pid:random`): claims are held and released by it. */
  workerId: string;
  /** Recorded as the actor of audit events; default `worker:<workerId>`. */
  actor?: string;
  /** How long a claim holds; must exceed the time one batch takes. Default 300. */
  leaseSeconds?: number;
  /** Operations claimed at a time. Default 64. */
  batchSize?: number;
  /** Operations of one system executed at once (different identities). Default 8. */
  concurrency?: number;
  onProgress?: (progress: ApplyProgress) => void;
  /**
   * tenure.yaml's `notify` section. With it, an operation going dead queues `operation.dead`, and a
   * failure because a system was unreachable queues `connector.unreachable` (at most one per system per
   * window), each in the transaction that records the failure, so no alert is lost or sent for a
   * failure that was not recorded.
   */
  notify?: Pick<TenureConfig, "notify">;
}

export interface ApplyOptions {
  /** Only operations of this system. */
  system?: string;
  /** Only operations of these identities (see ClaimOptions.identityIds). */
  identityIds?: readonly string[];
  /** Claim at most this many operations in this run. */
  limit?: number;
  /**
   * Graceful stop: no new operation starts once aborted; those in flight finish and are recorded, and
   * the claimed ones not started are released to `pending` for any worker.
   */
  signal?: AbortSignal;
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

export interface ApplySummary {
  claimed: number;
  succeeded: number;
  /** Successes that changed the system. */
  changed: number;
  /** Handed to a person as tasks (manual systems): open until someone marks them done. */
  awaiting: number;
  failed: number;
  dead: number;
  skipped: number;
  /** Claimed operations given back unstarted because the run was aborted. */
  released: number;
}

export interface ApplyResult {
  outcomes: OperationOutcome[];
  /** The operations that went dead in this run: each needs a person (and an alert, once notify lands). */
  dead: OperationOutcome[];
  summary: ApplySummary;
}

export interface ApplyProgress {
  outcome: OperationOutcome;
  /** Operations finished in this run so far, and claimed so far. */
  done: number;
  claimed: number;
}

const DEFAULT_LEASE_SECONDS = 300;
const DEFAULT_BATCH = 64;
const DEFAULT_CONCURRENCY = 8;
/** Results recorded together at most (fewer at the end of a batch). */
const DEFAULT_RECORD_GROUP = 32;
const MAX_ERROR_LENGTH = 2000;

/**
 * Applies due operations until none is left (or `limit`, or `signal`): claims them in batches, executes
 * each on its system's connector as a lane frees up, records the outcomes in groups, and claims more
 * while the last ones run (a pipeline: see the comment above the loop). Returns per-operation
 * outcomes and a summary; a connector failure is an outcome, never an exception. It throws only when the
 * store itself fails to claim.
 *
 * Ordering and durability (STYLE.md #5): the claim commits `running` before the connector write, and the
 * result is recorded after it — in one transaction: the operation's state, the actual state in `accounts`
 * and the audit event (`operation.succeeded`, `operation.failed` or `operation.dead`). A connector that
 * hands the change to a person (`awaiting`, a manual system) gets, in that same transaction, its
 * operation parked as `awaiting`, a task row and an `operation.awaiting` event instead; the operation
 * succeeds, and its account changes, only when the task is done (manual-tasks.ts). A crash between
 * the write and the record leaves the operation `running`; once its claim expires any worker claims it
 * again and re-executes it, and the connector's idempotency turns that second write into a no-op
 * (`changed: false`). So a change is never lost, and a succeeded operation is recorded (and audited)
 * exactly once: recording requires still holding the claim.
 *
 * A re-claimed operation whose claims have already used every attempt without recording a result (its
 * workers kept dying on it) goes dead without running again, so one poisonous operation cannot crash
 * workers forever.
 *
 * Concurrency: only the earliest open operation of an identity in a system is ever claimable, and the
 * next becomes claimable once it is recorded, so an identity's operations in a system run strictly in
 * plan order. Different identities of one system run up to `concurrency` at a time, and systems run
 * side by side. Several workers (processes) may run this against one PostgreSQL store; claims never
 * overlap.
 */
export async function applyOperations(deps: ApplyDeps, options: ApplyOptions = {}): Promise<ApplyResult> {
  const { db } = deps.store;
  const random = deps.random ?? Math.random;
  const actor = deps.actor ?? `worker:${deps.workerId}`;
  const leaseSeconds = deps.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;
  const concurrency = Math.max(1, deps.concurrency ?? DEFAULT_CONCURRENCY);
  const recordGroup = DEFAULT_RECORD_GROUP;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const signal = options.signal;

  const outcomes: OperationOutcome[] = [];
  let claimed = 0;

  const connectorCache = new Map<string, Connector | Error>();
  const connectorOf = (system: string): Connector => {
    let entry = connectorCache.get(system);
    if (entry === undefined) {
      try {
        entry = deps.connectors(system);
      } catch (err) {
        entry = err instanceof Error ? err : new Error(String(err));
      }
      connectorCache.set(system, entry);
    }
    if (entry instanceof Error) {
      throw entry instanceof ConnectorError ? entry : new ConnectorError(system, "invalid", entry.message);
    }
    return entry;
  };

  // A system gone from the configuration still gets its failures recorded, with the default spacing.
  const retryPolicyOf = (system: string): RetryPolicy => {
    try {
      return deps.retry(system);
    } catch {
      return DEFAULT_RETRY;
    }
  };

  const finish = (outcome: OperationOutcome) => {
    outcomes.push(outcome);
    deps.onProgress?.({ outcome, done: outcomes.length, claimed });
  };

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
    await recordAccountChanges(
      trx,
      succeeded.filter((e) => held.has(e.op.id)),
      now,
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
    const events: AuditEventInput[] = [];
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
    await appendEvents(trx, events);
    return outcomes;
  }

  async function execute(op: OperationRecord): Promise<Executed> {
    if (op.attempts > op.maxAttempts) {
      return {
        op,
        error:
          `${op.system}: abandoned after ${op.maxAttempts} attempt(s) whose worker stopped before recording a ` +
          "result; it may or may not have been applied — check the system, then retry it",
        retryable: false,
      };
    }
    try {
      return { op, result: await runOnConnector(connectorOf(op.system), op) };
    } catch (err) {
      return {
        op,
        error: describeError(op, err),
        retryable: err instanceof ConnectorError && err.retryable,
        ...(err instanceof ConnectorError ? { kind: err.kind } : {}),
      };
    }
  }

  /*
   * The run is a pipeline, not a sequence of batches: claimed operations wait in `ready` and start as
   * soon as their system has a free lane (`concurrency` per system); when fewer than a lane's worth are
   * waiting, the next batch is claimed while the others run. Results are group-committed: they wait
   * until `recordGroup` of them have arrived, or until nothing else is waiting to start, and are then
   * recorded together — one transaction, one ledger append, a handful of statements — while the
   * connector calls go on. Per-operation bookkeeping costs more CPU than a directory write, and the
   * store shares the CPU with the connectors' event loop, so recording one at a time would throttle the
   * run. An identity's next operation becomes claimable only once its previous one is recorded, so
   * order within (identity, system) holds whatever runs in parallel.
   */
  const ready: OperationRecord[] = [];
  const running = new Map<string, number>();
  let inFlight = 0;
  /** The last claim found nothing; a record landing since may have unblocked operations behind it. */
  let drained = false;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const nextEvent = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  const pendingRecords: Executed[] = [];
  let recording: Promise<void> | undefined;
  const recordLoop = async () => {
    while (pendingRecords.length > 0) {
      for (const outcome of await record(pendingRecords.splice(0))) finish(outcome);
      drained = false;
      wakeUp();
    }
    recording = undefined;
    wakeUp();
  };
  const recorded = async () => {
    if (pendingRecords.length > 0) recording ??= recordLoop();
    while (recording !== undefined) await recording;
  };

  const start = (op: OperationRecord) => {
    running.set(op.system, (running.get(op.system) ?? 0) + 1);
    inFlight++;
    void execute(op)
      .catch((err: unknown): Executed => ({ op, error: describeError(op, err), retryable: false }))
      .then((executed) => {
        running.set(op.system, (running.get(op.system) ?? 1) - 1);
        inFlight--;
        pendingRecords.push(executed);
        if (pendingRecords.length >= recordGroup || ready.length === 0) recording ??= recordLoop();
        wakeUp();
      });
  };

  for (;;) {
    if (signal?.aborted) break;
    for (let i = 0; i < ready.length; ) {
      const op = ready[i]!;
      if ((running.get(op.system) ?? 0) < concurrency) {
        ready.splice(i, 1);
        start(op);
      } else i++;
    }
    if (ready.length < concurrency && claimed < limit && !drained) {
      const batch = await operationRepository.claimDue(db, {
        now: deps.now(),
        limit: Math.min(batchSize, limit - claimed),
        workerId: deps.workerId,
        leaseSeconds,
        ...(options.system === undefined ? {} : { system: options.system }),
        ...(options.identityIds === undefined ? {} : { identityIds: options.identityIds }),
      });
      claimed += batch.length;
      ready.push(...batch);
      drained = batch.length === 0;
      // Operations may have finished during the claim (their wake-up found nobody waiting): look again.
      continue;
    }
    if (inFlight === 0 && ready.length === 0) {
      // Results not yet recorded may unblock the operations queued behind them.
      if (pendingRecords.length > 0 || recording !== undefined) {
        await recorded();
        continue;
      }
      if (drained || claimed >= limit) break;
      continue;
    }
    await nextEvent();
  }

  let released = 0;
  while (inFlight > 0) await nextEvent();
  await recorded();
  if (ready.length > 0) {
    // Nothing of ours is executing any more, so giving every claim back is safe.
    released = await operationRepository.releaseClaims(db, deps.workerId, deps.now());
  }

  const count = (kind: OperationOutcomeKind) => outcomes.filter((o) => o.outcome === kind).length;
  return {
    outcomes,
    dead: outcomes.filter((o) => o.outcome === "dead"),
    summary: {
      claimed,
      succeeded: count("succeeded"),
      changed: outcomes.filter((o) => o.outcome === "succeeded" && o.changed === true).length,
      awaiting: count("awaiting"),
      failed: count("failed"),
      dead: count("dead"),
      skipped: count("skipped"),
      released,
    },
  };
}

type Succeeded = AppliedChange;

/** A claimed operation after its connector call, before its result is recorded. */
type Executed =
  | Succeeded
  | { op: OperationRecord; error: string; retryable: boolean; kind?: ConnectorError["kind"] };

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

/** The connector call an operation stands for. Malformed operations fail without retry. */
async function runOnConnector(connector: Connector, op: OperationRecord): Promise<WriteResult> {
  const ref = { username: op.username, nativeId: op.nativeId };
  const needEntitlement = (): string => {
    if (op.entitlement === null || op.entitlement === "") {
      throw new ConnectorError(op.system, "invalid", `${op.kind} of "${op.username}" names no entitlement`);
    }
    return op.entitlement;
  };
  switch (op.kind) {
    case "create":
      return connector.create({
        username: op.username,
        attributes: op.attributes ?? {},
        enabled: op.enabled ?? true,
      });
    case "update":
      return connector.update(ref, op.attributes ?? {});
    case "enable":
      return connector.enable(ref);
    case "disable":
      return connector.disable(ref);
    case "delete":
      return connector.delete(ref);
    case "grant":
      return connector.grant(ref, needEntitlement());
    case "revoke":
      return connector.revoke(ref, needEntitlement());
    case "rotate":
      if (connector.rotateCredential === undefined) {
        throw new ConnectorError(op.system, "invalid", "this connector cannot rotate credentials");
      }
      return connector.rotateCredential(ref);
  }
}

/** The message stored in `last_error`: the connector's (already redacted) or a redacted generic one. */
function describeError(op: Pick<OperationRecord, "system">, err: unknown): string {
  const text =
    err instanceof ConnectorError
      ? err.message
      : `${op.system}: unexpected ${err instanceof Error ? err.name : "error"}: ${err instanceof Error ? err.message : String(err)}`;
  // A second line of defence: connection URLs never leave with their password.
  const redacted = text.replace(/(\/\/[^:/@\s]*):[^@\s]*@/g, "$1:***@");
  return redacted.length > MAX_ERROR_LENGTH ? `${redacted.slice(0, MAX_ERROR_LENGTH - 1)}…` : redacted;
}

/** The systems whose planned disables and deletes exceed the threshold, with the counts. */
export interface MassChangeCount {
  system: string;
  disable: number;
  delete: number;
  /** Accounts the system has (the population the threshold is a share of). */
  total: number;
}

/**
 * Counts, per system, the distinct accounts the operations would disable or delete (an account both
 * disabled and deleted counts once in the total compared) and returns the systems where that exceeds
 * `lifecycle.massChangeThreshold` of the system's accounts. Pure.
 */
export function massChangesOf(
  ops: readonly PlannedOperation[],
  actualAccountCountBySystem: Readonly<Record<string, number>>,
  threshold: LifecycleConfig["massChangeThreshold"],
): MassChangeCount[] {
  const removals = new Map<string, { disable: Set<string>; delete: Set<string> }>();
  for (const op of ops) {
    if (op.kind !== "disable" && op.kind !== "delete") continue;
    const entry = removals.get(op.system) ?? { disable: new Set<string>(), delete: new Set<string>() };
    removals.set(op.system, entry);
    entry[op.kind].add(op.username);
  }
  const exceeded: MassChangeCount[] = [];
  for (const [system, entry] of removals) {
    const affected = new Set([...entry.disable, ...entry.delete]).size;
    const total = actualAccountCountBySystem[system] ?? 0;
    if (exceedsMassChangeThreshold(affected, total, threshold)) {
      exceeded.push({ system, disable: entry.disable.size, delete: entry.delete.size, total });
    }
  }
  return exceeded.sort((a, b) => (a.system < b.system ? -1 : a.system > b.system ? 1 : 0));
}

/**
 * Mass-change protection for provisioning: throws when, in any system, the operations would disable or
 * delete more than `lifecycle.massChangeThreshold` of its accounts. Call it before enqueueing, so nothing
 * at all is applied; a caller with confirmation skips it and audits who confirmed.
 * @throws MassChangeError (exit code 3) naming every such system with its counts.
 */
export function checkMassChange(
  ops: readonly PlannedOperation[],
  actualAccountCountBySystem: Readonly<Record<string, number>>,
  threshold: LifecycleConfig["massChangeThreshold"],
): void {
  const exceeded = massChangesOf(ops, actualAccountCountBySystem, threshold);
  if (exceeded.length === 0) return;
  const parts = exceeded.map(
    (c) => `${c.system} (disable ${c.disable}, delete ${c.delete} of ${c.total} accounts)`,
  );
  throw new MassChangeError(
    `this plan would disable or delete more than lifecycle.massChangeThreshold (${threshold.percent}% and at ` +
      `least ${threshold.minimum}) of the accounts in ${parts.join(", ")}; nothing was queued. Check the HR ` +
      "data and the policy; if the change is intended, run again with --confirm-mass-change.",
    Object.fromEntries(
      exceeded.map((c) => [`system:${c.system}`, { disable: c.disable, delete: c.delete, total: c.total }]),
    ),
  );
}
