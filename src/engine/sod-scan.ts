import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { describeHolding } from "../domain/sod.js";
import type { SodViolation } from "../domain/sod-holding-types.js";
import { formatSodItem } from "../domain/sod-role-check.js";
import type { SodSeverity } from "../domain/sod-types.js";
import { enqueueNotificationsMany } from "../notify/notification-enqueue.js";
import type { NotificationEvent } from "../notify/notification-events.js";
import type { TenureConfig } from "../policy/config-types.js";
import { prepareBulkInsert } from "../store/bulk-insert.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { type SodScanRecord, sodViolationRepository, type ViolationRecord } from "../store/sod-repository.js";
import { isUniqueViolation } from "../store/store-errors.js";
import { drainSteps } from "./give-way.js";
import {
  type AccessData,
  evaluateIdentity,
  loadAccessData,
  loadIdentitiesAccess,
  scanPopulation,
  sodOf,
  systemsNamed,
} from "./sod-access.js";

/**
 * The detective side of separation of duties: every identity's effective access against every rule.
 * A scan keeps the store's open violations equal to what it finds — new ones opened (audited, their
 * rule owner told), changed ones refreshed, gone ones closed (audited) — and records its totals for
 * the trend. Full (everyone) on a schedule and on demand; incremental (the identities a sync or a
 * push changed) after each change.
 */

export interface SodScanResult {
  scan: SodScanRecord;
  /** Violations this scan opened. */
  opened: ViolationRecord[];
  /** Violations this scan closed. */
  closed: ViolationRecord[];
  /** Every open violation of the identities scanned, after the scan. */
  open: ViolationRecord[];
  /** Conflicts that start later (a future-dated grant): not open yet, shown for the time they will be. */
  upcoming: ViolationRecord[];
}

/** Where the owner of a rule looks at a violation: the console's page, or the command. */
export function violationLink(config: TenureConfig, id: string): string {
  const base = config.server.console.publicUrl;
  return base === undefined
    ? `tenure sod show ${id}`
    : `${base.replace(/\/$/, "")}/sod/violations/${encodeURIComponent(id)}`;
}

function severityCounts(list: readonly ViolationRecord[]): Record<SodSeverity, number> {
  const out: Record<SodSeverity, number> = { high: 0, medium: 0, low: 0 };
  for (const v of list) out[v.severity]++;
  return out;
}

/** A violation as the store keeps it: the sides in words, so a report needs no recomputation. */
export function toRecord(v: SodViolation, withheld: boolean, now: string): ViolationRecord {
  return {
    id: randomUUID(),
    identityId: v.identityId,
    rule: v.rule,
    severity: v.severity,
    withheld,
    sides: v.sides.map((s) => ({
      item: s.item,
      label: formatSodItem(s.item),
      why: [...new Set(s.holdings.map((h) => describeHolding(h, now)))],
    })),
    heldFrom: v.from,
    heldUntil: v.until,
    openedAt: now,
    lastSeenAt: now,
    closedAt: null,
    closeReason: null,
  };
}

/** The collision in words: `role ap-clerk (birthright role ap-clerk) with erp:payment-approve (found …)`. */
export function describeSides(v: Pick<ViolationRecord, "sides">): string {
  return v.sides.map((s) => `${s.label} (${s.why.join("; ")})`).join(" with ");
}

function sameContent(a: ViolationRecord, b: ViolationRecord): boolean {
  return (
    a.withheld === b.withheld &&
    a.severity === b.severity &&
    a.heldUntil === b.heldUntil &&
    JSON.stringify(a.sides) === JSON.stringify(b.sides)
  );
}

function* evaluateAll(
  config: TenureConfig,
  identities: readonly Identity[],
  data: AccessData,
  now: Date,
  found: { current: ViolationRecord[]; upcoming: ViolationRecord[] },
): Generator<void, void, void> {
  const nowIso = now.toISOString();
  const nowMs = now.getTime();
  let n = 0;
  for (const identity of identities) {
    if (++n % 2_000 === 0) yield;
    const result = evaluateIdentity(config, identity, data, now);
    for (const v of result.violations) {
      const record = toRecord(v, result.withheld.has(v.key), nowIso);
      if (Date.parse(v.from) > nowMs) found.upcoming.push(record);
      else found.current.push(record);
    }
  }
}

