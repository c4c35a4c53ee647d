import { createHash } from "node:crypto";
import type { Identity, WorkerAttributes, WorkerRecord } from "../domain/identity-types.js";
import { isGone, type LifecycleContext } from "../domain/lifecycle.js";
import { localDate } from "../domain/local-date.js";
import { normaliseText } from "../domain/normalise-text.js";
import {
  type IdentityChange,
  planSync,
  type SyncPlan,
  type SyncPolicy,
  summarisePlan,
} from "../domain/sync-plan.js";
import type { CsvSourceConfig, TenureConfig } from "../policy/config-types.js";
import { InvalidInputError } from "../shared/errors.js";
import { boundedHeapGrowth } from "../shared/heap-growth.js";
import { newId } from "../shared/ids.js";
import { scanCsvSource } from "../sources/csv/csv-scan.js";
import { csvRowSlices } from "../sources/csv/csv-source.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import {
  exceedsMassChangeThreshold,
  guardMassChange,
  type MassChangeLevel,
  planHashOf,
} from "./mass-change.js";
import type { SourceSyncResult, SyncOptions } from "./sync-types.js";
import { changeSummary, finishSourceRun, writeChanges } from "./sync-write.js";

/** Rows planned and written together: large enough for bulk inserts, small enough to stay bounded. */
const SLICE = 5_000;

export interface StreamedRunOptions extends SyncOptions {
  /** The run in words, for mass-change protection: `sync of source hr`. */
  run: string;
  /** The command that confirms a stopped run with hash `h`. */
  confirmWith: (h: string) => string;
  /** Keep the changed identities (and their summary) in the result; a dry run always keeps them. */
  keepChanges?: boolean;
}

export interface StreamedRun {
  result: SourceSyncResult;
  planHash: string;
  exceeded: MassChangeLevel[];
}

/**
 * A full CSV export run in bounded memory: the file is read twice. The first read (scanCsvSource)
 * checks it whole — a file rejected whole, or data-quality findings, are known before anything is
 * written — keeping a few fields per row. The second maps the rows again and plans and writes them
 * 5,000 at a time inside one transaction; then the stored identities no row named (leavers, dates)
 * are planned, and mass-change protection looks at the whole run before the commit: a stopped run
 * rolls back, so it writes nothing but its `mass-change.stopped` event, as syncSource promises.
 * A real run's result holds counts (and the changes only with `keepChanges`); a dry run's, every change.
 *
 * The plan hash chains planHashOf of each slice in file order, then of the rest: the same file on the
 * same store gives the same hash (a dry run and its confirmation agree); it is not planHashOf of the
 * whole run. The source's stored identities are still read whole (a first import reads none).
 */
export function streamCsvSourceRun(
  store: Store,
  config: TenureConfig,
  sourceConfig: CsvSourceConfig,
  options: StreamedRunOptions,
): Promise<StreamedRun> {
  // Bounded memory is the point of streaming: V8's heap is kept near what the run holds (heap-growth.ts).
  return boundedHeapGrowth(() => streamRun(store, config, sourceConfig, options));
}

async function streamRun(
  store: Store,
  config: TenureConfig,
  sourceConfig: CsvSourceConfig,
  options: StreamedRunOptions,
): Promise<StreamedRun> {
  const source = sourceConfig.name;
  const existing = await identityRepository.listBySource(store.db, source);
  const scan = await scanCsvSource(sourceConfig, {
    known: existing.map((i) => ({
      sourceKey: i.sourceKey,
      email: i.attributes.email,
      givenName: i.attributes.givenName,
      familyName: i.attributes.familyName,
    })),
    onProgress: (done) => options.onProgress?.({ source, phase: "read", done }),
  });
  const ctx: LifecycleContext = {
    now: options.now,
    today: localDate(options.now, sourceConfig.timeZone),
    newId,
  };
  const policy: SyncPolicy = {
    source,
    complete: true,
    missingMeans: sourceConfig.missingMeans,
    correlationFallback: sourceConfig.correlation.fallback,
    deleteAfterDays: config.lifecycle.deleteAfterDays,
    presentKeys: scan.presentKeys,
  };
  const matcher = existingMatcher(existing, scan.recordKeys, policy.correlationFallback === "email");
  const keep = options.dryRun === true || options.keepChanges === true;
  const tally = newTally();
  let hash = "";

  const plan = (records: WorkerRecord[] | null): SyncPlan => {
    const planned =
      records === null
        ? planSync(matcher.rest(), [], policy, ctx)
        : planSync(matcher.claim(records), records, { ...policy, complete: false, presentKeys: [] }, ctx);
    addTo(tally, planned, keep);
    hash = createHash("sha256")
      .update(`${hash}\n${planHashOf({ sources: [{ source, plan: planned }], operations: [] })}`)
      .digest("hex");
    return planned;
  };
  const gate = () => {
    const population = existing.filter((i) => !isGone(i.state)).length;
    const exceeded = exceedsMassChangeThreshold(
      tally.terminated,
      population,
      config.lifecycle.massChangeThreshold,
    )
      ? [{ kind: "source" as const, name: source, disable: tally.terminated, delete: 0, total: population }]
      : [];
    return { exceeded, planHash: hash };
  };
  const result = (): SourceSyncResult => ({
    source,
    dryRun: options.dryRun === true,
    rowsRead: scan.rowsRead,
    recordsValid: scan.recordKeys.size,
    rowsSkipped: scan.refusedRows.size,
    findings: scan.findings,
    created: tally.created,
    updated: tally.updated,
    rehired: tally.rehired,
    terminated: tally.terminated,
    transitions: tally.transitions,
    unchanged: tally.unchanged,
    auditEvents: tally.auditEvents,
    identities: tally.changes.map((c) => c.identity),
    changes: tally.changes.map(changeSummary),
  });

  if (options.dryRun) {
    for await (const records of recordSlices(sourceConfig, scan)) plan(records);
    plan(null);
    return { result: result(), ...gate() };
  }
  const meta = { source, now: options.now, actor: options.actor };
  let stopped: { planHash: string; exceeded: MassChangeLevel[] } | null = null;
  let done = 0;
  await store.db
    .transaction()
    .execute(async (trx) => {
      for await (const records of recordSlices(sourceConfig, scan)) {
        await writeChanges(trx, plan(records).changes, meta);
        done += records.length;
        options.onProgress?.({ source, phase: "write", done, total: scan.rowsRead });
      }
      await writeChanges(trx, plan(null).changes, meta);
      const { exceeded, planHash } = gate();
      const confirm = options.confirmMassChange;
      if ((exceeded.length > 0 && confirm !== planHash) || (confirm !== undefined && confirm !== planHash)) {
        stopped = { planHash, exceeded };
        throw new StopRun();
      }
      await finishSourceRun(trx, {
        ...meta,
        massChangeConfirmed: exceeded.length > 0 ? planHash : null,
        summary: result(),
      });
    })
    .catch((err: unknown) => {
      if (!(err instanceof StopRun)) throw err;
    });
  const outcome = gate();
  if (stopped !== null) {
    // Rolled back: the guard records the stop (or the changed plan) and throws.
    const { planHash, exceeded } = stopped;
    await guardMassChange(store, config, {
      run: options.run,
      actor: options.actor,
      now: options.now,
      planHash,
      exceeded,
      confirm: options.confirmMassChange,
      confirmWith: options.confirmWith,
    });
  }
  return { result: result(), ...outcome };
}

