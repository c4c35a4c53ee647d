import type { PlannedOperation, Policy } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { takesAccessAway } from "../domain/lifecycle.js";
import { localDate } from "../domain/local-date.js";
import { normaliseText } from "../domain/normalise-text.js";
import type { PlanProblem } from "../domain/plan.js";
import type { RenamedKey } from "../domain/sync-plan.js";
import type { PushSourceConfig, TenureConfig } from "../policy/config-types.js";
import { InvalidInputError, NotFoundError, TenureError } from "../shared/errors.js";
import { withIdentityTraceIds } from "../shared/trace-context.js";
import { listForMessage } from "../sources/finding-format.js";
import {
  checkPushedRecords,
  mapPushedRecords,
  pushFieldNames,
  unknownPushFields,
} from "../sources/push/index.js";
import type { CandidateRow } from "../sources/record-mapping.js";
import type { Finding, SourceReadResult } from "../sources/source-types.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { personLock } from "../store/person-lock.js";
import type { OperationOutcome } from "./apply.js";
import { planIdentities } from "./identity-plan.js";
import { commitIdentityPlan, populationFor } from "./identity-provision.js";
import { guardMassChange, type MassChangeLevel, planHashOf } from "./mass-change.js";
import { type ConnectorPool, connectorPool, countForMassChange, reconcileFirstContact } from "./provision.js";
import { checkRenames, declaredRenames } from "./push-renames.js";
import {
  knownPerson,
  type PlannedSourceRun,
  planSourceRun,
  type WriteAlongside,
  writeSourceRun,
  writeSourceRunIn,
} from "./sync.js";

/** One push of HR records into a `push` source: what {@link ingestRecords} takes. */
export interface IngestRequest {
  /** A configured source of type `push`. */
  source: string;
  /** One object per record: the person's whole record, a field left out or null being empty (as in a CSV row). */
  rows: readonly Record<string, string | null>[];
  /**
   * true: row keys are Tenure attribute names (employeeId, givenName, …, terminationDate) and dates are
   * ISO `YYYY-MM-DD` — the SCIM server uses this; false/absent: the source's column names and
   * `dateFormat`, mapped like a CSV header.
   */
  attributeNames?: boolean;
  /** Who pushes, e.g. `token:<name>` — recorded in audit. */
  actor: string;
  now: Date;
  /** default true: plan+enqueue+apply the affected identities' operations before returning */
  provision?: boolean;
  /**
   * The plan hash of a stopped push, confirmed by an admin: the push goes through mass-change protection
   * only if the same records plan to this hash now (else PlanChangedError, nothing written); the audit
   * records who confirmed. Who may confirm is the caller's check (the API lets only admins).
   */
  confirmMassChange?: string | undefined;
  /**
   * Connectors kept open across pushes (a server's, closed by it): a push then pays no connection
   * set-up on the leaver path. Without it, connectors are opened for this push and closed after.
   */
  connectors?: ConnectorPool;
  /**
   * Per record (the positions of `rows`), the key the person had before when the pushing system knows
   * it changed — a SCIM User keeps its id when its externalId changes. The identity stored under that
   * key is re-keyed to the record's key (one `identity.rekeyed` event with `reason`; the same identity,
   * the same accounts), whatever the source's correlation fallback. null/absent: no declared change.
   */
  previousKeys?: readonly (RenamedKey | null | undefined)[];
  /**
   * Per record (the positions of `rows`), writes that belong with that record (the SCIM server's User
   * resource), made in the transaction that writes the push's identities, records and operations, their
   * audit events appended with the push's. Called only when that record changed its identity: not when
   * it was rejected or unchanged (the caller then writes on its own), nor when mass-change protection
   * stops the push.
   */
  alongsideOf?: readonly (WriteAlongside | undefined)[];
  /**
   * Per record, the trace id of the request that pushed it (pushes grouped into one): the operations
   * queued for its identity carry it. Absent or null: the caller's trace (shared/trace-context.ts).
   */
  traceIdOf?: readonly (string | null)[];
  /**
   * true: the records are several requests' writes grouped into one push, each to be pushed again on
   * its own should this push fail. Mass-change protection then stops the group without recording the
   * stop: each write is judged alone when pushed again (and records its own stop, if it has one), so
   * the audit never shows a stop that stopped nothing.
   */
  grouped?: boolean;
}

