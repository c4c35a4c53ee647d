import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import type { IdentityChange } from "../domain/sync-plan.js";
import { TenureError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { type StoredSourceRecord, sourceRecordRepository } from "../store/source-record-repository.js";
import type { SourceSyncResult } from "./sync-types.js";

/** One change as a run's result lists it (SourceSyncResult.changes). */
export function changeSummary(c: IdentityChange): SourceSyncResult["changes"][number] {
  return {
    id: c.identity.id,
    key: c.identity.sourceKey,
    name: c.identity.attributes.displayName,
    from: c.before?.state ?? null,
    to: c.identity.state,
    actions: c.events.map((e) => e.action),
  };
}

/**
 * Writes planned identity changes inside the caller's transaction: the records that caused them, the
 * identities as the run leaves them, and their audit events. A whole run at once (writeSourceRun), or
 * one slice of a streamed import at a time (streamCsvSourceRun). With `ledger`, the events are added
 * to it instead, for the caller to append as its transaction's last write (finishSourceRun does).
 */
export async function writeChanges(
  trx: Db,
  changes: readonly IdentityChange[],
  meta: { source: string; now: Date; actor: string },
  ledger?: AuditEventInput[],
): Promise<void> {
  const at = meta.now.toISOString();
  const records: Omit<StoredSourceRecord, "contentHash">[] = [];
  const identities = changes.map((c) => {
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
  const events: AuditEventInput[] = changes.flatMap((c, i) =>
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
  await checkUnchangedSincePlanned(trx, changes);
  await sourceRecordRepository.insertMany(trx, records);
  await identityRepository.upsertMany(trx, identities);
  if (ledger === undefined) await appendEvents(trx, events);
  else for (const e of events) ledger.push(e);
}

/**
 * Ends a source run's write in its transaction: {@link recordSourceRun}, then, as the transaction's
 * last write, the ledger append — `pending` (the events writeChanges left to it) and the run's own —
 * so the ledger's lock is held only for the append.
 */
export async function finishSourceRun(
  trx: Db,
  meta: SourceRunMeta,
  pending: readonly AuditEventInput[] = [],
): Promise<void> {
  await appendEvents(trx, [...pending, ...(await recordSourceRun(trx, meta))]);
}

type SourceRunMeta = {
  source: string;
  now: Date;
  actor: string;
  massChangeConfirmed: string | null;
  summary: SourceSyncResult;
};

/**
 * The run's summary in `source_runs` — counts only: the run's identities and changes are in the tables
 * and the ledger already, and kept here they made one row grow with the organisation (70 MB for 100,000
 * people). Returns the run's own audit events for the caller to append: `sync.mass_change_confirmed`
 * when a confirmation let it through.
 */
export async function recordSourceRun(trx: Db, meta: SourceRunMeta): Promise<AuditEventInput[]> {
  const at = meta.now.toISOString();
  await trx
    .insertInto("source_runs")
    .values({
      id: newId(),
      source: meta.source,
      started_at: at,
      finished_at: at,
      dry_run: 0,
      summary: JSON.stringify({
        ...meta.summary,
        identities: undefined,
        changes: undefined,
        findings: meta.summary.findings.length,
      }),
    })
    .execute();
  if (meta.massChangeConfirmed === null) return [];
  return [
    {
      time: at,
      actor: meta.actor,
      action: "sync.mass_change_confirmed",
      subject: `source:${meta.source}`,
      details: {
        terminated: meta.summary.terminated,
        confirmedBy: meta.actor,
        planHash: meta.massChangeConfirmed,
      },
    },
  ];
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