/** Thrown inside the write transaction to roll a stopped run back. */
class StopRun extends Error {}

/** The second read's records, the refused rows left out; a row the first read did not see means the file changed. */
async function* recordSlices(config: CsvSourceConfig, scan: Awaited<ReturnType<typeof scanCsvSource>>) {
  let rows = 0;
  for await (const slice of csvRowSlices(config, SLICE)) {
    const records: WorkerRecord[] = [];
    for (const c of slice) {
      rows = c.row;
      if (scan.refusedRows.has(c.row)) continue;
      if (c.key === null || !scan.recordKeys.has(c.key) || c.findings.some((f) => f.severity === "error")) {
        throw new InvalidInputError(
          `${config.path}: changed while it was imported (row ${c.row}); nothing was written`,
        );
      }
      // No error means every required attribute is present and the enumerations parsed.
      records.push({
        source: c.source,
        key: c.key,
        row: c.row,
        raw: c.raw,
        attributes: c.attributes as WorkerAttributes,
      });
    }
    yield records;
  }
  if (rows !== scan.rowsRead) {
    throw new InvalidInputError(
      `${config.path}: changed while it was imported (${rows} rows, ${scan.rowsRead} before); nothing was written`,
    );
  }
}

/**
 * Hands each slice of records the stored identities planSync would match them to — by key, by the
 * normal form of a legacy key, by email under the `email` fallback when the identity's own key is no
 * record's — each identity to one slice only, and what no slice claimed to the final plan.
 */
function existingMatcher(
  existing: readonly Identity[],
  recordKeys: ReadonlySet<string>,
  byEmailToo: boolean,
) {
  const byKey = new Map<string, Identity>();
  const byNormalKey = new Map<string, Identity>();
  const byEmail = new Map<string, Identity>();
  for (const i of existing) {
    byKey.set(i.sourceKey, i);
    const normal = normaliseText(i.sourceKey);
    if (normal !== i.sourceKey && !byNormalKey.has(normal)) byNormalKey.set(normal, i);
    const email = i.attributes.email?.toLowerCase();
    if (byEmailToo && email) byEmail.set(email, i);
  }
  const claimed = new Set<string>();
  return {
    claim(records: readonly WorkerRecord[]): Identity[] {
      const mine: Identity[] = [];
      const take = (i: Identity | undefined): boolean => {
        if (i === undefined || claimed.has(i.id)) return false;
        claimed.add(i.id);
        mine.push(i);
        return true;
      };
      for (const r of records) {
        if (take(byKey.get(r.key)) || take(byNormalKey.get(r.key))) continue;
        const candidate = r.attributes.email ? byEmail.get(r.attributes.email.toLowerCase()) : undefined;
        if (candidate !== undefined && !recordKeys.has(normaliseText(candidate.sourceKey))) take(candidate);
      }
      return mine;
    },
    rest: (): Identity[] => existing.filter((i) => !claimed.has(i.id)),
  };
}

function newTally() {
  return {
    created: 0,
    updated: 0,
    rehired: 0,
    terminated: 0,
    transitions: {} as Record<string, number>,
    unchanged: 0,
    auditEvents: 0,
    changes: [] as IdentityChange[],
  };
}

function addTo(tally: ReturnType<typeof newTally>, plan: SyncPlan, keep: boolean): void {
  const counts = summarisePlan(plan);
  tally.created += counts.created;
  tally.updated += counts.updated;
  tally.rehired += counts.rehired;
  tally.terminated += counts.terminated;
  for (const [k, n] of Object.entries(counts.transitions))
    tally.transitions[k] = (tally.transitions[k] ?? 0) + n;
  tally.unchanged += plan.unchanged;
  for (const c of plan.changes) {
    tally.auditEvents += c.events.length;
    if (keep) tally.changes.push(c);
  }
}