export interface IngestRowResult {
  /** 1-based position of the record in `rows`. */
  row: number;
  /** The record's key (the source's `key` attribute), null when it has none. */
  key: string | null;
  /** The identity the record belongs to; null for a rejected record of nobody known. */
  identityId: string | null;
  /**
   * `rejected`: an error finding (data quality) — the record changed nothing; its findings say what and
   * which field. `terminated`: the record made the identity a leaver. `rehired`: it brought a gone
   * identity back. `updated`: attributes, key or state changed otherwise.
   */
  status: "created" | "updated" | "unchanged" | "rehired" | "terminated" | "rejected";
  /** Everything data quality found in this record (warnings on accepted records too). */
  findings: Finding[];
}

export interface IngestResult {
  results: IngestRowResult[];
  /**
   * The operations this push queued, and where they stand when it returns: `succeeded`, `failed`
   * (attempted, a retry is due later), `dead`, and `pending` (not finished: waiting behind an earlier
   * open operation of the identity, handed to a person, or still running elsewhere).
   * queued = succeeded + failed + dead + pending.
   */
  operations: { queued: number; succeeded: number; failed: number; dead: number; pending: number };
  /** The identities planned: the changed people and the dependants of their change (see ingestRecords). */
  recomputed: string[];
  /** What the planner could not do for them (a username taken under `collision: fail`, a system never read …). */
  problems: PlanProblem[];
}

/** How long a push waits for its operations that another worker claimed first (a server's apply loop). */
const WAIT_FOR_OTHERS_MS = 10_000;
const POLL_MS = 20;

/**
 * Takes pushed HR records into a `push` source — the event-driven lifecycle. Each record is mapped and
 * checked by the same code as a CSV row (`createRecordMapper`, `checkDataQuality`): a record with an
 * error finding is `rejected` and changes nothing; the others are planned by the same lifecycle step
 * as a sync (`planSourceRun`). Unless `provision: false`, the identities the push affects — and only
 * those — are planned, and the push (identities, source records, audit events) is written in one
 * transaction with their operations (durable, audited, idempotent, as a batch sync queues them), which
 * are then applied at once, so a leaver's accounts are disabled before this returns.
 *
 * Affected identities: every identity the push changed; plus, when some role's rule reads
 * `managerId`, the direct reports of each changed person (identities of the source whose `managerId`
 * is that person's key, or the key it had before a re-key). Rules read only the identity's own
 * attributes, so a manager's record cannot change a report's rules today; the reports are planned
 * anyway because they are the identities a rule about reporting lines concerns, so a team's access
 * catches up with its manager's move in the same push (e.g. a report recorded earlier with
 * `provision: false`). An unchanged record recomputes nobody.
 *
 * Reads only what the pushed people need — their stored identities (by key, email and manager key),
 * their accounts, links and assignments — never the whole organisation; mass-change protection counts
 * the population only when a push could pass the threshold.
 *
 * Concurrency: pushes are serialised per person — per source key for the whole push, per identity
 * while planning, queueing and applying (a manager's push planning their reports waits for a report's
 * own push, and the other way round) — and run in parallel for different people, in one process and,
 * on PostgreSQL, across every process on the store (store/person-lock.ts: advisory locks). Pushes for
 * one person run one after the other (in call order within a process): the later push sees the
 * earlier one's result and its operations queue behind the earlier ones, so the person ends in the
 * state of the last push. At most `server.pushConcurrency` pushes of a process run at once; a push
 * whose records take access away (a leaver, someone on leave) is let in before the others waiting.
 *
 * @throws NotFoundError (404) for a source that is not configured; TenureError `source_not_push` (409)
 *   for a source of another type; InvalidInputError when a record has a field the source does not read
 *   (nothing changed); MassChangeError (409, after recording its one `mass-change.stopped` event) when
 *   the push would terminate, or disable or delete accounts of, more than lifecycle.massChangeThreshold —
 *   nothing else written; PlanChangedError (409) when `confirmMassChange` is not the push's plan hash.
 */
export async function ingestRecords(
  store: Store,
  config: TenureConfig,
  request: IngestRequest,
): Promise<IngestResult> {
  const source = pushSourceOf(config, request.source);
  const mapping = { attributeNames: request.attributeNames === true };
  const unknown = unknownPushFields(source, request.rows, mapping);
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `source ${source.name}: ${describeUnknownFields(source, unknown, mapping)}; nothing was changed`,
      unknown.map((u) => `record ${u.row}: unknown field "${u.field}"`),
    );
  }
  const candidates = mapPushedRecords(source, request.rows, mapping);
  const previous = (request.previousKeys ?? []).flatMap((p) => (p ? [p.previousKey] : []));
  const keys = [...candidates.flatMap((c) => (c.key === null ? [] : [c.key])), ...previous].map(
    (key) => `key\u0000${source.name}\u0000${key}`,
  );
  // A push that takes someone's access away is let in before the others waiting (the push gate), never
  // before an earlier push for the same person: pushes for one person run in call order.
  const today = localDate(request.now, source.timeZone);
  const admission = {
    limit: config.server.pushConcurrency,
    urgent: candidates.some((c) => takesAccessAway(c.attributes, today)),
  };
  return personLock(store).run(keys, () => ingestLocked(store, config, source, candidates, request), {
    admission,
  });
}

