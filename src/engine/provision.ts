import { randomUUID } from "node:crypto";
import os from "node:os";
import type { Account, PlannedOperation } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { advanceByDate } from "../domain/lifecycle.js";
import { localDate } from "../domain/local-date.js";
import { type PlanAllResult, planAllSteps } from "../domain/plan-all.js";
import { notifyConnectorUnreachable } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountLinkRepository, accountRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { sodExceptionRepository } from "../store/sod-repository.js";
import { unprovisionedRepository } from "../store/unprovisioned-repository.js";
import { type ApplyProgress, type ApplyResult, applyOperations, DEFAULT_BATCH } from "./apply.js";
import { recoverDeadClaimsNowAndThen, thisProcess } from "./claim-recovery.js";
import { type ConnectorPool, connectorPool, DEFAULT_DEADLINES } from "./connector-pool.js";
import { loadDesiredInputs } from "./desired-inputs.js";
import { type EnqueuePlanResult, enqueuePlan } from "./enqueue.js";
import { drainSteps } from "./give-way.js";
import { guardMassChange, type MassChangeLevel, massChangesOf, planHashOf } from "./mass-change.js";
import { policyToday } from "./policy-today.js";
import { reconcileSystem } from "./reconcile.js";

export { type ConnectorPool, connectorPool } from "./connector-pool.js";

export { policyToday } from "./policy-today.js";

export interface ProvisionPlan extends PlanAllResult {
  identities: Identity[];
  accounts: Account[];
  accountCountBySystem: Record<string, number>;
}

/**
 * Plans every identity against the actual state in the store. `overrides` replaces stored identities
 * (a dry run's lifecycle changes, or `plan --at` moving everyone forward by the calendar) without
 * writing them. Reads only.
 */
export async function computeProvisionPlan(
  store: Store,
  config: TenureConfig,
  options: { now: Date; overrides?: readonly Identity[]; advanceToNow?: boolean },
): Promise<ProvisionPlan> {
  const { db } = store;
  const [stored, accounts, links, { assignments, exclusions, dormant }, sodExceptions] = await Promise.all([
    identityRepository.list(db),
    accountRepository.list(db),
    accountLinkRepository.list(db),
    loadDesiredInputs(db),
    sodExceptionsInForce(db, config, options.now),
  ]);
  const byId = new Map(stored.map((i) => [i.id, i]));
  for (const o of options.overrides ?? []) byId.set(o.id, o);
  let identities = [...byId.values()];
  if (options.advanceToNow) {
    // Previewing a future date: starts, end dates and terminations due by then take effect first.
    identities = identities.map((i) => {
      const tz = config.sources[i.source]?.timeZone ?? "UTC";
      return advanceByDate(i, { now: options.now, today: localDate(options.now, tz), newId: randomUUID })
        .identity;
    });
  }
  const linkMap = new Map<string, Record<string, string>>();
  for (const l of links) {
    const entry = linkMap.get(l.identityId) ?? {};
    entry[l.system] = l.username;
    linkMap.set(l.identityId, entry);
  }
  const result = await drainSteps(
    planAllSteps({
      policy: config.policy,
      lifecycle: config.lifecycle,
      identities,
      assignments,
      exclusions,
      dormant,
      accounts,
      links: linkMap,
      now: options.now,
      today: policyToday(config, options.now),
      sodExceptions,
    }),
  );
  const accountCountBySystem: Record<string, number> = {};
  for (const a of accounts) {
    if (a.vanishedAt) continue;
    accountCountBySystem[a.system] = (accountCountBySystem[a.system] ?? 0) + 1;
  }
  return { ...result, identities, accounts, accountCountBySystem };
}

/**
 * identity id → rules with an approved exception in force at `now`: what `sod.onBirthrightConflict:
 * withhold` lets through. Read only when withholding is configured.
 */
