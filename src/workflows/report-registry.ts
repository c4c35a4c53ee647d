import { verifyLedger } from "../audit/ledger.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { reviewCampaignRepository } from "../store/review-repository.js";
import type { Store } from "../store/store-types.js";
import { accessChangesReport } from "./report-access-changes.js";
import { orphanAccountsReport, privilegedAccessReport, terminatedEnabledReport } from "./report-current.js";
import { leaversReport } from "./report-leavers.js";
import { nhiRisksReport } from "./report-nhi-risks.js";
import {
  columns,
  type Report,
  type ReportDefinition,
  type ReportOptions,
  type ReportRow,
  reportPeriod,
} from "./report-types.js";
import { campaignReport } from "./review-report.js";
import { REPORT_COLUMNS, type ReportKind, reportRows } from "./sod-reports.js";

/**
 * Every report `tenure report NAME` and `GET /api/reports/NAME` can produce, in the order they are
 * listed. Each capability that answers an auditor's question adds its report here.
 */

/** A separation-of-duties report (sod-reports.ts) as an evidence report. */
function sodReport(
  kind: ReportKind,
  name: string,
  title: string,
  description: string,
  period: boolean,
): ReportDefinition {
  return {
    name,
    title,
    description,
    period,
    async run(store, config, options) {
      const { from, to } = reportPeriod(options);
      const rows = (await reportRows(store, config, kind, { now: options.now, from, to })) as ReportRow[];
      return {
        name,
        title,
        description,
        from: period ? from.toISOString() : null,
        to: period ? to.toISOString() : null,
        generatedAt: options.now.toISOString(),
        columns: REPORT_COLUMNS[kind].map((key) => ({ key, label: key })),
        rows,
        summary: { rows: rows.length },
        alerts: [],
      };
    },
  };
}

/** Campaigns started in the period: scope, access at the start, decisions, remediation, confirmation. */
async function campaignsReport(store: Store, _config: TenureConfig, options: ReportOptions): Promise<Report> {
  const { from, to } = reportPeriod(options);
  const rows: ReportRow[] = [];
  const campaigns = (await reviewCampaignRepository.list(store.db, { limit: 100_000 })).filter(
    (c) => c.startedAt >= from.toISOString() && c.startedAt < to.toISOString(),
  );
  for (const c of campaigns.reverse()) {
    const r = await campaignReport(store, c.id, options.now);
    const scope = c.settings.scope;
    rows.push({
      campaign: c.id,
      definition: c.definition,
      kind: c.kind,
      scope: [
        scope.systems.length > 0 ? `systems ${scope.systems.join(", ")}` : "all systems",
        scope.privilegedOnly ? "privileged only" : null,
        scope.nonHuman ? "non-human identities" : null,
      ]
        .filter((s) => s !== null)
        .join("; "),
      startedAt: c.startedAt,
      deadline: c.deadline,
      status: c.status,
      itemsAtStart: r.total,
      certified: r.byState.certified ?? 0,
      revoked: r.byState.revoked ?? 0,
      keptByDeadline: r.byState["kept-no-response"] ?? 0,
      revokedByDeadline: r.byState["revoked-no-response"] ?? 0,
      completionPercent: r.completion,
      revocationsApplied: r.revocations.applied + r.revocations.confirmed,
      revocationsConfirmed: r.revocations.confirmed,
      revocationsFailed: r.revocations.failed,
      revocationsPending: r.revocations.pending,
      rubberStampReviewers: r.reviewers
        .filter((v) => v.rubberStamp)
        .map((v) => v.reviewer)
        .join("; "),
    });
  }
  return {
    name: "campaigns",
    title: "Access review campaigns",
    description: `Every access review started between ${from.toISOString()} and ${to.toISOString()}: its scope, the items at its start, the decisions, the revocations applied and confirmed in the targets.`,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: options.now.toISOString(),
    columns: columns([
      ["campaign", "Campaign"],
      ["definition", "Definition"],
      ["kind", "Kind"],
      ["scope", "Scope"],
      ["startedAt", "Started"],
      ["deadline", "Deadline"],
      ["status", "Status"],
      ["itemsAtStart", "Items at start"],
      ["certified", "Certified"],
      ["revoked", "Revoked"],
      ["keptByDeadline", "Kept by the deadline"],
      ["revokedByDeadline", "Revoked by the deadline"],
      ["completionPercent", "Completion %"],
      ["revocationsApplied", "Revocations applied"],
      ["revocationsConfirmed", "Confirmed in the target"],
      ["revocationsFailed", "Revocations failed"],
      ["revocationsPending", "Revocations pending"],
      ["rubberStampReviewers", "Rubber-stamp reviewers"],
    ]),
    rows,
    summary: { campaigns: rows.length },
    alerts: rows
      .filter((r) => Number(r.revocationsFailed) > 0)
      .map(
        (r) =>
          `campaign ${r.campaign} (${r.definition}) has ${r.revocationsFailed} revocation(s) that failed`,
      ),
  };
}