/** The message for fields nobody reads: which, where, and the fields that are read. */
export function describeUnknownFields(
  source: PushSourceConfig,
  unknown: readonly { row: number; field: string }[],
  mapping: { attributeNames?: boolean },
): string {
  const listed = unknown.map((u) => `"${u.field}" (record ${u.row})`);
  return (
    `unknown field${unknown.length === 1 ? "" : "s"} ${listForMessage(listed)}; ` +
    `a record of this source has the fields ${pushFieldNames(source, mapping).join(", ")}`
  );
}

/** The push source named `name`. */
export function pushSourceOf(config: TenureConfig, name: string): PushSourceConfig {
  const source = Object.hasOwn(config.sources, name) ? config.sources[name] : undefined;
  if (source === undefined) {
    throw new NotFoundError(
      `no source named "${name}" in ${config.path} (sources: ${Object.keys(config.sources).join(", ") || "none"})`,
    );
  }
  if (source.type !== "push") {
    throw new TenureError(
      "source_not_push",
      `source "${name}" is of type ${source.type}: records can be pushed only to a source of type push`,
      { httpStatus: 409 },
    );
  }
  return source;
}

async function ingestLocked(
  store: Store,
  config: TenureConfig,
  source: PushSourceConfig,
  candidates: readonly CandidateRow[],
  request: IngestRequest,
): Promise<IngestResult> {
  const { db } = store;
  const keys = candidates.flatMap((c) => (c.key === null ? [] : [c.key]));
  const emails = candidates.flatMap((c) => (c.attributes.email ? [c.attributes.email.toLowerCase()] : []));
  const managers = candidates.flatMap((c) => (c.attributes.managerId ? [c.attributes.managerId] : []));
  // Keys arrive normalised (NFC); one stored before sources normalised them may be in NFD.
  const legacyKeys = keys.flatMap((k) => (k.normalize("NFD") === k ? [] : [k.normalize("NFD")]));
  const renamedKeys = declaredRenames(candidates, request.previousKeys);
  const previousKeys = [...renamedKeys.values()].map((r) => r.previousKey);
  const stored = await identityRepository.listBySourceKeysOrEmails(
    db,
    source.name,
    [...keys, ...legacyKeys, ...managers, ...previousKeys],
    emails,
  );
  const renamedIdentities = checkRenames(source.name, renamedKeys, stored);
  // Data quality sees a renamed person under the new key: the record is theirs, not a newcomer's.
  const known = stored.map((i) => ({
    ...knownPerson(i),
    sourceKey: renamedIdentities.get(i.id) ?? i.sourceKey,
  }));
  const read = checkPushedRecords(source, candidates, known);

  const pushed = new Set([...keys, ...previousKeys]);
  const byEmail = source.correlation.fallback === "email" ? new Set(emails) : new Set<string>();
  // Managers named only to check managerId are not the push's to change.
  const existing = stored.filter(
    (i) =>
      pushed.has(normaliseText(i.sourceKey)) ||
      (i.attributes.email !== null && byEmail.has(i.attributes.email.toLowerCase())),
  );
  const options = { now: request.now, actor: request.actor };
  const run = await planSourceRun(
    config,
    source,
    {
      existing,
      read,
      population: () => identityRepository.countLive(db, source.name),
      recordsOnly: true,
      renamedKeys,
    },
    options,
  );
  const results = rowResults(candidates, read, run, existing, renamedIdentities);
  const nothing = { queued: 0, succeeded: 0, failed: 0, dead: 0, pending: 0 };
  const changed = run.plan.changes.map((c) => c.identity);
  if (changed.length === 0) return { results, operations: nothing, recomputed: [], problems: [] };
  if (request.provision === false || Object.keys(config.policy.systems).length === 0) {
    const confirmed = await guardPush(store, config, request, run, []);
    await writeSourceRun(store, confirmed, options, alongsideFor(request, run));
    return { results, operations: nothing, recomputed: [], problems: [] };
  }

  const dependants = await reportsOf(store, config.policy, source.name, run);
  const ids = [...changed.map((i) => i.id), ...dependants.map((i) => i.id)];
  return personLock(store).run(
    ids.map((id) => `identity\u0000${id}`),
    async () => {
      // Read again under the lock: a report's own push may have changed it meanwhile.
      const locked = new Set(dependants.map((i) => i.id));
      const reports = (await reportsOf(store, config.policy, source.name, run)).filter((i) =>
        locked.has(i.id),
      );
      const provisioned = await provisionPush(store, config, request, run, [...changed, ...reports]);
      return { results, ...provisioned };
    },
  );
}

