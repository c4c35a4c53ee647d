import type { Transaction } from "kysely";
import type { AuditEventInput } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone, type LifecycleContext } from "../domain/lifecycle.js";
import { localDate } from "../domain/local-date.js";
import { planSync, type RenamedKey, type SyncPlan, summarisePlan } from "../domain/sync-plan.js";
import type { SourceConfig, TenureConfig } from "../policy/config-types.js";
import { NotFoundError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { readSource } from "../sources/source-registry.js";
import type { KnownPerson, SourceReadResult } from "../sources/source-types.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Database } from "../store/schema-types.js";
import {
  exceedsMassChangeThreshold,
  guardMassChange,
  type MassChangeLevel,
  planHashOf,
} from "./mass-change.js";
import { streamCsvSourceRun } from "./sync-stream.js";
import type { SourceSyncResult, SyncOptions } from "./sync-types.js";
import { changeSummary, finishSourceRun, recordSourceRun, writeChanges } from "./sync-write.js";

export type { SourceSyncResult, SyncOptions } from "./sync-types.js";

/**
 * Runs one source: reads it, decides every lifecycle change, and writes identities, the records
 * that caused them and their audit events in one transaction, so a failed run changes nothing.
 * Throws MassChangeError (nothing written but the stop: its one `mass-change.stopped` audit event and
 * notification) when terminations exceed lifecycle.massChangeThreshold, and PlanChangedError when
 * `confirmMassChange` is not this run's plan hash. Provisioning is not run (see runSync for that).
 */
export async function syncSource(
  store: Store,
  config: TenureConfig,
  sourceConfig: SourceConfig,
  options: SyncOptions,
): Promise<SourceSyncResult> {
  const { db } = store;
  const source = sourceConfig.name;
  if (sourceConfig.type === "csv") {
    const streamed = await streamCsvSourceRun(store, config, sourceConfig, {
      ...options,
      run: `sync of source ${source}`,
      confirmWith: (h) => `tenure sync --source ${source} --confirm-mass-change ${h}`,
    });
    return streamed.result;
  }
  const existing = await identityRepository.listBySource(db, source);
  const read = await readSource(sourceConfig, {
    known: existing.map(knownPerson),
    onProgress: (done) => options.onProgress?.({ source, phase: "read", done }),
  });
  const run = await planSourceRun(
    config,
    sourceConfig,
    {
      existing,
      read,
      population: () => existing.filter((i) => !isGone(i.state)).length,
    },
    options,
  );
  if (options.dryRun) return run.result;
  const planHash = planHashOf({ sources: [{ source, plan: run.plan }], operations: [] });
  const confirmed = await guardMassChange(store, config, {
    run: `sync of source ${source}`,
    actor: options.actor,
    now: options.now,
    planHash,
    exceeded: run.massChange === null ? [] : [run.massChange],
    confirm: options.confirmMassChange,
    confirmWith: (h) => `tenure sync --source ${source} --confirm-mass-change ${h}`,
  });
  await writeSourceRun(store, confirmed ? confirmRun(run, planHash) : run, options);
  return run.result;
}

/** The run, let through mass-change protection by the confirmation of `planHash`: its write audits that. */
export function confirmRun(run: PlannedSourceRun, planHash: string): PlannedSourceRun {
  return run.massChange === null ? run : { ...run, massChangeConfirmed: planHash };
}

/** What data quality needs to know of a stored identity (to tell a changed key from a new person). */
export function knownPerson(i: Identity): KnownPerson {
  return {
    sourceKey: i.sourceKey,
    email: i.attributes.email,
    givenName: i.attributes.givenName,
    familyName: i.attributes.familyName,
  };
}

/** A source run decided but not written yet: what {@link planSourceRun} hands to {@link writeSourceRun}. */
export interface PlannedSourceRun {
  plan: SyncPlan;
  result: SourceSyncResult;
  /** The source past the threshold (terminations of live identities), or null: the caller guards it. */
  massChange: MassChangeLevel | null;
  /** Set (to the plan hash) once a confirmation let `massChange` through: the write audits who confirmed. */
  massChangeConfirmed: string | null;
}

export interface SourceRunInput {
  /** The source's identities the records may concern: all of them for a full export, fewer for a push. */
  existing: readonly Identity[];
  read: SourceReadResult;
  /** How many of the source's identities are not gone, for the threshold; asked only when it could be exceeded. */
  population: () => number | Promise<number>;
  /** Keep only the changes records caused: a push leaves the date-driven moves of others to the sync. */
  recordsOnly?: boolean;
  /** Key changes the pushing system declared (see SyncPolicy.renamedKeys). */
  renamedKeys?: ReadonlyMap<string, RenamedKey>;
}

/**
 * Decides what `input.read` does to the source's identities — the one lifecycle step of a full
 * export (syncSource) and of a push (ingestRecords) — and counts it for mass-change protection
 * (`massChange`: terminations past the threshold), which the caller applies with guardMassChange once
 * the whole run is planned. Reads nothing but the population, and only when the terminations could
 * pass the threshold. Writes nothing.
 */
export async function planSourceRun(
  config: TenureConfig,
  sourceConfig: SourceConfig,
  input: SourceRunInput,
  options: SyncOptions,
): Promise<PlannedSourceRun> {
  const source = sourceConfig.name;
  const { read } = input;
  const ctx: LifecycleContext = {
    now: options.now,
    today: localDate(options.now, sourceConfig.timeZone),
    newId,
  };
  const planned = planSync(
    input.existing,
    read.records,
    {
      source,
      complete: read.complete,
      missingMeans: sourceConfig.type === "csv" ? sourceConfig.missingMeans : "ignore",
      correlationFallback: sourceConfig.correlation.fallback,
      deleteAfterDays: config.lifecycle.deleteAfterDays,
      ...(read.presentKeys === undefined ? {} : { presentKeys: read.presentKeys }),
      renamedKeys: input.renamedKeys,
    },
    ctx,
  );
  const plan = input.recordsOnly
    ? { changes: planned.changes.filter((c) => c.cause === "record"), unchanged: planned.unchanged }
    : planned;
  const counts = summarisePlan(plan);
  const threshold = config.lifecycle.massChangeThreshold;
  // At or under the minimum the threshold cannot be passed, so a push of one leaver counts nobody.
  const population = counts.terminated > threshold.minimum ? await input.population() : 0;
  const massChange: MassChangeLevel | null = exceedsMassChangeThreshold(
    counts.terminated,
    population,
    threshold,
  )
    ? { kind: "source", name: source, disable: counts.terminated, delete: 0, total: population }
    : null;

  const rowsSkipped = new Set(read.findings.filter((f) => f.severity === "error").map((f) => f.row)).size;
  const result: SourceSyncResult = {
    source,
    dryRun: options.dryRun === true,
    rowsRead: read.rowsRead,
    recordsValid: read.records.length,
    rowsSkipped,
    findings: read.findings,
    ...counts,
    unchanged: plan.unchanged,
    auditEvents: plan.changes.reduce((n, c) => n + c.events.length, 0),
    identities: plan.changes.map((c) => c.identity),
    changes: plan.changes.map(changeSummary),
  };
  return { plan, result, massChange, massChangeConfirmed: null };
}

/**
 * Writes a planned source run in one transaction: the records that caused changes, the identities as
 * the run leaves them, their audit events (and `sync.mass_change_confirmed` when confirmed), and the
 * run's summary in `source_runs`. A failure writes nothing. `alongside` writes in the same
 * transaction (a push's SCIM resource) and returns audit events to append after the run's.
 */
export async function writeSourceRun(
  store: Store,
  run: PlannedSourceRun,
  options: Pick<SyncOptions, "now" | "actor" | "onProgress">,
  alongside?: WriteAlongside,
): Promise<void> {
  const plan = run.plan;
  const meta = sourceRunMeta(run, options);
  const total = plan.changes.length;
  await store.db.transaction().execute(async (trx) => {
    const events: AuditEventInput[] = [];
    await writeChanges(trx, plan.changes, meta, events);
    options.onProgress?.({ source: meta.source, phase: "write", done: Math.floor(total / 2), total });
    if (alongside !== undefined) events.push(...(await alongside(trx)));
    await finishSourceRun(trx, meta, events);
  });
  options.onProgress?.({ source: meta.source, phase: "write", done: total, total });
}

/** Writes of another part of Tenure made in a transaction of the engine's; returns their audit events. */
export type WriteAlongside = (trx: Transaction<Database>) => Promise<AuditEventInput[]>;

/**
 * {@link writeSourceRun}'s writes in the caller's transaction, without its ledger append: returns the
 * audit events for the caller to append, with its own, as the transaction's last write.
 */
export async function writeSourceRunIn(
  trx: Transaction<Database>,
  run: PlannedSourceRun,
  options: Pick<SyncOptions, "now" | "actor">,
): Promise<AuditEventInput[]> {
  const meta = sourceRunMeta(run, options);
  const events: AuditEventInput[] = [];
  await writeChanges(trx, run.plan.changes, meta, events);
  events.push(...(await recordSourceRun(trx, meta)));
  return events;
}

function sourceRunMeta(run: PlannedSourceRun, options: Pick<SyncOptions, "now" | "actor">) {
  return {
    source: run.result.source,
    now: options.now,
    actor: options.actor,
    massChangeConfirmed: run.massChangeConfirmed,
    summary: run.result,
  };
}

/** Runs every configured source (or the one named), in configuration order. */
export async function syncAll(
  store: Store,
  config: TenureConfig,
  options: SyncOptions & { source?: string },
): Promise<SourceSyncResult[]> {
  const names = options.source !== undefined ? [options.source] : Object.keys(config.sources);
  const results: SourceSyncResult[] = [];
  for (const name of names) {
    const sourceConfig = config.sources[name];
    if (sourceConfig === undefined) {
      throw new NotFoundError(
        `no source named "${name}" in ${config.path} (sources: ${Object.keys(config.sources).join(", ") || "none"})`,
      );
    }
    results.push(await syncSource(store, config, sourceConfig, options));
  }
  return results;
}