/** What a scan found, before anything is written. */
export interface ScanFindings {
  /** The identities evaluated: those asked for, or in a full scan those who could break a rule. */
  identities: Identity[];
  /** How many identities the scan covers (everyone, in a full scan). */
  scanned: number;
  /** The identities covered that have left: their open violations close as "identity left". */
  left: ReadonlySet<string>;
  found: { current: ViolationRecord[]; upcoming: ViolationRecord[] };
  /**
   * The open violations stored for the identities asked for, read with their access (a scan of some
   * identities, not a full one): what an incremental scan compares its findings with.
   */
  stored?: ViolationRecord[];
}

/**
 * Every violation of `identityIds` (everyone when absent) at `now`, as a scan would find it. Reads
 * only. A full scan reads everyone narrowly first and evaluates only those who could break a rule
 * (engine/sod-access.ts `scanPopulation`): the same violations as evaluating everyone.
 */
export async function findViolations(
  store: Store,
  config: TenureConfig,
  now: Date,
  identityIds?: readonly string[],
): Promise<ScanFindings> {
  if (identityIds !== undefined) {
    // The identities, what they hold and their open violations, together (one statement on PostgreSQL).
    const read = await loadIdentitiesAccess(store.db, now, identityIds, config);
    const found = { current: [] as ViolationRecord[], upcoming: [] as ViolationRecord[] };
    await drainSteps(evaluateAll(config, read.identities, read.data, now, found));
    return {
      identities: read.identities,
      scanned: read.identities.length,
      left: new Set(read.identities.filter((i) => isGone(i.state)).map((i) => i.id)),
      found,
      stored: read.open,
    };
  }
  const population = await scanPopulation(store.db, now, config);
  // The candidates' rows and what they hold, at once (PostgreSQL reads them on connections of their own).
  const [byId, data] = await Promise.all([
    identityRepository.findByIds(store.db, population.candidates),
    loadAccessData(store.db, now, population.candidates, config),
  ]);
  const identities = population.candidates.flatMap((id) => byId.get(id) ?? []);
  const found = { current: [] as ViolationRecord[], upcoming: [] as ViolationRecord[] };
  await drainSteps(evaluateAll(config, identities, data, now, found));
  return { identities, scanned: population.scanned, left: new Set(population.left), found };
}

/** A violation a policy would create that is not open now: what a plan shows before a change is made. */
export interface NewViolation {
  identityId: string;
  name: string;
  rule: string;
  severity: SodSeverity;
  access: string;
  /** When the conflict starts: now, or later for a future-dated grant. */
  from: string;
  withheld: boolean;
}

/**
 * The violations `config` would put identities in at `at` (a future date shows future-dated grants
 * and the lifecycle as stored), less those already open — or, given `baseline`, less those the
 * baseline configuration would have: `tenure plan` and the preview of a changed tenure.yaml list them
 * before anything is merged. Reads only.
 */
export async function newViolations(
  store: Store,
  config: TenureConfig,
  at: Date,
  baseline?: TenureConfig,
): Promise<NewViolation[]> {
  if (Object.keys(sodOf(config.policy).rules).length === 0) return [];
  const { identities, found } = await findViolations(store, config, at);
  const known = new Set<string>();
  if (baseline === undefined) {
    for (const v of await sodViolationRepository.open(store.db)) known.add(`${v.identityId}|${v.rule}`);
  } else {
    const before = await findViolations(store, baseline, at);
    for (const v of [...before.found.current, ...before.found.upcoming])
      known.add(`${v.identityId}|${v.rule}`);
  }
  const names = new Map(identities.map((i) => [i.id, i.attributes.displayName]));
  return [...found.current, ...found.upcoming]
    .filter((v) => !known.has(`${v.identityId}|${v.rule}`))
    .map((v) => ({
      identityId: v.identityId,
      name: names.get(v.identityId) ?? v.identityId,
      rule: v.rule,
      severity: v.severity,
      access: describeSides(v),
      from: v.heldFrom,
      withheld: v.withheld,
    }));
}

