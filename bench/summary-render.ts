/**
 * The summary table of docs/performance.md, rendered from bench/results.json between two markers; the
 * text outside them is left byte for byte as it was.
 */
import { GENERATED, type Machine, type Results, type StoredResult } from "./summary-results.js";
import { type Comparator, commandOf, type SummaryRow } from "./summary-types.js";

export const BEGIN = "<!-- bench-summary:begin -->";
export const END = "<!-- bench-summary:end -->";

export interface Verdict {
  /** `report`: the row has no goal a machine can check. */
  state: "met" | "missed" | "unknown" | "report";
  met: string[];
  missed: string[];
  unknown: string[];
}

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** Three significant digits below 1,000; whole and grouped above. */
export function formatNumber(x: number): string {
  return Math.abs(x) >= 1000 ? number.format(x) : String(Number(x.toPrecision(3)));
}

export function describeCheck(c: Comparator): string {
  const what = c.figure === undefined || c.figure === "value" ? "" : `${c.figure} `;
  const unit = c.unit === "" ? "" : c.unit === "×" ? "×" : ` ${c.unit}`;
  return `${what}${c.op === "<=" ? "≤" : "≥"} ${formatNumber(c.limit)}${unit}`;
}

/** The figure a comparator reads; for a range recorded by hand, its end that is worse for the goal. */
function figureFor(c: Comparator, r: StoredResult): number | undefined {
  if (c.figure === "ratio") return r.ratio;
  if (c.figure !== undefined && c.figure !== "value") return r.others?.[c.figure];
  return r.median ?? (c.op === "<=" ? r.max : r.min);
}

/** Whether the stored figures meet every machine-checkable goal of the row. */
export function verdict(row: Pick<SummaryRow, "checks">, result: StoredResult | undefined): Verdict {
  const checks = row.checks ?? [];
  if (checks.length === 0) return { state: "report", met: [], missed: [], unknown: [] };
  const met: string[] = [];
  const missed: string[] = [];
  const unknown: string[] = [];
  for (const c of checks) {
    const x = result === undefined ? undefined : figureFor(c, result);
    if (x === undefined) unknown.push(describeCheck(c));
    else if (c.op === "<=" ? x <= c.limit : x >= c.limit) met.push(describeCheck(c));
    else missed.push(describeCheck(c));
  }
  const state = missed.length > 0 ? "missed" : unknown.length > 0 ? "unknown" : "met";
  return { state, met, missed, unknown };
}

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

function machineText(m: Machine | string | undefined): string {
  if (m === undefined) return "machine not recorded";
  if (typeof m === "string") return m;
  return `${m.cpus} × ${m.model}, ${m.memoryGiB} GiB, Node ${m.node}`;
}

function verdictText(v: Verdict): string {
  if (v.state === "report") return "— (report)";
  if (v.state === "met") return "**met**";
  const parts = [
    ...(v.missed.length === 0 ? [] : [`**missed**: ${v.missed.join("; ")}`]),
    ...(v.unknown.length === 0 ? [] : [`not measured: ${v.unknown.join("; ")}`]),
    ...(v.met.length === 0 ? [] : [`met: ${v.met.join("; ")}`]),
  ];
  return parts.join("; ");
}

/** The cells of one row: what | goal | median | spread | floor & ratio | met? | when, machine, load | command. */
function rowCells(row: SummaryRow, r: StoredResult | undefined): string[] {
  const u = (x: number) => `${formatNumber(x)} ${row.unit}`;
  const command = `\`${commandOf(row.run)}\`<br>\`npm run bench -- ${row.id}\``;
  if (r === undefined) {
    const floor = row.floor === undefined ? "none" : `not measured (${row.floor})`;
    return [
      row.what,
      row.goal,
      "**not measured**",
      "—",
      floor,
      verdictText(verdict(row, r)),
      "never run by `npm run bench`",
      command,
    ];
  }
  const generated = r.source === GENERATED;
  const figure =
    r.median !== undefined
      ? `**${u(r.median)}**`
      : r.min !== undefined
        ? `**${formatNumber(r.min)} – ${u(r.max ?? r.min)}**`
        : "—";
  const median = [figure, ...(r.detail === undefined ? [] : [r.detail])].join("<br>");
  const samples = r.samples?.length ?? 0;
  const spread =
    r.min === undefined || r.max === undefined
      ? "—"
      : generated && samples === 1
        ? `— (1 sample, ${r.runs ?? 1} run${r.runs === 1 || r.runs === undefined ? "" : "s"})`
        : `${formatNumber(r.min)} – ${u(r.max)}${generated ? ` (${samples} samples, ${r.runs ?? 1} run${r.runs === 1 || r.runs === undefined ? "" : "s"})` : ""}`;
  const floor =
    r.floor !== undefined
      ? `${u(r.floor)}${row.floor === undefined ? "" : ` (${row.floor})`}${r.ratio === undefined ? "" : `: **${r.ratio}×**`}`
      : row.floor === undefined
        ? "none"
        : `not measured (${row.floor})`;
  const load = r.load === undefined ? "" : `; load ${r.load.start} → ${r.load.end}`;
  const when = generated
    ? `${r.date}, ${r.commit ?? "commit unknown"}${r.uncommitted ? " + uncommitted changes" : ""}; ${machineText(r.machine)}${load}`
    : `**${r.source}** (not generated)${r.source.includes(r.date) ? "" : `, ${r.date}`}; ${machineText(r.machine)}${load}`;
  return [row.what, row.goal, median, spread, floor, verdictText(verdict(row, r)), when, command];
}

/** The text between the markers: a note on how it is made, then the table. */
export function renderTable(rows: readonly SummaryRow[], results: Results): string {
  const lines = [
    "Generated by `npm run bench` from `bench/results.json` (do not edit between the markers: run",
    "`npm run bench -- ID`, or edit the file and run `npm run bench -- --render`). The median and the spread",
    "(min – max) are over every sample of the runs (`--runs N`); a bench that repeats a measurement itself",
    "reports each repeat as a sample. The ratio is the median over the floor measured in the same runs. A",
    "figure marked **recorded by hand** was copied from the notes below, not measured by the runner.",
    "",
    "| what | goal | median | spread | floor & ratio | met? | when, machine, load | command |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((row) => `| ${rowCells(row, results[row.id]).map(cell).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** `doc` with the text between its markers replaced by `inner`; throws unless each marker is there once, in order. */
export function replaceBetweenMarkers(doc: string, inner: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (
    begin < 0 ||
    end < 0 ||
    end < begin ||
    doc.indexOf(BEGIN, begin + 1) >= 0 ||
    doc.indexOf(END, end + 1) >= 0
  )
    throw new Error(`the document needs one ${BEGIN} and, after it, one ${END}`);
  // Blank lines around the table: a comment line next to it would be read as part of it.
  return `${doc.slice(0, begin + BEGIN.length)}\n\n${inner.trim()}\n\n${doc.slice(end)}`;
}
