import { stringify } from "csv-stringify/sync";
import { formatLocation } from "../domain/lineage-format.js";
import { formatSodItem } from "../domain/sod-role-check.js";
import type { SodItem, SodRule, SodSeverity } from "../domain/sod-types.js";
import { sodOf } from "../engine/sod-access.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import {
  type SodException,
  type SodScanRecord,
  sodExceptionRepository,
  sodViolationRepository,
  type ViolationRecord,
} from "../store/sod-repository.js";

/**
 * What separation of duties shows people and auditors: open violations with who holds them and any
 * exception accepting them, the exceptions, the rule set, what opened and closed in a period, and the
 * trend of scans — as rows for the API and the console, and as CSV.
 */

export interface PersonRef {
  id: string;
  name: string;
  employeeId: string | null;
}

export interface ViolationView extends ViolationRecord {
  holder: PersonRef;
  description: string | null;
  owner: string | null;
  /** `open`, `withheld` (newer access kept out), `excepted` (an exception in force), or `closed`. */
  status: "open" | "withheld" | "excepted" | "closed";
  exception: ExceptionView | null;
}

export interface ExceptionView extends SodException {
  holder: PersonRef;
  approver: PersonRef;
  /** `in force`, `expired` or `revoked` at the time asked. */
  state: "in force" | "expired" | "revoked";
}

export interface RuleView {
  name: string;
  description: string;
  severity: SodSeverity;
  owner: string | null;
  kind: "pair" | "atMost";
  sideA: string[];
  sideB: string[];
  max: number | null;
  scope: string | null;
  mitigations: { control: string; owner: string | null }[];
  location: string;
  openViolations: number;
}

async function people(store: Store, ids: Iterable<string>): Promise<(id: string) => PersonRef> {
  const found = await identityRepository.findByIds(store.db, [...new Set(ids)]);
  return (id) => {
    const i = found.get(id);
    return { id, name: i?.attributes.displayName ?? id, employeeId: i?.attributes.employeeId ?? null };
  };
}

function exceptionState(e: SodException, now: string): ExceptionView["state"] {
  return e.revokedAt !== null ? "revoked" : e.expiresAt <= now ? "expired" : "in force";
}

/** Open violations (of one identity or rule when asked), riskiest first, each with its exception. */
export async function listViolations(
  store: Store,
  config: TenureConfig,
  filter: { identityId?: string; rule?: string; severity?: string },
  now: Date,
): Promise<ViolationView[]> {
  const open = (
    await sodViolationRepository.open(store.db, {
      ...(filter.identityId !== undefined ? { identityIds: [filter.identityId] } : {}),
      ...(filter.rule !== undefined ? { rule: filter.rule } : {}),
    })
  ).filter((v) => filter.severity === undefined || v.severity === filter.severity);
  const views = await violationViews(store, config, open, now);
  const rank = { high: 0, medium: 1, low: 2 } as const;
  // Ties (one scan opens many at the same instant) by holder, then id: a report reads the same every time.
  return views.sort(
    (a, b) =>
      rank[a.severity] - rank[b.severity] ||
      a.openedAt.localeCompare(b.openedAt) ||
      a.holder.name.localeCompare(b.holder.name) ||
      a.id.localeCompare(b.id),
  );
}

async function violationViews(
  store: Store,
  config: TenureConfig,
  list: readonly ViolationRecord[],
  now: Date,
): Promise<ViolationView[]> {
  const nowIso = now.toISOString();
  const exceptions = await sodExceptionRepository.inForce(store.db, nowIso, [
    ...new Set(list.map((v) => v.identityId)),
  ]);
  const byKey = new Map(exceptions.map((e) => [`${e.identityId}|${e.rule}`, e]));
  const person = await people(store, [
    ...list.map((v) => v.identityId),
    ...exceptions.map((e) => e.approvedBy),
  ]);
  const rules = sodOf(config.policy).rules;
  return list.map((v) => {
    const e = v.closedAt === null ? byKey.get(`${v.identityId}|${v.rule}`) : undefined;
    const rule = rules[v.rule];
    return {
      ...v,
      holder: person(v.identityId),
      description: rule?.description ?? null,
      owner: rule?.owner ?? null,
      status:
        v.closedAt !== null ? "closed" : e !== undefined ? "excepted" : v.withheld ? "withheld" : "open",
      exception:
        e === undefined
          ? null
          : {
              ...e,
              holder: person(e.identityId),
              approver: person(e.approvedBy),
              state: exceptionState(e, nowIso),
            },
    };
  });
}

/** One violation, open or closed, with its exception in force. */
export async function showViolation(
  store: Store,
  config: TenureConfig,
  id: string,
  now: Date,
): Promise<ViolationView | undefined> {
  const v = await sodViolationRepository.find(store.db, id);
  return v === undefined ? undefined : (await violationViews(store, config, [v], now))[0];
}

/** Exceptions, newest first, with holder and approver by name and their state at `now`. */
export async function listExceptions(
  store: Store,
  filter: { state?: "in-force" | "ended"; identityId?: string; rule?: string },
  now: Date,
): Promise<ExceptionView[]> {
  const nowIso = now.toISOString();
  const list = await sodExceptionRepository.list(store.db, { now: nowIso, ...filter });
  const person = await people(
    store,
    list.flatMap((e) => [e.identityId, e.approvedBy]),
  );
  return list.map((e) => ({
    ...e,
    holder: person(e.identityId),
    approver: person(e.approvedBy),
    state: exceptionState(e, nowIso),
  }));
}

function items(list: readonly SodItem[]): string[] {
  return list.map(formatSodItem);
}

