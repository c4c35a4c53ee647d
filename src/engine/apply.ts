import type { Connector } from "../connectors/connector-types.js";
import { ConnectorError } from "../connectors/connector-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { DEFAULT_RETRY, type RetryPolicy } from "../shared/backoff.js";
import { runClaimLoop } from "../shared/claim-loop.js";
import type { ClaimOwner } from "../store/claim-rows.js";
import type { Store } from "../store/database.js";
import { type OperationRecord, operationRepository } from "../store/operation-repository.js";
import { systemSlots } from "../store/system-slots.js";
import { describeError, type Executed, execute } from "./apply-execute.js";
import { createRecorder, type OperationOutcome, type OperationOutcomeKind } from "./apply-record.js";

export { checkMassChange, type MassChangeCount, massChangesOf } from "./mass-change.js";

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
  /**
   * Operations of one system executed at once (different identities): a number for every system, or
   * per system (tenure.yaml `systems.<name>.concurrency`). Default 8.
   */
  concurrency?: number | ((system: string) => number);
  /**
   * This process, recorded with each claim so that, should it die, the next start on this host gives
   * its claims back at once (claim-recovery.ts) instead of when their lease ends. Without it claims
   * wait for the lease.
   */
  owner?: ClaimOwner;
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

export type { OperationOutcome } from "./apply-record.js";

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
/** Operations claimed at a time, by default. */
export const DEFAULT_BATCH = 64;
const DEFAULT_CONCURRENCY = 8;
/** Results recorded together at most (fewer at the end of a batch). */
const DEFAULT_RECORD_GROUP = 32;
/**
 * How long a result waits for the operations still running beside it before it is recorded. A push's
 * operations start together and end within a few milliseconds: recorded one by one they cost a
 * transaction and a ledger append each (2,000 SCIM creates into OpenLDAP on PostgreSQL: one record
 * per push), together one for all.
 */
const RECORD_WAIT_MS = 10;

/**
 * Applies due operations until none is left (or `limit`, or `signal`): claims them in batches, executes
 * each on its system's connector as a lane frees up, records the outcomes in groups, and claims more
 * while the last ones run (a pipeline: see the comment above the loop). Returns per-operation
 * outcomes and a summary; a connector failure is an outcome, never an exception. It throws only when the
 * store itself fails to claim.
 *
 * Ordering and durability (docs/architecture.md "Durability"): the claim commits `running` before the connector write, and the
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
 * plan order. Different identities of one system run up to its `concurrency` at a time, each system in
 * its own lanes (shared/claim-loop.ts, shared/lanes.ts): a slow or frozen system fills only its own lanes and is left out of
 * further claims, so the other systems' operations go on at their normal speed. A call that hangs is
 * cut off by the connector's deadline (connector-pool.ts) and its operation retried later. Several
 * workers (processes) may run this against one PostgreSQL store; claims never overlap.
 */
export async function applyOperations(deps: ApplyDeps, options: ApplyOptions = {}): Promise<ApplyResult> {
  const { db } = deps.store;
  const leaseSeconds = deps.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const concurrencyOf = typeof concurrency === "number" ? () => concurrency : concurrency;

  const slots = systemSlots(deps.store);
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

  const record = createRecorder({
    db,
    workerId: deps.workerId,
    actor: deps.actor ?? `worker:${deps.workerId}`,
    random: deps.random ?? Math.random,
    now: deps.now,
    // A system gone from the configuration still gets its failures recorded, with the default spacing.
    retryPolicyOf: (system) => {
      try {
        return deps.retry(system);
      } catch {
        return DEFAULT_RETRY;
      }
    },
    ...(deps.notify === undefined ? {} : { notify: deps.notify }),
  });

  // A claim that fails (the database went away) ends the run like an empty claim, so the operations
  // executing finish and are recorded; the failure is thrown once they are.
  let claimError: unknown;
  const { outcomes, claimed, released } = await runClaimLoop<OperationRecord, Executed, OperationOutcome>({
    batchSize,
    limit,
    signal: options.signal,
    laneOf: (op) => op.system,
    concurrencyOf,
    claim: (want, exclude) =>
      claimError !== undefined
        ? Promise.resolve([])
        : operationRepository
            .claimDue(db, {
              // Claims are not bounded by the system's concurrency across processes: that takes away
              // the claims ahead that keep the lanes busy — one process then wrote 6,300 instead of
              // 48,000 operations a minute into OpenLDAP (bench/ldap-provision.bench.ts, PostgreSQL
              // store). What executes is bounded instead (`slots`, below).
              now: deps.now(),
              limit: want,
              workerId: deps.workerId,
              leaseSeconds,
              ...(deps.owner === undefined ? {} : { owner: deps.owner }),
              ...(options.system === undefined ? {} : { system: options.system }),
              ...(options.identityIds === undefined ? {} : { identityIds: options.identityIds }),
              ...(exclude.length === 0 ? {} : { excludeSystems: exclude }),
            })
            .catch((err: unknown) => {
              claimError = err;
              return [];
            }),
    // The lanes bound this process; the system's slots bound every process on the store (a write
    // waits there, its claim kept).
    run: (op) =>
      slots
        .hold(op.system, concurrencyOf(op.system), () => execute(op, connectorOf))
        .catch((err: unknown): Executed => ({ op, error: describeError(op, err), retryable: false })),
    // Per-operation bookkeeping costs more CPU than a directory write, and the store shares the CPU
    // with the connectors' event loop: results are recorded in groups (one transaction, one ledger
    // append) while the connector calls go on.
    record,
    recordGroup: DEFAULT_RECORD_GROUP,
    recordWaitMs: RECORD_WAIT_MS,
    // Nothing of this worker's is executing any more: every claim it holds can go back.
    release: () => operationRepository.releaseClaims(db, deps.workerId, deps.now()),
    onOutcome: (outcome, done, claimedSoFar) => deps.onProgress?.({ outcome, done, claimed: claimedSoFar }),
  });

  // Nothing of this run executes any more. An operation still claimed by it is one whose result could
  // not be recorded (the database went away): it goes back to the queue now rather than when its lease
  // ends, and runs again — idempotently — at the next claim. Best effort: the lease covers a failure.
  if (outcomes.some((o) => o.outcome === "skipped") || claimError !== undefined) {
    await operationRepository.releaseClaims(db, deps.workerId, deps.now()).catch(() => 0);
  }
  if (claimError !== undefined) throw claimError;

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