/**
 * Scans `identityIds` (everyone when absent) at `now` and brings the stored violations up to date, in
 * one transaction with their audit events, the owners' notifications and the scan's record. Open
 * violations of rules no longer configured, and of identities that left, are closed. A full scan
 * advances `last_seen_at` of every violation it finds again; an incremental scan does not, and one
 * that finds what is stored writes nothing (no transaction at all).
 */
export async function scanSod(
  store: Store,
  config: TenureConfig,
  options: { now: Date; actor: string; identityIds?: readonly string[] },
): Promise<SodScanResult> {
  const started = performance.now();
  const full = options.identityIds === undefined;
  const findings = await findViolations(store, config, options.now, options.identityIds);

  // Two scans of one identity at once (a push's and the nightly one) may both open its violation; the
  // unique index lets one win, and the other writes again against what the winner left.
  for (let attempt = 1; ; attempt++) {
    try {
      // A second attempt compares with what the winner left, read again.
      const stored = attempt === 1 ? findings.stored : undefined;
      return await writeScan(store, config, { ...findings, stored, full, started, ...options });
    } catch (err) {
      if (attempt >= 3 || !isUniqueViolation(err)) throw err;
    }
  }
}

/** How the stored open violations differ from what a scan found: what its write must change. */
interface ScanChanges {
  opened: ViolationRecord[];
  /** Found again, as they are after the scan, in the order found: `refreshed` and `unchanged` together. */
  still: ViolationRecord[];
  /** Found again with other content (sides, severity, withheld, end): rewritten. */
  refreshed: ViolationRecord[];
  /** Found again unchanged: only a full scan writes them (it advances their `last_seen_at`). */
  unchanged: ViolationRecord[];
  closed: ViolationRecord[];
}

/**
 * Compares what a scan found with the open violations stored for the identities it covers. A violation
 * found again keeps its id and opening; its `last_seen_at` moves to `now` only in a full scan — an
 * incremental one leaves it as stored, so that finding nothing new writes nothing.
 */
function compare(
  stored: readonly ViolationRecord[],
  found: readonly ViolationRecord[],
  scan: {
    full: boolean;
    nowIso: string;
    rules: Readonly<Record<string, unknown>>;
    left: ReadonlySet<string>;
  },
): ScanChanges {
  const byKey = new Map(stored.map((v) => [`${v.identityId}|${v.rule}`, v]));
  const changes: ScanChanges = { opened: [], still: [], refreshed: [], unchanged: [], closed: [] };
  for (const v of found) {
    const key = `${v.identityId}|${v.rule}`;
    const before = byKey.get(key);
    if (before === undefined) {
      changes.opened.push(v);
      continue;
    }
    byKey.delete(key);
    const kept = {
      ...v,
      id: before.id,
      openedAt: before.openedAt,
      lastSeenAt: scan.full ? scan.nowIso : before.lastSeenAt,
    };
    changes.still.push(kept);
    (sameContent(before, kept) ? changes.unchanged : changes.refreshed).push(kept);
  }
  for (const v of byKey.values()) {
    changes.closed.push({
      ...v,
      closedAt: scan.nowIso,
      closeReason: !Object.hasOwn(scan.rules, v.rule)
        ? "rule removed"
        : scan.left.has(v.identityId)
          ? "identity left"
          : "access ended",
    });
  }
  return changes;
}

/**
 * The write half of a scan: stored violations made equal to what was found, in one transaction. An
 * incremental scan that finds what is stored (the common case after a sync or a push) reads the
 * stored violations outside any transaction and writes nothing: no row, no audit event, no scan record,
 * no commit. A full scan always writes (it advances `last_seen_at` and is kept for the trend).
 */