export async function sodExceptionsInForce(
  db: Store["db"],
  config: TenureConfig,
  now: Date,
  identityIds?: readonly string[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (config.policy.sod?.onBirthrightConflict !== "withhold") return out;
  for (const e of await sodExceptionRepository.inForce(db, now.toISOString(), identityIds)) {
    const rules = out.get(e.identityId) ?? new Set<string>();
    out.set(e.identityId, rules.add(e.rule));
  }
  return out;
}

export function workerId(): string {
  return `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export interface ProvisionResult {
  plan: ProvisionPlan;
  queued: EnqueuePlanResult | null;
  applied: ApplyResult | null;
}

/** Provisioning planned but not written: what {@link planProvisioning} hands to {@link commitProvisioning}. */
export interface PlannedProvisioning {
  plan: ProvisionPlan;
  /** The operations to queue: the plan's, less systems not asked for or never read. */
  ops: PlannedOperation[];
  /** The operations not queued already (open ones are skipped by the queue): what the run would write. */
  fresh: PlannedOperation[];
  newLinks: Array<{ identityId: string; system: string; username: string }>;
  /** Systems where the fresh operations would disable or delete more than the threshold of the accounts. */
  exceeded: MassChangeLevel[];
}

/**
 * Plans provisioning and counts it for mass-change protection, writing nothing but what first
 * contact reads (reconcileFirstContact: a system never read is read before it is planned).
 */
export async function planProvisioning(
  store: Store,
  config: TenureConfig,
  pool: ConnectorPool,
  options: { now: Date; actor: string; overrides?: readonly Identity[]; system?: string },
): Promise<PlannedProvisioning> {
  const at = options.now;
  const unreachable = await reconcileFirstContact(store, config, pool, { now: at, actor: options.actor });
  const plan = await computeProvisionPlan(store, config, {
    now: at,
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });
  const ops: PlannedOperation[] = plan.operations.filter(
    (o) => (options.system === undefined || o.system === options.system) && !unreachable.has(o.system),
  );
  for (const [system, message] of unreachable) {
    plan.problems.push({ kind: "system-unread", identityId: null, system, username: null, message });
  }
  const newLinks = [...plan.allocated].flatMap(([identityId, systems]) =>
    Object.entries(systems)
      .filter(([system]) => !unreachable.has(system))
      .map(([system, username]) => ({ identityId, system, username })),
  );
  return {
    plan,
    ops,
    newLinks,
    ...(await countForMassChange(store, config, ops, plan.accountCountBySystem)),
  };
}

/**
 * What mass-change protection counts of planned operations: those not queued already (`fresh`: the
 * queue skips the open ones, and a confirmed change being applied is not asked about again), and per
 * system the distinct accounts they would disable or delete, against the system's accounts. Reads only.
 */
export async function countForMassChange(
  store: Pick<Store, "db">,
  config: Pick<TenureConfig, "lifecycle">,
  ops: readonly PlannedOperation[],
  accountCountBySystem: Readonly<Record<string, number>>,
): Promise<{ fresh: PlannedOperation[]; exceeded: MassChangeLevel[] }> {
  const open = await operationRepository.openKeys(
    store.db,
    ops.map((o) => o.idempotencyKey),
  );
  const fresh = ops.filter((o) => !open.has(o.idempotencyKey));
  const exceeded = massChangesOf(fresh, accountCountBySystem, config.lifecycle.massChangeThreshold).map(
    (c): MassChangeLevel => ({
      kind: "system",
      name: c.system,
      disable: c.disable,
      delete: c.delete,
      total: c.total,
    }),
  );
  return { fresh, exceeded };
}

/**
 * Writes planned provisioning once mass-change protection let it through: queues the operations
 * (auditing the confirmation when `confirmed` holds the plan hash), records the usernames the plan
 * allocated, then applies everything due — including operations queued by earlier runs waiting for a retry.
 */
export async function commitProvisioning(
  store: Store,
  config: TenureConfig,
  pool: ConnectorPool,
  run: PlannedProvisioning,
  options: {
    now: () => Date;
    actor: string;
    confirmed: string | null;
    onProgress?: (p: ApplyProgress) => void;
    system?: string;
  },
): Promise<ProvisionResult> {
  const at = options.now();
  const queued = await enqueuePlan(store, run.ops, {
    now: at,
    actor: options.actor,
    confirmMassChange: options.confirmed !== null,
    ...(options.confirmed !== null ? { planHash: options.confirmed } : {}),
    lifecycle: config.lifecycle,
    systems: config.policy.systems,
    accountCountBySystem: run.plan.accountCountBySystem,
  });
  await accountLinkRepository.insertMany(store.db, run.newLinks, at.toISOString());
  // Who gets no account this run, for `tenure status` and GET /api/unprovisioned until the next run.
  await unprovisionedRepository.replace(store.db, run.plan.problems, at.toISOString(), options.system);
  const applied = await applyQueued(store, config, {
    now: options.now,
    actor: options.actor,
    pool,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.system !== undefined ? { system: options.system } : {}),
  });
  return { plan: run.plan, queued, applied };
}

/**
 * Plan → mass-change protection → queue → apply, for provisioning alone (the run's label is
 * `provisioning`): a stopped run writes nothing but its one `mass-change.stopped` audit event and
 * notification (MassChangeError); a confirmation (`confirmMassChange`, the plan hash) that is not the
 * plan computed now writes nothing (PlanChangedError).
 */
export async function provision(
  store: Store,
  config: TenureConfig,
  options: {
    now: () => Date;
    actor: string;
    /** The plan hash an admin confirmed (see guardMassChange). */
    confirmMassChange?: string | undefined;
    overrides?: readonly Identity[];
    onProgress?: (p: ApplyProgress) => void;
    system?: string;
  },
): Promise<ProvisionResult> {
  const at = options.now();
  const pool = connectorPool(config);
  try {
    const run = await planProvisioning(store, config, pool, {
      now: at,
      actor: options.actor,
      ...(options.overrides ? { overrides: options.overrides } : {}),
      ...(options.system !== undefined ? { system: options.system } : {}),
    });
    const planHash = planHashOf({ sources: [], operations: run.fresh });
    const confirmed = await guardMassChange(store, config, {
      run: "provisioning",
      actor: options.actor,
      now: at,
      planHash,
      exceeded: run.exceeded,
      confirm: options.confirmMassChange,
      confirmWith: (h) => `tenure sync --confirm-mass-change ${h}`,
    });
    return await commitProvisioning(store, config, pool, run, {
      now: options.now,
      actor: options.actor,
      confirmed: confirmed ? planHash : null,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.system !== undefined ? { system: options.system } : {}),
    });
  } finally {
    await pool.closeAll();
  }
}

/**
 * The systems first contact would read (never read, and readable): a run that creates identities must
 * write them before it reads these, or their existing accounts could not be adopted by correlation.
 */
export async function systemsNeverRead(
  store: Store,
  config: TenureConfig,
  pool: ConnectorPool,
): Promise<string[]> {
  const seen = await systemsRead(store, config);
  return Object.keys(config.policy.systems).filter((system) => {
    if (seen.has(system)) return false;
    try {
      if (pool.get(system).describe().readsAccounts) return true;
      readsNothing(config).add(system);
      return false;
    } catch {
      return true; // reconcileFirstContact reports why it cannot be opened
    }
  });
}

/** By configuration (frozen): its systems whose connector reads no accounts (manual), found so far. */
const noReads = new WeakMap<TenureConfig, Set<string>>();

function readsNothing(config: TenureConfig): Set<string> {
  let systems = noReads.get(config);
  if (systems === undefined) {
    systems = new Set();
    noReads.set(config, systems);
  }
  return systems;
}

/** The systems each store has had read at least once, as this process last saw them, by its handle. */
const readOnce = new WeakMap<object, Set<string>>();

/**
 * The systems reconcile has read at least once (a `reconcile_runs` row). A system once read stays read
 * (the runs are kept), so while every system of `config` is among those already seen, or is one whose
 * connector reads nothing (never read, as there is nothing to read), the store is not asked again: every
 * push asked before planning (196 of 11,688 statements of a 2,000-create burst).
 */
async function systemsRead(store: Store, config: TenureConfig): Promise<Set<string>> {
  const known = readOnce.get(store.db);
  const nothing = noReads.get(config);
  if (known !== undefined && Object.keys(config.policy.systems).every((s) => known.has(s) || nothing?.has(s)))
    return known;
  const rows = await store.db.selectFrom("reconcile_runs").select("system").distinct().execute();
  const seen = new Set(rows.map((r) => r.system));
  readOnce.set(store.db, seen);
  return seen;
}

/**
 * Before Tenure first writes to a system it reads it: existing accounts are adopted by the
 * correlation rule instead of being created twice. Returns the systems that could not be read this
 * time, with why; they are left out of this run's plan and tried again at the next. Each also queues
 * a `connector.unreachable` notification (at most one per system per window).
 */
export async function reconcileFirstContact(
  store: Store,
  config: TenureConfig,
  pool: ConnectorPool,
  options: { now: Date; actor: string },
): Promise<Map<string, string>> {
  const seen = await systemsRead(store, config);
  const unreachable = new Map<string, string>();
  for (const system of Object.keys(config.policy.systems)) {
    if (seen.has(system)) continue;
    try {
      const connector = pool.get(system);
      // A system with no API (manual) has nothing to adopt: its accounts are the ones Tenure records.
      if (!connector.describe().readsAccounts) {
        readsNothing(config).add(system);
        continue;
      }
      await reconcileSystem(store, config.policy, system, connector, options);
      // `seen` is the set kept for the store: the next push finds the system read without asking.
      seen.add(system);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      unreachable.set(
        system,
        `${system}: not provisioned this run: it has never been read and reading it failed (${reason})`,
      );
      // Connector messages are already free of secrets; the notification is throttled per window.
      await store.db
        .transaction()
        .execute((trx) => notifyConnectorUnreachable(trx, system, reason, config, options.now));
    }
  }
  return unreachable;
}

/** Applies every due operation (new, or waiting for a retry) with each system's connector. */
export async function applyQueued(
  store: Store,
  config: TenureConfig,
  options: {
    now: () => Date;
    actor: string;
    onProgress?: (p: ApplyProgress) => void;
    system?: string;
    /** Only the operations of these identities (an event-driven push). */
    identityIds?: readonly string[];
    /** Connectors already open (closed by their owner); without it, opened and closed here. */
    pool?: ConnectorPool;
    /** Graceful stop (see ApplyOptions.signal): in-flight operations finish, claimed ones are released. */
    signal?: AbortSignal;
    /** Operations claimed at a time (default 64). */
    batchSize?: number;
  },
): Promise<ApplyResult> {
  const pool = options.pool ?? connectorPool(config);
  const owner = thisProcess();
  try {
    // Claims of a process on this host that died are taken over now, not when their lease ends.
    await recoverDeadClaimsNowAndThen(store, { now: options.now(), actor: options.actor, self: owner });
    const systems = config.policy.systems;
    return await applyOperations(
      {
        store,
        connectors: (system) => pool.get(system),
        retry: (system) =>
          config.policy.systems[system]?.retry ?? {
            maxAttempts: 5,
            baseDelaySeconds: 30,
            maxDelaySeconds: 3600,
          },
        concurrency: (system) => systems[system]?.concurrency ?? 8,
        leaseSeconds: leaseFor(config),
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        now: options.now,
        workerId: workerId(),
        owner,
        actor: options.actor,
        notify: config,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
      {
        ...(options.system === undefined ? {} : { system: options.system }),
        ...(options.identityIds === undefined ? {} : { identityIds: options.identityIds }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
  } finally {
    if (options.pool === undefined) await pool.closeAll();
  }
}

/**
 * How long apply's claims hold: past the time an operation may wait in its system's lane queue and then
 * run — a batch's worth of deadlines, `concurrency` at a time — and never less than 300 s nor more than
 * an hour. With the defaults (30 s, 8 lanes, batches of 64) that is 300 s.
 */
export function leaseFor(config: TenureConfig): number {
  let longest = 300;
  for (const system of Object.values(config.policy.systems)) {
    const deadline = system.timeoutSeconds ?? DEFAULT_DEADLINES.timeoutSeconds;
    const rounds = Math.ceil(DEFAULT_BATCH / Math.max(1, system.concurrency ?? 8)) + 1;
    longest = Math.max(longest, Math.ceil(deadline * rounds));
  }
  return Math.min(longest, 3600);
}