const current = (
  name: string,
  title: string,
  description: string,
  run: ReportDefinition["run"],
): ReportDefinition => ({ name, title, description, period: false, run });
/**
 * A report of a period reads the ledger: it answers only from a chain that verifies, and otherwise
 * refuses, naming the first broken event — a report from an edited ledger would be no evidence.
 */
export async function assertLedgerIntact(store: Store): Promise<void> {
  const verified = await verifyLedger(store.db);
  if (!verified.ok)
    throw new TenureError(
      "ledger_broken",
      `the audit ledger does not verify at event ${verified.firstBadSeq}: ${verified.problem}; reports from it would not be evidence (tenure audit verify)`,
      { httpStatus: 409 },
    );
}

const ofPeriod = (
  name: string,
  title: string,
  description: string,
  run: ReportDefinition["run"],
): ReportDefinition => ({
  name,
  title,
  description,
  period: true,
  async run(store, config, options) {
    await assertLedgerIntact(store);
    return run(store, config, options);
  },
  runOnVerifiedLedger: run,
});

export const REPORTS: readonly ReportDefinition[] = [
  ofPeriod(
    "leavers",
    "Leavers and time to full deprovisioning",
    "terminations in the period and how long each system took to disable or delete their accounts, against lifecycle.leaver.slaHours",
    leaversReport,
  ),
  current(
    "terminated-enabled",
    "Terminated identities with an enabled account",
    "leavers who still have an enabled account (must be empty; every row is an alert)",
    terminatedEnabledReport,
  ),
  current("orphan-accounts", "Orphan accounts", "accounts no identity owns", orphanAccountsReport),
  current(
    "privileged-access",
    "Privileged access holders",
    "who holds each privileged entitlement, granted by Tenure or found in the system",
    privilegedAccessReport,
  ),
  ofPeriod(
    "access-changes",
    "Access changes",
    "every confirmed change to access and the decision behind it, in the period",
    accessChangesReport,
  ),
  ofPeriod(
    "campaigns",
    "Access review campaigns",
    "each campaign started in the period: scope, items, decisions, revocations applied and confirmed",
    campaignsReport,
  ),
  current(
    "nhi-risks",
    "Non-human identity risks",
    "each NHI's findings and privileged access, mapped to the OWASP NHI Top 10",
    nhiRisksReport,
  ),
  sodReport("rules", "sod-rules", "Separation-of-duties rules", "the rule set in force", false),
  sodReport("violations", "sod-violations", "Separation-of-duties violations", "violations open now", false),
  sodReport(
    "exceptions",
    "sod-exceptions",
    "Separation-of-duties exceptions",
    "exceptions with their approvers and expiries",
    false,
  ),
  sodReport(
    "history",
    "sod-history",
    "Separation-of-duties violations opened and closed",
    "violations opened or closed in the period",
    true,
  ),
];

/** The report called `name`. @throws NotFoundError listing the known names. */
export function reportDefinition(name: string): ReportDefinition {
  const found = REPORTS.find((r) => r.name === name);
  if (found === undefined)
    throw new NotFoundError(`no report "${name}" (known: ${REPORTS.map((r) => r.name).join(", ")})`);
  return found;
}

export async function runReport(
  store: Store,
  config: TenureConfig,
  name: string,
  options: ReportOptions,
): Promise<Report> {
  return reportDefinition(name).run(store, config, options);
}
