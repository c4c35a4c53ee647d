import { describeEvent } from "../audit/event-summary.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Store } from "../store/store-types.js";
import { eventsOf } from "./report-leavers.js";
import { columns, type Report, type ReportOptions, type ReportRow, reportPeriod } from "./report-types.js";

/**
 * Every change to who can reach what in a period, from the ledger: accounts created, enabled, disabled,
 * deleted and entitlements granted or revoked as the targets confirmed them, and the decisions behind
 * access (assignments, approved requests, review revocations, SoD exceptions).
 */

/** Operation kinds that change access; an update of attributes or a rotation does not. */
const ACCESS_KINDS = new Set(["create", "enable", "disable", "delete", "grant", "revoke"]);
const DECISIONS = new Set([
  "assignment.granted",
  "assignment.revoked",
  "assignment.extended",
  "request.approved",
  "review.item_revoked",
  "review.exclusion_recorded",
  "review.exclusion_lifted",
  "sod.exception_approved",
  "sod.exception_revoked",
  "sod.exception_expired",
  "account.dormant_disabled",
]);

export async function accessChangesReport(
  store: Store,
  _config: TenureConfig,
  options: ReportOptions,
): Promise<Report> {
  const { from, to } = reportPeriod(options);
  const rows: ReportRow[] = [];
  const identityIds = new Set<string>();
  for await (const e of eventsOf(store.db, { since: from.toISOString(), until: to.toISOString() })) {
    const confirmed = e.action === "operation.succeeded" && ACCESS_KINDS.has(String(e.details.kind));
    if (!confirmed && !DECISIONS.has(e.action)) continue;
    if (confirmed && e.details.changed === false) continue;
    const identityId =
      typeof e.details.identity === "string"
        ? e.details.identity
        : e.subject.startsWith("identity:")
          ? e.subject.slice("identity:".length)
          : null;
    if (identityId !== null) identityIds.add(identityId);
    rows.push({
      seq: e.seq,
      time: e.time,
      actor: e.actor,
      action: e.action,
      identityId,
      employeeId: null,
      name: null,
      system: typeof e.details.system === "string" ? e.details.system : null,
      account: typeof e.details.username === "string" ? e.details.username : null,
      change: confirmed ? String(e.details.kind) : e.action.slice(e.action.indexOf(".") + 1),
      entitlement: typeof e.details.entitlement === "string" ? e.details.entitlement : null,
      what: describeEvent(e),
    });
  }
  const people = await identityRepository.findByIds(store.db, [...identityIds]);
  for (const r of rows) {
    const p = r.identityId === null ? undefined : people.get(String(r.identityId));
    if (p === undefined) continue;
    r.employeeId = p.sourceKey;
    r.name = p.attributes.displayName;
  }
  const byChange = new Map<string, number>();
  for (const r of rows) byChange.set(String(r.change), (byChange.get(String(r.change)) ?? 0) + 1);
  return {
    name: "access-changes",
    title: "Access changes",
    description: `Every change to access recorded between ${from.toISOString()} and ${to.toISOString()}: what the targets confirmed (operations that changed something) and the decisions behind access, in ledger order.`,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: options.now.toISOString(),
    columns: columns([
      ["seq", "Ledger seq"],
      ["time", "Time"],
      ["actor", "Actor"],
      ["employeeId", "Employee id"],
      ["name", "Name"],
      ["system", "System"],
      ["account", "Account"],
      ["change", "Change"],
      ["entitlement", "Entitlement"],
      ["what", "What"],
    ]),
    rows,
    summary: {
      changes: rows.length,
      identities: identityIds.size,
      byChange: [...byChange]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k}: ${n}`)
        .join("; "),
    },
    alerts: [],
  };
}
