import type { OperationKind, PlannedOperation } from "../domain/access-types.js";
import { type ExplainOptions, type Explanation, explainAccess } from "../domain/explain.js";
import type { Identity } from "../domain/identity-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountLinkRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import { type OperationState, operationRepository } from "../store/operation-repository.js";
import { loadDesiredInputs } from "./desired-inputs.js";
import { computeProvisionPlan, type ProvisionPlan, policyToday } from "./provision.js";

/**
 * Read-only questions the CLI and the HTTP API both answer, so both answer them the same way:
 * why an identity has its access, what a plan would do, and what each system looks like.
 */

/** Why `identity` has (or lacks) each piece of access at `now`: what `tenure explain` prints. Reads only. */
export async function explainIdentity(
  store: Pick<Store, "db">,
  config: TenureConfig,
  identity: Identity,
  now: Date,
  options: ExplainOptions = {},
): Promise<Explanation> {
  const [links, { assignments, exclusions, dormant }] = await Promise.all([
    accountLinkRepository.list(store.db, { identityId: identity.id }),
    loadDesiredInputs(store.db, [identity.id]),
  ]);
  return explainAccess(
    {
      identity,
      policy: config.policy,
      lifecycle: config.lifecycle,
      assignments,
      exclusions,
      usernames: Object.fromEntries(links.map((l) => [l.system, l.username])),
      now,
      today: policyToday(config, now),
    },
    { ...options, dormant },
  );
}

export interface PlanTotals {
  operations: number;
  byKind: Partial<Record<OperationKind, number>>;
  bySystem: Record<string, number>;
  drift: number;
}

export function planTotals(ops: readonly PlannedOperation[]): PlanTotals {
  const byKind: Partial<Record<OperationKind, number>> = {};
  const bySystem: Record<string, number> = {};
  let drift = 0;
  for (const op of ops) {
    byKind[op.kind] = (byKind[op.kind] ?? 0) + 1;
    bySystem[op.system] = (bySystem[op.system] ?? 0) + 1;
    if (op.drift) drift++;
  }
  return { operations: ops.length, byKind, bySystem, drift };
}

export interface PlanPreview {
  /** The time planned for (ISO-8601). */
  at: string;
  totals: PlanTotals;
  /** The operations, only those of `system` when given. */
  operations: PlannedOperation[];
  problems: ProvisionPlan["problems"];
  /** Work already queued by earlier runs, by state (of `system` when given). */
  queue: Record<OperationState, number>;
  /** The whole plan, for printing it with the identities it concerns. */
  plan: ProvisionPlan;
}

/**
 * What `tenure plan` shows: the provisioning plan at `at` (with `future`, the lifecycle first moves
 * everyone to that date: starts, end dates, expiries), and the queue of earlier runs. Changes nothing.
 */
export async function previewPlan(
  store: Store,
  config: TenureConfig,
  options: { at: Date; future: boolean; system?: string },
): Promise<PlanPreview> {
  const plan = await computeProvisionPlan(store, config, { now: options.at, advanceToNow: options.future });
  // Work already queued is part of the picture: a failing connector's operations wait here.
  const queue = await operationRepository.countByState(
    store.db,
    options.system === undefined ? {} : { system: options.system },
  );
  const operations =
    options.system === undefined
      ? plan.operations
      : plan.operations.filter((op) => op.system === options.system);
  return {
    at: options.at.toISOString(),
    totals: planTotals(operations),
    operations,
    problems: plan.problems,
    queue,
    plan,
  };
}

/** The summary of a system's last reconcile run, as `reconcile_runs` keeps it. */
export interface LastReconcile {
  at: string;
  accounts: number;
  correlated: number;
  orphans: number;
  adopted: number;
  vanished: number;
  unmanagedEntitlements: number;
  missingEntitlements: number;
}

/** Each configured system's last reconcile (null when never reconciled). */
export async function lastReconcileBySystem(
  store: Pick<Store, "db">,
  systems: readonly string[],
): Promise<Record<string, LastReconcile | null>> {
  const runs = await store.db
    .selectFrom("reconcile_runs")
    .selectAll()
    .where("system", "in", systems.length > 0 ? systems : [""])
    .orderBy("finished_at", "desc")
    .execute();
  return Object.fromEntries(
    systems.map((s) => {
      const run = runs.find((r) => r.system === s);
      return [s, run ? { at: run.finished_at, ...JSON.parse(run.summary) } : null];
    }),
  );
}