async function writeScan(
  store: Store,
  config: TenureConfig,
  scan: ScanFindings & {
    full: boolean;
    started: number;
    now: Date;
    actor: string;
    identityIds?: readonly string[];
  },
): Promise<SodScanResult> {
  const { identities, found, full, started, now, left, scanned } = scan;
  const options = { now, actor: scan.actor };
  const nowIso = now.toISOString();
  const rules = sodOf(config.policy).rules;
  const filter = full ? {} : { identityIds: scan.identityIds! };
  const result = (changes: ScanChanges, bySeverity: Record<SodSeverity, number>): SodScanResult => {
    const open = [...changes.still, ...changes.opened];
    return {
      scan: {
        id: randomUUID(),
        at: nowIso,
        kind: full ? "full" : "incremental",
        identities: scanned,
        open: bySeverity.high + bySeverity.medium + bySeverity.low,
        opened: changes.opened.length,
        closed: changes.closed.length,
        bySeverity,
        durationMs: performance.now() - started,
      },
      opened: changes.opened,
      closed: changes.closed,
      open,
      upcoming: found.upcoming,
    };
  };

  if (!full) {
    // Each identity's open violations are read by one statement, so what is compared for a person is
    // one consistent state of theirs; a write, if one is needed, reads again in its transaction.
    const stored = scan.stored ?? (await sodViolationRepository.open(store.db, filter));
    const changes = compare(stored, found.current, { full, nowIso, rules, left });
    if (changes.opened.length + changes.refreshed.length + changes.closed.length === 0) {
      // Not kept for the trend: the totals are those of the people scanned.
      return result(changes, severityCounts(changes.still));
    }
  }

  return store.db.transaction().execute(async (trx) => {
    const stored = await sodViolationRepository.open(trx, filter);
    const changes = compare(stored, found.current, { full, nowIso, rules, left });
    const { opened, still, refreshed, unchanged, closed } = changes;
    for (const v of refreshed) await sodViolationRepository.refresh(trx, v);
    if (full) {
      await sodViolationRepository.touch(
        trx,
        unchanged.map((v) => v.id),
        nowIso,
      );
    }
    const owners = await ownerEmails(trx, config, opened);
    // The column types the inserts below need, read now (once per store): each then goes out when queued.
    if (opened.length > 0) await prepareBulkInsert(trx);
    // The rows, their audit events and the owners' notifications are queued on the transaction's
    // connection at once: each batch is prepared here while the server writes the one before (a first
    // scan writes thousands of each).
    await settleAll([
      sodViolationRepository.insertMany(trx, opened),
      (async () => {
        for (const reason of ["rule removed", "identity left", "access ended"]) {
          const list = closed.filter((v) => v.closeReason === reason).map((v) => v.id);
          await sodViolationRepository.close(trx, list, nowIso, reason);
        }
      })(),
      recordChanges(trx, config, identities, opened, closed, { ...options, owners }),
    ]);
    // The trend keeps every full scan, and an incremental one (a push, a grant) only when it opened or
    // closed something: a busy HR feed would otherwise add a row a push. Totals are counted for what is
    // kept; an incremental scan that only refreshed reports the open violations of those it scanned.
    const recorded = full || opened.length + closed.length > 0;
    const bySeverity = recorded
      ? await sodViolationRepository.countOpenBySeverity(trx)
      : severityCounts([...still, ...opened]);
    const out = result(changes, bySeverity);
    if (recorded) await sodViolationRepository.insertScan(trx, out.scan);
    return out;
  });
}

/**
 * Waits for every task, then fails with the first error if any failed. Tasks sharing a transaction's
 * connection: none may queue a statement after the transaction's rollback (it would run outside it), so
 * the rollback waits until all have ended; the first error is the one a statement met first (the others
 * then meet an aborted transaction), such as the unique violation a scan retries on.
 */
async function settleAll(tasks: readonly Promise<unknown>[]): Promise<void> {
  let failure: { error: unknown } | undefined;
  await Promise.all(
    tasks.map((task) =>
      task.catch((error: unknown) => {
        failure ??= { error };
      }),
    ),
  );
  if (failure !== undefined) throw failure.error;
}

