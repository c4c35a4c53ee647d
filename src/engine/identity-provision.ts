import type { PlannedOperation } from "../domain/access-types.js";
import type { PlanAllResult } from "../domain/plan-all.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountLinkRepository, accountRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { ApplyResult } from "./apply.js";
import { type EnqueuePlanOptions, type EnqueuePlanResult, enqueuePlan } from "./enqueue.js";
import { planIdentities } from "./identity-plan.js";
import { guardMassChange, planHashOf } from "./mass-change.js";
import {
  applyQueued,
  type ConnectorPool,
  connectorPool,
  countForMassChange,
  reconcileFirstContact,
} from "./provision.js";
import { type SodScanResult, scanChanged } from "./sod-scan.js";

/** Some identities planned at once (planIdentities), with the systems first contact could not read. */
export interface IdentityPlan {
  plan: PlanAllResult;
  /** The plan's operations, less those of systems that could not be read. */
  ops: PlannedOperation[];
  identityIds: string[];
}

export interface IdentityProvisioning extends IdentityPlan {
  queued: EnqueuePlanResult;
  applied: ApplyResult;
  /** The separation-of-duties scan of these identities after the change (null: no rules). */
  sod: SodScanResult | null;
}

/**
 * The accounts per system mass-change protection takes a share of, counted only when some system's
 * disables and deletes pass the threshold's minimum (a change for a few people never does): else none.
 */
export async function populationFor(
  store: Pick<Store, "db">,
  config: Pick<TenureConfig, "lifecycle">,
  ops: readonly PlannedOperation[],
): Promise<Record<string, number>> {
  const threshold = config.lifecycle.massChangeThreshold;
  const removals = new Map<string, number>();
  for (const op of ops) {
    if (op.kind === "disable" || op.kind === "delete")
      removals.set(op.system, (removals.get(op.system) ?? 0) + 1);
  }
  if (![...removals.values()].some((n) => n > threshold.minimum)) return {};
  return accountRepository.countBySystem(store.db);
}

/**
 * Queues the planned operations of some identities, records the usernames the plan allocated, and
 * applies their due operations now — the write half shared by an HR push (engine/ingest.ts) and an
 * access change (a grant, an expiry: {@link provisionIdentities}).
 */
export async function commitIdentityPlan(
  store: Store,
  config: TenureConfig,
  pool: ConnectorPool,
  planned: IdentityPlan & { unreachable: ReadonlyMap<string, string> },
  options: {
    now: Date;
    actor: string;
    accountCountBySystem: Record<string, number>;
    /** The confirmed plan hash when mass-change protection was confirmed; null otherwise. */
    confirmed: string | null;
    massChange: boolean;
    /** What caused the plan, written in the transaction that queues it (see EnqueuePlanOptions.alongside). */
    alongside?: EnqueuePlanOptions["alongside"];
  },
): Promise<{ queued: EnqueuePlanResult; applied: ApplyResult; sod: SodScanResult | null }> {
  const { now, actor } = options;
  const newLinks = [...planned.plan.allocated].flatMap(([identityId, systems]) =>
    Object.entries(systems)
      .filter(([system]) => !planned.unreachable.has(system))
      .map(([system, username]) => ({ identityId, system, username })),
  );
  const queued = await enqueuePlan(store, planned.ops, {
    now,
    actor,
    confirmMassChange: options.confirmed !== null && options.massChange,
    ...(options.confirmed !== null ? { planHash: options.confirmed } : {}),
    lifecycle: config.lifecycle,
    systems: config.policy.systems,
    accountCountBySystem: options.accountCountBySystem,
    // The usernames the plan allocated are recorded with its operations (after the identities they
    // belong to, which `alongside` may be writing).
    alongside: async (trx) => {
      const events = options.alongside === undefined ? [] : await options.alongside(trx);
      await accountLinkRepository.insertMany(trx, newLinks, now.toISOString());
      return events;
    },
  });
  const applied = await applyQueued(store, config, {
    now: () => now,
    actor,
    pool,
    identityIds: planned.identityIds,
  });
  // Their access changed (a push, a grant, an end): separation of duties is checked for them at once.
  const sod = await scanChanged(store, config, planned.identityIds, { now, actor });
  return { queued, applied, sod };
}

/**
 * Makes the targets match the access of these identities now, and only theirs: plan them
 * (planIdentities: their own accounts and assignments, never the whole organisation), pass
 * mass-change protection, queue, apply. What a granted request, an expiry and an early revoke run,
 * so the change reaches the targets in seconds rather than at the next sweep.
 * @throws MassChangeError when protection stops it (nothing queued).
 */
export async function provisionIdentities(
  store: Store,
  config: TenureConfig,
  identityIds: readonly string[],
  options: { now: Date; actor: string; pool?: ConnectorPool; run: string },
): Promise<IdentityProvisioning> {
  const pool = options.pool ?? connectorPool(config);
  try {
    const { now, actor } = options;
    const identities = [...(await identityRepository.findByIds(store.db, identityIds)).values()];
    const unreachable = await reconcileFirstContact(store, config, pool, { now, actor });
    const plan = await planIdentities(store, config, identities, now);
    const ops = plan.operations.filter((op) => !unreachable.has(op.system));
    for (const [system, message] of unreachable) {
      plan.problems.push({ kind: "system-unread", identityId: null, system, username: null, message });
    }
    const accountCountBySystem = await populationFor(store, config, ops);
    const counted = await countForMassChange(store, config, ops, accountCountBySystem);
    const planHash = planHashOf({ sources: [], operations: counted.fresh });
    await guardMassChange(store, config, {
      run: options.run,
      actor,
      now,
      planHash,
      exceeded: counted.exceeded,
      confirm: undefined,
      confirmWith: (h) => `tenure sync --confirm-mass-change ${h}`,
    });
    const ids = identities.map((i) => i.id);
    const planned = { plan, ops, identityIds: ids, unreachable };
    const written = await commitIdentityPlan(store, config, pool, planned, {
      now,
      actor,
      accountCountBySystem,
      confirmed: null,
      massChange: false,
    });
    return { plan, ops, identityIds: ids, ...written };
  } finally {
    if (options.pool === undefined) await pool.closeAll();
  }
}
