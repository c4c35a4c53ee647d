import type { Report, ReportCell } from "./report-types.js";
import { toCsv } from "./sod-reports.js";

/** The formats a report is written in: CSV for spreadsheets, JSON for machines, HTML for people. */
export const REPORT_FORMATS = ["csv", "json", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text as HTML: every value in a report may have been written by a user or an HR system. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function cellText(value: ReportCell | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;max-width:60rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0 0 1rem}dt{color:#57606a}dd{margin:0}
.alerts{border:1px solid #cf222e;background:#ffebe9;padding:.5rem 1rem;margin:0 0 1rem}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}tr:nth-child(even) td{background:#fafbfc}
footer{margin-top:1rem;color:#57606a;font-size:12px}`;

/** One self-contained HTML file (no script, no external resource) an auditor can open anywhere. */
export function reportHtml(report: Report): string {
  const summary = Object.entries(report.summary)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(cellText(v))}</dd>`)
    .join("");
  const period =
    report.from === null
      ? ""
      : `<dt>period</dt><dd>${escapeHtml(report.from)} – ${escapeHtml(report.to ?? "")}</dd>`;
  const alerts =
    report.alerts.length === 0
      ? ""
      : `<div class="alerts" role="alert"><strong>${report.alerts.length} alert(s)</strong><ul>${report.alerts
          .map((a) => `<li>${escapeHtml(a)}</li>`)
          .join("")}</ul></div>`;
  const head = report.columns.map((c) => `<th scope="col">${escapeHtml(c.label)}</th>`).join("");
  const body = report.rows
    .map(
      (r) => `<tr>${report.columns.map((c) => `<td>${escapeHtml(cellText(r[c.key]))}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(report.title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(report.title)}</h1><p>${escapeHtml(report.description)}</p>
<dl><dt>generated</dt><dd>${escapeHtml(report.generatedAt)}</dd>${period}<dt>rows</dt><dd>${report.rows.length}</dd>${summary}</dl>
${alerts}<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table><footer>Tenure report ${escapeHtml(report.name)}</footer></body></html>
`;
}

/** The report in `format`: CSV (header of column keys, formulas escaped), JSON, or one HTML file. */
export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    case "csv":
      return toCsv(
        report.rows.map((r) => Object.fromEntries(report.columns.map((c) => [c.key, csvCell(r[c.key])]))),
        report.columns.map((c) => c.key),
      );
    case "html":
      return reportHtml(report);
  }
}

function csvCell(value: ReportCell | undefined): string | number | null {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? "true" : "false";
  return value;
}