/** Whether some role's birthright rule reads the manager (today: `managerId`). */
function rulesReadManager(policy: Policy): boolean {
  return Object.values(policy.roles).some((role) => role.when?.reads.some((a) => a.startsWith("manager")));
}

/** The direct reports of the people the push changed, when a rule reads the manager; else none. */
async function reportsOf(
  store: Store,
  policy: Policy,
  source: string,
  run: PlannedSourceRun,
): Promise<Identity[]> {
  if (!rulesReadManager(policy)) return [];
  const changed = new Set(run.plan.changes.map((c) => c.identity.id));
  const managerKeys = run.plan.changes.flatMap((c) =>
    c.before !== undefined && c.before.sourceKey !== c.identity.sourceKey
      ? [c.identity.sourceKey, c.before.sourceKey]
      : [c.identity.sourceKey],
  );
  const reports = await identityRepository.listReports(store.db, source, managerKeys);
  return reports.filter((i) => !changed.has(i.id));
}

/**
 * Plans the affected identities as the push leaves them, checks mass-change protection, and only then
 * writes the push and queues and applies the operations: a stopped push changes nothing at all.
 */
async function provisionPush(
  store: Store,
  config: TenureConfig,
  request: IngestRequest,
  run: PlannedSourceRun,
  identities: readonly Identity[],
): Promise<Omit<IngestResult, "results">> {
  const now = request.now;
  const options = { now, actor: request.actor };
  const pool = request.connectors ?? connectorPool(config);
  try {
    const unreachable = await reconcileFirstContact(store, config, pool, options);
    const plan = await planIdentities(store, config, identities, now);
    const ops = plan.operations.filter((op) => !unreachable.has(op.system));
    for (const [system, message] of unreachable) {
      plan.problems.push({ kind: "system-unread", identityId: null, system, username: null, message });
    }
    const accountCountBySystem = await populationFor(store, config, ops);
    const counted = await countForMassChange(store, config, ops, accountCountBySystem);
    const written = await guardPush(store, config, request, run, counted.fresh, counted.exceeded);

    const ids = identities.map((i) => i.id);
    const { queued, applied } = await withIdentityTraceIds(traceIdsOf(request, run), () =>
      commitIdentityPlan(
        store,
        config,
        pool,
        { plan, ops, identityIds: ids, unreachable },
        {
          now,
          actor: request.actor,
          accountCountBySystem,
          confirmed: written.massChangeConfirmed,
          massChange: counted.exceeded.length > 0,
          // The push itself commits with its operations: one transaction, one ledger append.
          alongside: async (trx) => {
            const events = await writeSourceRunIn(trx, written, options);
            const alongside = alongsideFor(request, run);
            if (alongside !== undefined) events.push(...(await alongside(trx)));
            return events;
          },
        },
      ),
    );
    return {
      operations: await settle(
        store,
        queued.queued.map((op) => op.id),
        applied.outcomes,
      ),
      recomputed: ids,
      problems: plan.problems,
    };
  } finally {
    if (request.connectors === undefined) await pool.closeAll();
  }
}

/** Each changed identity's own trace id, when the records came from several requests. */
function traceIdsOf(request: IngestRequest, run: PlannedSourceRun): Map<string, string> {
  const traces = new Map<string, string>();
  if (request.traceIdOf === undefined) return traces;
  for (const c of run.plan.changes) {
    const trace = c.record === undefined ? null : (request.traceIdOf[c.record.row - 1] ?? null);
    if (trace !== null) traces.set(c.identity.id, trace);
  }
  return traces;
}