/** Audit events for what opened and closed, and a `sod.violation` to each new violation's rule owner. */
async function recordChanges(
  trx: Db,
  config: TenureConfig,
  identities: readonly Identity[],
  opened: readonly ViolationRecord[],
  closed: readonly ViolationRecord[],
  options: { now: Date; actor: string; owners: ReadonlyMap<string, string | null> },
): Promise<void> {
  const time = options.now.toISOString();
  // The rows' insert, queued just before, goes to the server first: the events are prepared meanwhile.
  await nextTurn();
  await settleAll([
    appendEvents(trx, [
      ...opened.map((v) => ({
        time,
        actor: options.actor,
        action: v.withheld ? "sod.violation_withheld" : "sod.violation_opened",
        subject: `identity:${v.identityId}`,
        details: {
          violation: v.id,
          rule: v.rule,
          severity: v.severity,
          sides: v.sides.map((s) => ({ item: s.label, why: s.why })),
          heldFrom: v.heldFrom,
          heldUntil: v.heldUntil,
        },
      })),
      ...closed.map((v) => ({
        time,
        actor: options.actor,
        action: "sod.violation_closed",
        subject: `identity:${v.identityId}`,
        details: { violation: v.id, rule: v.rule, reason: v.closeReason, openedAt: v.openedAt },
      })),
    ]),
    notifyOwners(trx, config, identities, opened, options),
  ]);
}

/**
 * The email address of each owner of a rule `opened` break, looked up once per scan (owners are few),
 * before the scan's writes are queued: its notifications are rendered while they are written.
 */
async function ownerEmails(
  trx: Db,
  config: TenureConfig,
  opened: readonly ViolationRecord[],
): Promise<Map<string, string | null>> {
  const rules = sodOf(config.policy).rules;
  const owners = new Map<string, string | null>();
  for (const v of opened) {
    const owner = rules[v.rule]?.owner ?? null;
    if (owner !== null && !owners.has(owner)) owners.set(owner, await ownerEmail(trx, owner));
  }
  return owners;
}

/** A `sod.violation` to the rule owner of each violation opened, queued in one multi-row insert. */
async function notifyOwners(
  trx: Db,
  config: TenureConfig,
  identities: readonly Identity[],
  opened: readonly ViolationRecord[],
  options: { now: Date; owners: ReadonlyMap<string, string | null> },
): Promise<void> {
  if (opened.length === 0) return;
  // The audit head's lock, queued just before, goes to the server first: these are rendered while it
  // writes the rows, and the events are hashed while it writes these.
  await nextTurn();
  const rules = sodOf(config.policy).rules;
  const owners = options.owners;
  const byId = new Map(identities.map((i) => [i.id, i]));
  const events: NotificationEvent[] = [];
  for (const v of opened) {
    const rule = rules[v.rule];
    if (rule === undefined) continue;
    events.push({
      name: "sod.violation",
      data: {
        violationId: v.id,
        to: rule.owner === null ? null : (owners.get(rule.owner) ?? null),
        rule: v.rule,
        severity: v.severity,
        risk: rule.description,
        holder: byId.get(v.identityId)?.attributes.displayName ?? v.identityId,
        access: describeSides(v),
        status: v.withheld ? "withheld" : "open",
        link: violationLink(config, v.id),
      },
    });
  }
  // One multi-row insert for the scan's notifications (a first scan queues thousands).
  await enqueueNotificationsMany(trx, events, config, options.now);
}

/** The email address of a person named in tenure.yaml (email, HR key or identity id). */
export async function ownerEmail(db: Db, ref: string): Promise<string | null> {
  const person = await identityRepository.resolve(db, ref);
  return person?.attributes.email ?? (ref.includes("@") ? ref : null);
}

/**
 * The scan that follows a change (a sync, a push, a grant, an end): the identities it touched, when
 * there are rules. Null when there is nothing to scan.
 */
export async function scanChanged(
  store: Store,
  config: TenureConfig,
  identityIds: readonly string[],
  options: { now: Date; actor: string },
): Promise<SodScanResult | null> {
  if (identityIds.length === 0 || Object.keys(sodOf(config.policy).rules).length === 0) return null;
  return scanSod(store, config, { ...options, identityIds: [...new Set(identityIds)] });
}

/** Whether a rule names an entitlement of `system`: a reconcile of it can open or close violations. */
export function rulesRead(config: TenureConfig, system: string): boolean {
  return systemsNamed(sodOf(config.policy)).includes(system);
}
