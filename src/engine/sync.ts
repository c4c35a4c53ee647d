import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone, type LifecycleContext } from "../domain/lifecycle.js";
import { localDate } from "../domain/local-date.js";
import {
  type IdentityChange,
  planSync,
  type RenamedKey,
  type SyncPlan,
  summarisePlan,
} from "../domain/sync-plan.js";
import type { SourceConfig, TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { readSource } from "../sources/source-registry.js";
import type { Finding, KnownPerson, SourceReadResult } from "../sources/source-types.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { type StoredSourceRecord, sourceRecordRepository } from "../store/source-record-repository.js";
import {
  exceedsMassChangeThreshold,
  guardMassChange,
  type MassChangeLevel,
  planHashOf,
} from "./mass-change.js";

export interface SyncOptions {
  now: Date;
  dryRun?: boolean;
  /** Who runs the sync, recorded in the audit (e.g. `cli:alice`). */
  actor: string;
  /**
   * The plan hash of a run stopped by mass-change protection, confirmed by an admin: the run goes ahead
   * only if the plan computed now has this hash (else PlanChangedError, nothing written); the audit
   * records who confirmed.
   */
  confirmMassChange?: string | undefined;
  onProgress?: (progress: { source: string; phase: "read" | "write"; done: number; total?: number }) => void;
}

export interface SourceSyncResult {
  source: string;
  dryRun: boolean;
  rowsRead: number;
  recordsValid: number;
  rowsSkipped: number;
  findings: Finding[];
  created: number;
  updated: number;
  rehired: number;
  terminated: number;
  transitions: Record<string, number>;
  unchanged: number;
  auditEvents: number;
  /** The identities as this run leaves them (only those that change), so a dry run can plan on them. */
  identities: Identity[];
  /** The identities that change, by id, with their state after the run (for dry runs and reports). */
  changes: Array<{
    id: string;
    key: string;
    name: string;
    from: string | null;
    to: string;
    actions: string[];
  }>;
}

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
    changes: plan.changes.map((c) => ({
      id: c.identity.id,
      key: c.identity.sourceKey,
      name: c.identity.attributes.displayName,
      from: c.before?.state ?? null,
      to: c.identity.state,
      actions: c.events.map((e) => e.action),
    })),
  };
  return { plan, result, massChange, massChangeConfirmed: null };
}

/**
 * Writes a planned source run in one transaction: the records that caused changes, the identities as
 * the run leaves them, their audit events (and `sync.mass_change_confirmed` when confirmed), and the
 * run's summary in `source_runs`. A failure writes nothing.
 */
export async function writeSourceRun(
  store: Store,
  run: PlannedSourceRun,
  options: Pick<SyncOptions, "now" | "actor" | "onProgress">,
): Promise<void> {
  await writePlan(store, run.plan, {
    source: run.result.source,
    now: options.now,
    actor: options.actor,
    massChangeConfirmed: run.massChangeConfirmed,
    onProgress: options.onProgress,
    summary: run.result,
  });
}

async function writePlan(
  store: Store,
  plan: SyncPlan,
  meta: {
    source: string;
    now: Date;
    actor: string;
    massChangeConfirmed: string | null;
    onProgress: SyncOptions["onProgress"];
    summary: SourceSyncResult;
  },
): Promise<void> {
  const at = meta.now.toISOString();
  const records: Omit<StoredSourceRecord, "contentHash">[] = [];
  const identities = plan.changes.map((c) => {
    if (c.record === undefined) return c.identity;
    const id = newId();
    records.push({
      id,
      source: c.record.source,
      key: c.record.key,
      row: c.record.row,
      raw: c.record.raw,
      attributes: c.record.attributes as unknown as Record<string, unknown>,
      receivedAt: at,
    });
    return { ...c.identity, lastRecordId: id };
  });
  const events: AuditEventInput[] = plan.changes.flatMap((c, i) =>
    c.events.map((e) => ({
      time: at,
      actor: meta.actor,
      action: e.action,
      subject: e.subject,
      details: {
        ...e.details,
        source: meta.source,
        cause: c.cause,
        ...(c.record ? { recordId: identities[i]?.lastRecordId, row: c.record.row } : {}),
      } as Record<string, unknown>,
    })),
  );
  if (meta.massChangeConfirmed !== null) {
    events.push({
      time: at,
      actor: meta.actor,
      action: "sync.mass_change_confirmed",
      subject: `source:${meta.source}`,
      details: {
        terminated: meta.summary.terminated,
        confirmedBy: meta.actor,
        planHash: meta.massChangeConfirmed,
      } as Record<string, unknown>,
    });
  }
  const total = identities.length;
  await store.db.transaction().execute(async (trx) => {
    await checkUnchangedSincePlanned(trx, plan.changes);
    await sourceRecordRepository.insertMany(trx, records);
    await identityRepository.upsertMany(trx, identities);
    meta.onProgress?.({ source: meta.source, phase: "write", done: Math.floor(total / 2), total });
    await appendEvents(trx, events);
    await trx
      .insertInto("source_runs")
      .values({
        id: newId(),
        source: meta.source,
        started_at: at,
        finished_at: new Date(meta.now.getTime()).toISOString(),
        dry_run: 0,
        // Counts only: the run's identities and changes are in the tables and the ledger already, and
        // kept here they made one row grow with the organisation (70 MB for 100,000 people).
        summary: JSON.stringify({
          ...meta.summary,
          identities: undefined,
          changes: undefined,
          findings: meta.summary.findings.length,
        }),
      })
      .execute();
  });
  meta.onProgress?.({ source: meta.source, phase: "write", done: total, total });
}

/**
 * Optimistic concurrency for the write: every identity the run changes must still be as the run read
 * it. A push, a scheduled sweep and a sync each plan on what they read and write whole records, so
 * without this check the later write would silently undo the earlier one. On a mismatch nothing is
 * written and the run fails with a retryable conflict; it plans again on what is there now.
 * @throws TenureError `identity_changed` (409).
 */
async function checkUnchangedSincePlanned(trx: Db, changes: readonly IdentityChange[]): Promise<void> {
  const expected = new Map<string, string>();
  for (const c of changes) if (c.before !== undefined) expected.set(c.before.id, c.before.updatedAt);
  if (expected.size === 0) return;
  const current = await identityRepository.updatedAtOf(trx, [...expected.keys()]);
  const moved = [...expected].filter(([id, at]) => current.get(id) !== at).map(([id]) => id);
  if (moved.length > 0) {
    throw new TenureError(
      "identity_changed",
      `${moved.length} identit${moved.length === 1 ? "y" : "ies"} changed while this run was being planned ` +
        `(${moved.slice(0, 3).join(", ")}${moved.length > 3 ? ", …" : ""}); nothing was written — run it again`,
      { httpStatus: 409 },
    );
  }
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
