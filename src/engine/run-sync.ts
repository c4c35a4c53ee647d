import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";
import type { ApplyProgress } from "./apply.js";
import { computeProvisionPlan, type ProvisionPlan, type ProvisionResult, provision } from "./provision.js";
import { type SourceSyncResult, type SyncOptions, syncAll } from "./sync.js";

export interface RunSyncResult {
  sources: SourceSyncResult[];
  /** The provisioning plan a dry run would carry out (null when no system is configured). */
  plan: ProvisionPlan | null;
  /** What a real run queued and applied (null on a dry run or with no systems). */
  provisioned: ProvisionResult | null;
}

/**
 * One full run, as `tenure sync` does it: the sources bring identities up to date, then provisioning
 * plans every system against policy and applies it. A dry run plans on the identities as the sources
 * would leave them, and writes nothing. Either stage may throw MassChangeError (nothing changed).
 */
export async function runSync(
  store: Store,
  config: TenureConfig,
  options: SyncOptions & { source?: string; onApply?: (p: ApplyProgress) => void },
): Promise<RunSyncResult> {
  const sources = await syncAll(store, config, options);
  const hasSystems = Object.keys(config.policy.systems).length > 0;
  if (!hasSystems) return { sources, plan: null, provisioned: null };
  if (options.dryRun) {
    const plan = await computeProvisionPlan(store, config, {
      now: options.now,
      overrides: sources.flatMap((r) => r.identities),
    });
    return { sources, plan, provisioned: null };
  }
  const provisioned = await provision(store, config, {
    now: () => options.now,
    actor: options.actor,
    confirmMassChange: options.confirmMassChange === true,
    ...(options.onApply ? { onProgress: options.onApply } : {}),
  });
  return { sources, plan: provisioned.plan, provisioned };
}
