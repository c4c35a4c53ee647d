import type { NhiFindingCode } from "../domain/nhi-findings.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/store-types.js";
import { listNhiViews } from "./nhi-view.js";
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
  const views = await listNhiViews(store, config, options.now);
  const rows: ReportRow[] = [];
  for (const v of views) {
    const base = {
      nhi: v.name,
      type: v.type,
      system: v.system,
      owner: v.owner ?? v.ownerKey,
      status: v.status,
    };
    for (const f of v.findings)
      rows.push({ ...base, risk: f.code, severity: f.severity, owasp: OWASP[f.code], detail: f.message });
    for (const e of v.entitlements) {
      const at = e.indexOf(":");
      const def = config.policy.entitlements[e.slice(0, at)]?.[e.slice(at + 1)];
      if (def?.privileged === true)
        rows.push({
          ...base,
          risk: "privileged",
          severity: "medium",
          owasp: OWASP.privileged,
          detail: `${v.name}: holds privileged ${e}: review whether a machine needs it`,
        });
    }
  }
  const order = { high: 0, medium: 1, low: 2 } as Record<string, number>;
  rows.sort(
    (a, b) =>
      (order[String(a.severity)] ?? 3) - (order[String(b.severity)] ?? 3) ||
      String(a.nhi).localeCompare(String(b.nhi)),
  );
  const byOwasp = new Map<string, number>();
  for (const r of rows) byOwasp.set(String(r.owasp), (byOwasp.get(String(r.owasp)) ?? 0) + 1);
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
      nhis: views.length,
      withRisk: new Set(rows.map((r) => r.nhi)).size,
      high: rows.filter((r) => r.severity === "high").length,
      byOwasp: [...byOwasp].map(([k, n]) => `${k}: ${n}`).join("; "),
    },
    alerts: [],
  };
}
