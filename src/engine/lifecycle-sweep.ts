import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { DAY_MS, localDate } from "../domain/local-date.js";
import { enqueueContractorExpiryWarning } from "../notify/notification-enqueue.js";
import type { SourceConfig, TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { ApplyProgress } from "./apply.js";
import { guardMassChange, planHashOf } from "./mass-change.js";
import { commitProvisioning, connectorPool, type ProvisionResult, planProvisioning } from "./provision.js";
import {
  confirmRun,
  type PlannedSourceRun,
  planSourceRun,
  type SourceSyncResult,
  writeSourceRun,
} from "./sync.js";

export interface LifecycleSweepOptions {
  now: Date;
  /** Recorded as the actor of every change (`scheduler`, or `cli:alice` for `schedule run`). */
  actor: string;
  /**
   * The plan hash of a stopped sweep, confirmed by an admin (`schedule run lifecycle --confirm-mass-change
   * HASH`): the sweep goes ahead only if the plan computed now has this hash; the audit records who confirmed.
   */
  confirmMassChange?: string | undefined;
  onApply?: (p: ApplyProgress) => void;
}

/** One warning the sweep found due: someone's end date is within lifecycle.contractorWarningDays. */
export interface ExpiryWarning {
  identity: string;
  name: string;
  endDate: string;
  daysLeft: number;
  managerEmail: string | null;
  /** Messages newly queued for it; 0 when an earlier sweep queued them already (or no route). */
  queued: number;
}

export interface LifecycleSweepResult {
  /** Per source, the date-driven moves written (`transitions` counts them, e.g. `prehire→active`). */
  sources: SourceSyncResult[];
  warnings: ExpiryWarning[];
  /** Provisioning after the moves; null when no system is configured. */
  provisioned: ProvisionResult | null;
}

/**
 * What the calendar does when nobody pushes anything: the lifecycle sweep of `tenure schedule run
 * lifecycle` and the scheduler's `lifecycle` job.
 *
 * 1. Every identity whose dates call for a move at `now` (in its source's time zone) moves, through the
 *    same planning and write path as a sync with no records (planSourceRun / writeSourceRun): a start
 *    date reached (prehire → active), a termination or end date reached (→ terminated), a retention
 *    ended (terminated → deleted after lifecycle.deleteAfterDays). Reasons start with `scheduled:`.
 * 2. Everyone with an end date within lifecycle.contractorWarningDays gets a `contractor.expiry-warning`
 *    to their manager (queued once per identity and end date by notify's dedupe key).
 * 3. Provisioning plans every identity at `now` — which also enables accounts on a start date, disables
 *    them on an end date, deletes them after retention, revokes expired assignments — and applies it.
 *
 * Every source and the provisioning are planned before anything is written, and mass-change protection
 * looks at the whole plan (terminations per source, disables and deletes per system): a stopped sweep
 * writes nothing — no move, no warning, no operation — but one `mass-change.stopped` audit event and
 * its notification.
 * @throws MassChangeError when protection stops the run; PlanChangedError when `confirmMassChange` is not
 *   the plan computed now.
 */
export async function sweepLifecycle(
  store: Store,
  config: TenureConfig,
  options: LifecycleSweepOptions,
): Promise<LifecycleSweepResult> {
  const runs: Array<{ run: PlannedSourceRun; sourceConfig: SourceConfig; identities: Identity[] }> = [];
  for (const sourceConfig of Object.values(config.sources)) {
    const existing = await identityRepository.listBySource(store.db, sourceConfig.name);
    const run = await planSourceRun(
      config,
      sourceConfig,
      {
        existing,
        read: { source: sourceConfig.name, records: [], findings: [], rowsRead: 0, complete: false },
        population: () => existing.filter((i) => !isGone(i.state)).length,
      },
      { now: options.now, actor: options.actor },
    );
    const moved = new Map(run.plan.changes.map((c) => [c.identity.id, c.identity]));
    runs.push({
      run: scheduled(run),
      sourceConfig,
      identities: existing.map((i) => moved.get(i.id) ?? i),
    });
  }
  const pool = connectorPool(config);
  try {
    const provisioning =
      Object.keys(config.policy.systems).length > 0
        ? await planProvisioning(store, config, pool, {
            now: options.now,
            actor: options.actor,
            overrides: runs.flatMap((r) => r.run.plan.changes.map((c) => c.identity)),
          })
        : null;
    const planHash = planHashOf({
      sources: runs.map((r) => ({ source: r.sourceConfig.name, plan: r.run.plan })),
      operations: provisioning?.fresh ?? [],
    });
    const confirmed = await guardMassChange(store, config, {
      run: "scheduled lifecycle sweep",
      actor: options.actor,
      now: options.now,
      planHash,
      exceeded: [
        ...runs.flatMap((r) => (r.run.massChange === null ? [] : [r.run.massChange])),
        ...(provisioning?.exceeded ?? []),
      ],
      confirm: options.confirmMassChange,
      confirmWith: (h) => `tenure schedule run lifecycle --confirm-mass-change ${h}`,
    });
    for (const { run } of runs) {
      if (run.plan.changes.length > 0) {
        await writeSourceRun(store, confirmed ? confirmRun(run, planHash) : run, options);
      }
    }
    const warnings = await warnBeforeEndDates(store, config, runs, options.now);
    const provisioned =
      provisioning === null
        ? null
        : await commitProvisioning(store, config, pool, provisioning, {
            now: () => options.now,
            actor: options.actor,
            confirmed: confirmed && provisioning.exceeded.length > 0 ? planHash : null,
            ...(options.onApply ? { onProgress: options.onApply } : {}),
          });
    return { sources: runs.map((r) => r.run.result), warnings, provisioned };
  } finally {
    await pool.closeAll();
  }
}

/** The run with `scheduled: ` before each reason, so the audit tells a calendar move from a record's. */
function scheduled(run: PlannedSourceRun): PlannedSourceRun {
  const changes = run.plan.changes.map((c) => ({
    ...c,
    events: c.events.map((e) =>
      e.action === "identity.state_changed"
        ? { ...e, details: { ...e.details, reason: `scheduled: ${e.details.reason}` } }
        : e,
    ),
  }));
  return { ...run, plan: { ...run.plan, changes } };
}

/**
 * Queues a `contractor.expiry-warning` for everyone not gone whose end date is 1 to
 * lifecycle.contractorWarningDays days away (in their source's time zone), to their manager: the
 * identity of the same source whose key is their `managerId`. Contractors carry end dates; an intern or
 * a fixed-term employee with one is warned about the same way, since the same day ends their access.
 */
async function warnBeforeEndDates(
  store: Store,
  config: TenureConfig,
  runs: ReadonlyArray<{ sourceConfig: SourceConfig; identities: readonly Identity[] }>,
  now: Date,
): Promise<ExpiryWarning[]> {
  const days = config.lifecycle.contractorWarningDays;
  const due: Array<Omit<ExpiryWarning, "queued">> = [];
  for (const { sourceConfig, identities } of runs) {
    const today = localDate(now, sourceConfig.timeZone);
    const byKey = new Map(identities.map((i) => [i.sourceKey, i]));
    for (const i of identities) {
      const end = i.attributes.endDate;
      if (end === null || isGone(i.state)) continue;
      const daysLeft = Math.round((Date.parse(end) - Date.parse(today)) / DAY_MS);
      if (!(daysLeft >= 1 && daysLeft <= days)) continue;
      const manager = i.attributes.managerId === null ? undefined : byKey.get(i.attributes.managerId);
      due.push({
        identity: i.id,
        name: i.attributes.displayName,
        endDate: end,
        daysLeft,
        managerEmail: manager?.attributes.email ?? null,
      });
    }
  }
  if (due.length === 0) return [];
  return store.db.transaction().execute(async (trx) => {
    const out: ExpiryWarning[] = [];
    for (const warning of due) {
      const result = await enqueueContractorExpiryWarning(trx, warning, config, now);
      out.push({ ...warning, queued: result.queued.length });
    }
    return out;
  });
}

/** The sweep in a few numbers, for the scheduler's record and `--json`. */
export function summariseSweep(result: LifecycleSweepResult): Record<string, unknown> {
  const transitions: Record<string, number> = {};
  for (const s of result.sources) {
    for (const [move, n] of Object.entries(s.transitions)) transitions[move] = (transitions[move] ?? 0) + n;
  }
  return {
    transitions,
    warningsQueued: result.warnings.reduce((n, w) => n + w.queued, 0),
    operationsQueued: result.provisioned?.queued?.queued.length ?? 0,
    applied: result.provisioned?.applied?.summary ?? null,
  };
}
