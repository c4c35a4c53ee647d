import { isGone } from "../domain/lifecycle.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError } from "../shared/errors.js";
import { readSource } from "../sources/source-registry.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { ApplyProgress } from "./apply.js";
import { recordConfigInForce } from "./config-versions.js";
import { guardMassChange, type MassChangeLevel, planHashOf } from "./mass-change.js";
import {
  commitProvisioning,
  computeProvisionPlan,
  connectorPool,
  countForMassChange,
  type PlannedProvisioning,
  type ProvisionPlan,
  type ProvisionResult,
  planProvisioning,
  provision,
  systemsNeverRead,
} from "./provision.js";
import { sodOf } from "./sod-access.js";
import { type SodScanResult, scanChanged } from "./sod-scan.js";
import {
  confirmRun,
  knownPerson,
  type PlannedSourceRun,
  planSourceRun,
  type SourceSyncResult,
  type SyncOptions,
  writeSourceRun,
} from "./sync.js";
import { streamCsvSourceRun } from "./sync-stream.js";

export interface RunSyncResult {
  sources: SourceSyncResult[];
  /** The provisioning plan a dry run would carry out (null when no system is configured). */
  plan: ProvisionPlan | null;
  /** What a real run queued and applied (null on a dry run or with no systems). */
  provisioned: ProvisionResult | null;
  /**
   * The run's plan hash (sources' identity changes and the provisioning operations it would queue), and
   * what is past lifecycle.massChangeThreshold. A dry run shows both; `confirmMassChange` takes the hash.
   */
  massChange: { planHash: string; exceeded: MassChangeLevel[] };
  /** The separation-of-duties scan of the identities the run changed (null: none changed, or no rules). */
  sod?: SodScanResult | null;
}

/**
 * One full run, as `tenure sync` and `POST /api/sync` do it: every source is read and planned, then
 * provisioning is planned on the identities as the sources leave them — all before anything is written.
 * Mass-change protection then looks at the whole plan at once (terminations per source, disables and
 * deletes per system); only if it lets the run through are the sources written and the operations
 * queued and applied. So a stopped run writes nothing but one `mass-change.stopped` audit event and its
 * notification (MassChangeError, exit 3 / 409), and a confirmation applies exactly the plan it names
 * (PlanChangedError, nothing written, when the plan computed now has another hash). A dry run plans and
 * writes nothing (first contact with a never-read system included).
 */
export async function runSync(
  store: Store,
  config: TenureConfig,
  options: SyncOptions & { source?: string; onApply?: (p: ApplyProgress) => void },
): Promise<RunSyncResult> {
  // A run that can change something records the configuration it runs with (a dry run changes nothing).
  if (!options.dryRun) await recordConfigInForce(store, config, options.now, options.actor);
  const streamed = await streamedRun(store, config, options);
  if (streamed !== null) return streamed;
  const runs = await planSources(store, config, options);
  const overrides = runs.flatMap((r) => r.result.identities);
  const hasSystems = Object.keys(config.policy.systems).length > 0;
  const sources = runs.map((r) => ({ source: r.result.source, plan: r.plan }));
  const sourceStops = runs.flatMap((r) => (r.massChange === null ? [] : [r.massChange]));
  if (options.dryRun) {
    const plan = hasSystems
      ? await computeProvisionPlan(store, config, { now: options.now, overrides })
      : null;
    const counted =
      plan === null
        ? { fresh: [], exceeded: [] }
        : await countForMassChange(store, config, plan.operations, plan.accountCountBySystem);
    return {
      sources: runs.map((r) => r.result),
      plan,
      provisioned: null,
      massChange: {
        planHash: planHashOf({ sources, operations: counted.fresh }),
        exceeded: [...sourceStops, ...counted.exceeded],
      },
    };
  }
  const pool = connectorPool(config);
  try {
    const changes = runs.some((r) => r.plan.changes.length > 0);
    if (hasSystems && changes && (await systemsNeverRead(store, config, pool)).length > 0) {
      return await firstContactRun(store, config, runs, options);
    }
    let provisioning: PlannedProvisioning | null = null;
    if (hasSystems) {
      provisioning = await planProvisioning(store, config, pool, {
        now: options.now,
        actor: options.actor,
        overrides,
      });
    }
    const planHash = planHashOf({ sources, operations: provisioning?.fresh ?? [] });
    const exceeded = [...sourceStops, ...(provisioning?.exceeded ?? [])];
    const confirmed = await guardMassChange(store, config, {
      run: runName(runs),
      actor: options.actor,
      now: options.now,
      planHash,
      exceeded,
      confirm: options.confirmMassChange,
      confirmWith: (h) =>
        `tenure sync${options.source !== undefined ? ` --source ${options.source}` : ""} --confirm-mass-change ${h}`,
    });
    for (const run of runs) await writeSourceRun(store, confirmed ? confirmRun(run, planHash) : run, options);
    const provisioned =
      provisioning === null
        ? null
        : await commitProvisioning(store, config, pool, provisioning, {
            now: () => options.now,
            actor: options.actor,
            confirmed: confirmed && provisioning.exceeded.length > 0 ? planHash : null,
            ...(options.onApply ? { onProgress: options.onApply } : {}),
          });
    return {
      sources: runs.map((r) => r.result),
      plan: provisioning?.plan ?? null,
      provisioned,
      massChange: { planHash, exceeded },
      sod: await scanChanged(store, config, changedIds(runs), options),
    };
  } finally {
    await pool.closeAll();
  }
}