/** The writes that go with the push: those of each record that changed its identity (alongsideOf). */
function alongsideFor(request: IngestRequest, run: PlannedSourceRun): WriteAlongside | undefined {
  const perRecord = request.alongsideOf ?? [];
  const written = run.plan.changes.flatMap((c) => {
    const write = c.record === undefined ? undefined : perRecord[c.record.row - 1];
    return write === undefined ? [] : [write];
  });
  if (written.length === 0) return undefined;
  // Started together, so writes that join their transaction's statements (a grouped push's SCIM
  // resources: scimResourceRepository.insertJoined) become one; their events keep the records' order.
  // Every write settles before a failure is thrown: one still queued on the connection would otherwise
  // run after the rollback, outside the transaction (SQLite: committed on its own).
  return async (trx) => {
    const settled = await Promise.allSettled(written.map((write) => write(trx)));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return settled.flatMap((s) => (s.status === "fulfilled" ? s.value : []));
  };
}

/**
 * Mass-change protection for the whole push — its terminations and its operations — before anything is
 * written (see guardMassChange). Returns the run to write, marked confirmed when a confirmation let it through.
 */
async function guardPush(
  store: Store,
  config: TenureConfig,
  request: IngestRequest,
  run: PlannedSourceRun,
  fresh: readonly PlannedOperation[],
  systems: readonly MassChangeLevel[] = [],
): Promise<PlannedSourceRun> {
  const source = run.result.source;
  const planHash = planHashOf({ sources: [{ source, plan: run.plan }], operations: fresh });
  const confirmed = await guardMassChange(store, config, {
    run: `push to source ${source}`,
    actor: request.actor,
    now: request.now,
    planHash,
    exceeded: [...(run.massChange === null ? [] : [run.massChange]), ...systems],
    confirm: request.confirmMassChange,
    confirmWith: (h) =>
      `an admin token pushing the same records to POST /api/sources/${source}/records?confirmMassChange=${h}`,
    recordStop: request.grouped !== true,
  });
  return confirmed ? { ...run, massChangeConfirmed: planHash } : run;
}

/**
 * Where the push's own operations stand. Those this push's apply did not finish may have been claimed
 * by another worker (a server's apply loop) a moment before it: wait a little for those, so the answer
 * — and a leaver's disable — is final when the push returns.
 */
async function settle(
  store: Store,
  queued: readonly string[],
  outcomes: readonly OperationOutcome[],
): Promise<IngestResult["operations"]> {
  const counts = { queued: queued.length, succeeded: 0, failed: 0, dead: 0, pending: 0 };
  const outcomeOf = new Map(outcomes.map((o) => [o.id, o.outcome]));
  const deadline = Date.now() + WAIT_FOR_OTHERS_MS;
  for (const id of queued) {
    let state: string | undefined = outcomeOf.get(id);
    if (state === undefined || state === "skipped") {
      state = (await operationRepository.find(store.db, id))?.state;
      while (state === "running" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        state = (await operationRepository.find(store.db, id))?.state;
      }
    }
    if (state === "succeeded" || state === "failed" || state === "dead") counts[state]++;
    else counts.pending++;
  }
  return counts;
}

/** Each record's outcome, from the findings and the planned changes. */
function rowResults(
  candidates: readonly CandidateRow[],
  read: SourceReadResult,
  run: PlannedSourceRun,
  existing: readonly Identity[],
  renamedIdentities: ReadonlyMap<string, string>,
): IngestRowResult[] {
  const findingsOf = new Map<number, Finding[]>();
  for (const f of read.findings) findingsOf.set(f.row, [...(findingsOf.get(f.row) ?? []), f]);
  const changeOf = new Map(run.plan.changes.flatMap((c) => (c.record ? [[c.record.row, c] as const] : [])));
  const idOfKey = new Map(existing.map((i) => [renamedIdentities.get(i.id) ?? i.sourceKey, i.id]));
  return candidates.map((c) => {
    const findings = findingsOf.get(c.row) ?? [];
    const base = { row: c.row, key: c.key, findings };
    if (findings.some((f) => f.severity === "error")) {
      return {
        ...base,
        identityId: c.key === null ? null : (idOfKey.get(c.key) ?? null),
        status: "rejected",
      };
    }
    const change = changeOf.get(c.row);
    if (change === undefined)
      return { ...base, identityId: idOfKey.get(c.key!) ?? null, status: "unchanged" };
    const actions = change.events.map((e) => e.action);
    const status = actions.includes("identity.created")
      ? "created"
      : actions.includes("identity.rehired")
        ? "rehired"
        : change.identity.state === "terminated" && change.before?.state !== "terminated"
          ? "terminated"
          : "updated";
    return { ...base, identityId: change.identity.id, status };
  });
}
