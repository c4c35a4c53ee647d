import { type NhiFindingCode, nhiFindings } from "../domain/nhi-findings.js";
import type { TenureConfig } from "../policy/config-types.js";
import { type NhiRiskRow, nhiRepository } from "../store/nhi-repository.js";
import type { Store } from "../store/store-types.js";
import { NO_POLICY } from "./nhi-view.js";
import { columns, type Report, type ReportOptions, type ReportRow } from "./report-types.js";

/**
 * The risks of non-human identities (issue 17 item 8, issue 18's NHI report): every finding of every NHI
 * against nhi.policy, plus privileged entitlements an NHI holds, each mapped to the OWASP Non-Human
 * Identities Top 10 (2025) risk it is an instance of.
 */

/** OWASP NHI Top 10 (2025) categories the findings fall under. */
const OWASP: Record<NhiFindingCode | "privileged", string> = {
  owner_missing: "NHI1:2025 Improper Offboarding",
  owner_unknown: "NHI1:2025 Improper Offboarding",
  owner_terminated: "NHI1:2025 Improper Offboarding",
  credential_age: "NHI7:2025 Long-Lived Secrets",
  expiring: "NHI7:2025 Long-Lived Secrets",
  expired: "NHI7:2025 Long-Lived Secrets",
  scope_disallowed: "NHI5:2025 Overprivileged NHI",
  // An NHI nobody uses any more is one left behind: it should have been offboarded.
  unused: "NHI1:2025 Improper Offboarding",
  // A grant it no longer uses is privilege it does not need.
  unused_grant: "NHI5:2025 Overprivileged NHI",
  privileged: "NHI5:2025 Overprivileged NHI",
};

export async function nhiRisksReport(
  store: Store,
  config: TenureConfig,
  options: ReportOptions,
): Promise<Report> {
  // Only the columns the findings and the rows need (nhiRepository.riskRows), not the views `nhi list`
  // shows: reading every NHI and owner whole was most of the report over 100,000 NHIs.
  const nhis = await nhiRepository.riskRows(store.db);
  const policy = config.nhi?.policy ?? NO_POLICY;
  // Rows by severity, then by NHI name in the locale's order. Sorting 100,000 rows with a string compare
  // was half of the report; instead the NHIs are put in name order once — the store lists them by name
  // already, which one pass confirms (a store whose collation differs gets them sorted) — and each row
  // goes to its severity's list in that order: the same order as a stable sort, without it.
  const byName = (a: NhiRiskRow, b: NhiRiskRow) => a.name.localeCompare(b.name);
  let ordered: readonly NhiRiskRow[] = nhis;
  for (let i = 1; i < nhis.length; i++) {
    if (byName(nhis[i - 1]!, nhis[i]!) > 0) {
      ordered = [...nhis].sort(byName);
      break;
    }
  }
  const bySeverity: Record<string, ReportRow[]> = { high: [], medium: [], low: [] };
  const other: ReportRow[] = [];
  const push = (row: ReportRow) => (bySeverity[String(row.severity)] ?? other).push(row);
  for (const v of ordered) {
    // As `nhi list` shows them: the owner in force by source key, else its id, else as declared.
    const owner = v.owner?.sourceKey ?? v.ownerId ?? v.ownerKey;
    const status = v.disabledAt !== null ? "disabled" : v.pendingOwnerId !== null ? "pending" : "active";
    for (const f of nhiFindings(v, v.owner, policy, options.now))
      push(riskRow(v, owner, status, f.code, f.severity, OWASP[f.code], f.message));
    for (const e of v.entitlements) {
      const at = e.indexOf(":");
      const def = config.policy.entitlements[e.slice(0, at)]?.[e.slice(at + 1)];
      if (def?.privileged === true)
        push(
          riskRow(
            v,
            owner,
            status,
            "privileged",
            "medium",
            OWASP.privileged,
            `${v.name}: holds privileged ${e}: review whether a machine needs it`,
          ),
        );
    }
  }
  const rows = [...bySeverity.high!, ...bySeverity.medium!, ...bySeverity.low!, ...other];
  const byOwasp = new Map<string, number>();
  const withRisk = new Set<unknown>();
  let high = 0;
  for (const r of rows) {
    byOwasp.set(String(r.owasp), (byOwasp.get(String(r.owasp)) ?? 0) + 1);
    withRisk.add(r.nhi);
    if (r.severity === "high") high++;
  }
  return {
    name: "nhi-risks",
    title: "Non-human identity risks",
    description:
      "Every finding of every non-human identity against nhi.policy (no owner, owner gone, credential too old, expiring or expired, scope not allowed, unused or holding an unused scope where last use is known) and the privileged entitlements NHIs hold, mapped to the OWASP Non-Human Identities Top 10 (2025).",
    from: null,
    to: null,
    generatedAt: options.now.toISOString(),
    columns: columns([
      ["nhi", "NHI"],
      ["type", "Type"],
      ["system", "System"],
      ["owner", "Owner"],
      ["status", "Status"],
      ["risk", "Risk"],
      ["severity", "Severity"],
      ["owasp", "OWASP NHI Top 10"],
      ["detail", "Detail"],
    ]),
    rows,
    summary: {
      nhis: nhis.length,
      withRisk: withRisk.size,
      high,
      byOwasp: [...byOwasp].map(([k, n]) => `${k}: ${n}`).join("; "),
    },
    alerts: [],
  };
}

/**
 * One row, written out whole: a spread of shared fields plus new keys costs V8 a slow path per row (and a
 * module function, unlike a closure made per NHI, is not named again on every call under tsx).
 */
function riskRow(
  v: NhiRiskRow,
  owner: string | null,
  status: string,
  risk: string,
  severity: string,
  owasp: string,
  detail: string,
): ReportRow {
  return { nhi: v.name, type: v.type, system: v.system, owner, status, risk, severity, owasp, detail };
}