/**
 * A run with identity changes while some system has never been read (first contact): that system's
 * existing accounts can be adopted only by identities already in the store, so the sources are
 * guarded (their terminations) and written first, and provisioning — first contact, plan, its own
 * guard — follows, as `provisioning` with a hash of its operations alone. A confirmation is for the
 * sources when they are past the threshold, else for provisioning. The one case where a provisioning
 * stop leaves the run's identity changes written; it happens once per system, on its first run.
 */
async function firstContactRun(
  store: Store,
  config: TenureConfig,
  runs: readonly PlannedSourceRun[],
  options: SyncOptions & { source?: string; onApply?: (p: ApplyProgress) => void },
): Promise<RunSyncResult> {
  const sourceStops = runs.flatMap((r) => (r.massChange === null ? [] : [r.massChange]));
  const planHash = planHashOf({
    sources: runs.map((r) => ({ source: r.result.source, plan: r.plan })),
    operations: [],
  });
  const forSources = sourceStops.length > 0;
  const confirmed = await guardMassChange(store, config, {
    run: runName(runs),
    actor: options.actor,
    now: options.now,
    planHash,
    exceeded: sourceStops,
    confirm: forSources ? options.confirmMassChange : undefined,
    confirmWith: (h) =>
      `tenure sync${options.source !== undefined ? ` --source ${options.source}` : ""} --confirm-mass-change ${h}`,
  });
  for (const run of runs) await writeSourceRun(store, confirmed ? confirmRun(run, planHash) : run, options);
  const provisioned = await provision(store, config, {
    now: () => options.now,
    actor: options.actor,
    confirmMassChange: forSources ? undefined : options.confirmMassChange,
    ...(options.onApply ? { onProgress: options.onApply } : {}),
  });
  return {
    sources: runs.map((r) => r.result),
    plan: provisioned.plan,
    provisioned,
    massChange: { planHash, exceeded: sourceStops },
    sod: await scanChanged(store, config, changedIds(runs), options),
  };
}

/**
 * One CSV source and no system to provision: the run streams in bounded memory (streamCsvSourceRun),
 * with the same stop and confirmation. Null for any other run: provisioning plans on every changed
 * identity, and several sources are guarded as one run, so those are planned whole first.
 */
async function streamedRun(
  store: Store,
  config: TenureConfig,
  options: SyncOptions & { source?: string },
): Promise<RunSyncResult | null> {
  const names = options.source !== undefined ? [options.source] : Object.keys(config.sources);
  const sourceConfig = names.length === 1 ? config.sources[names[0]!] : undefined;
  if (sourceConfig?.type !== "csv" || Object.keys(config.policy.systems).length > 0) return null;
  const sodRules = Object.keys(sodOf(config.policy).rules).length > 0;
  const { result, planHash, exceeded } = await streamCsvSourceRun(store, config, sourceConfig, {
    ...options,
    run: `sync of source ${sourceConfig.name}`,
    confirmWith: (h) =>
      `tenure sync${options.source !== undefined ? ` --source ${options.source}` : ""} --confirm-mass-change ${h}`,
    keepChanges: sodRules,
  });
  return {
    sources: [result],
    plan: null,
    provisioned: null,
    massChange: { planHash, exceeded },
    ...(options.dryRun
      ? {}
      : {
          sod: await scanChanged(
            store,
            config,
            result.identities.map((i) => i.id),
            options,
          ),
        }),
  };
}

/** Reads and plans every configured source (or the one named), in configuration order; writes nothing. */
async function planSources(
  store: Store,
  config: TenureConfig,
  options: SyncOptions & { source?: string },
): Promise<PlannedSourceRun[]> {
  const names = options.source !== undefined ? [options.source] : Object.keys(config.sources);
  const runs: PlannedSourceRun[] = [];
  for (const name of names) {
    const sourceConfig = config.sources[name];
    if (sourceConfig === undefined) {
      throw new NotFoundError(
        `no source named "${name}" in ${config.path} (sources: ${Object.keys(config.sources).join(", ") || "none"})`,
      );
    }
    const existing = await identityRepository.listBySource(store.db, name);
    const read = await readSource(sourceConfig, {
      known: existing.map(knownPerson),
      onProgress: (done) => options.onProgress?.({ source: name, phase: "read", done }),
    });
    runs.push(
      await planSourceRun(
        config,
        sourceConfig,
        { existing, read, population: () => existing.filter((i) => !isGone(i.state)).length },
        options,
      ),
    );
  }
  return runs;
}

/** The identities a run's sources changed. */
function changedIds(runs: readonly PlannedSourceRun[]): string[] {
  return runs.flatMap((r) => r.result.identities.map((i) => i.id));
}

/** What stopped, in words: `sync of source hr`, or `sync of sources hr, contractors`. */
function runName(runs: readonly PlannedSourceRun[]): string {
  const names = runs.map((r) => r.result.source);
  return names.length === 1 ? `sync of source ${names[0]}` : `sync of sources ${names.join(", ")}`;
}