export async function listRules(store: Store, config: TenureConfig): Promise<RuleView[]> {
  const open = await sodViolationRepository.open(store.db);
  const counts = new Map<string, number>();
  for (const v of open) counts.set(v.rule, (counts.get(v.rule) ?? 0) + 1);
  return Object.values(sodOf(config.policy).rules).map((r: SodRule) => ({
    name: r.name,
    description: r.description,
    severity: r.severity,
    owner: r.owner,
    kind: r.condition.kind,
    sideA: items(r.condition.kind === "pair" ? r.condition.sideA : r.condition.items),
    sideB: r.condition.kind === "pair" ? items(r.condition.sideB) : [],
    max: r.condition.kind === "atMost" ? r.condition.max : null,
    scope: r.scope?.source ?? null,
    mitigations: r.mitigations.map((m) => ({ control: m.control, owner: m.owner })),
    location: formatLocation(r.location),
    openViolations: counts.get(r.name) ?? 0,
  }));
}

/** Violations opened or closed in [from, to), with their holder: the period report. */
export async function violationHistory(
  store: Store,
  config: TenureConfig,
  from: Date,
  to: Date,
  now: Date,
): Promise<ViolationView[]> {
  const list = await sodViolationRepository.changedBetween(store.db, from.toISOString(), to.toISOString());
  return violationViews(store, config, list, now);
}

/** The newest scans, oldest first: open violations by severity over time. */
export async function scanTrend(store: Store, limit = 90): Promise<SodScanRecord[]> {
  return (await sodViolationRepository.scans(store.db, limit)).reverse();
}

export const REPORT_KINDS = ["rules", "violations", "exceptions", "history"] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** A report's rows, flat, as the CSV has them (and JSON, for machines that want the same columns). */
export async function reportRows(
  store: Store,
  config: TenureConfig,
  kind: ReportKind,
  options: { now: Date; from?: Date; to?: Date },
): Promise<Record<string, string | number | null>[]> {
  const { now } = options;
  switch (kind) {
    case "rules":
      return (await listRules(store, config)).map((r) => ({
        rule: r.name,
        severity: r.severity,
        description: r.description,
        owner: r.owner,
        kind: r.kind,
        sideA: r.sideA.join("; "),
        sideB: r.sideB.join("; "),
        atMost: r.max,
        scope: r.scope,
        mitigations: r.mitigations.map((m) => `${m.control}${m.owner ? ` (${m.owner})` : ""}`).join("; "),
        location: r.location,
        openViolations: r.openViolations,
      }));
    case "violations":
      return (await listViolations(store, config, {}, now)).map(violationRow);
    case "history": {
      const to = options.to ?? now;
      const from = options.from ?? new Date(to.getTime() - 30 * 86_400_000);
      return (await violationHistory(store, config, from, to, now)).map(violationRow);
    }
    case "exceptions":
      return (await listExceptions(store, {}, now)).map((e) => ({
        exception: e.id,
        employeeId: e.holder.employeeId,
        holder: e.holder.name,
        rule: e.rule,
        control: e.control,
        justification: e.justification,
        approver: e.approver.name,
        approverEmployeeId: e.approver.employeeId,
        approvedAt: e.approvedAt,
        expiresAt: e.expiresAt,
        state: e.state,
        revokedAt: e.revokedAt,
        request: e.requestId,
      }));
  }
}

function violationRow(v: ViolationView): Record<string, string | number | null> {
  return {
    violation: v.id,
    employeeId: v.holder.employeeId,
    holder: v.holder.name,
    rule: v.rule,
    severity: v.severity,
    status: v.status,
    access: v.sides.map((s) => s.label).join(" + "),
    why: v.sides.map((s) => `${s.label}: ${s.why.join("; ")}`).join(" | "),
    heldFrom: v.heldFrom,
    openedAt: v.openedAt,
    closedAt: v.closedAt,
    closeReason: v.closeReason,
    exception: v.exception?.id ?? null,
    exceptionApprover: v.exception?.approver.name ?? null,
    exceptionExpiresAt: v.exception?.expiresAt ?? null,
  };
}

/**
 * Rows as CSV with a header. Cells starting with `=`, `+`, `-`, `@` are escaped (csv-stringify's
 * `escape_formulas`): a report opened in a spreadsheet never runs a value a user wrote.
 */
export function toCsv(
  rows: readonly Record<string, string | number | null>[],
  columns?: readonly string[],
): string {
  const header = columns ?? Object.keys(rows[0] ?? {});
  return stringify(
    rows.map((r) => header.map((c) => r[c] ?? "")),
    { header: true, columns: [...header], escape_formulas: true, record_delimiter: "unix" },
  );
}

const VIOLATION_COLUMNS: readonly string[] = [
  "violation",
  "employeeId",
  "holder",
  "rule",
  "severity",
  "status",
  "access",
  "why",
  "heldFrom",
  "openedAt",
  "closedAt",
  "closeReason",
  "exception",
  "exceptionApprover",
  "exceptionExpiresAt",
];

/** The CSV columns of each report, also when it has no rows. */
export const REPORT_COLUMNS: Record<ReportKind, readonly string[]> = {
  rules: [
    "rule",
    "severity",
    "description",
    "owner",
    "kind",
    "sideA",
    "sideB",
    "atMost",
    "scope",
    "mitigations",
    "location",
    "openViolations",
  ],
  violations: VIOLATION_COLUMNS,
  history: VIOLATION_COLUMNS,
  exceptions: [
    "exception",
    "employeeId",
    "holder",
    "rule",
    "control",
    "justification",
    "approver",
    "approverEmployeeId",
    "approvedAt",
    "expiresAt",
    "state",
    "revokedAt",
    "request",
  ],
};
