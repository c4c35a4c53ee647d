import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/store-types.js";

/**
 * What every evidence report is: a titled table an auditor can read as CSV, JSON or one HTML file, with
 * the period it covers, a summary of figures, and alerts for rows that must not exist (a leaver's
 * enabled account). Reports read the store and the ledger; none changes anything.
 */

export type ReportCell = string | number | boolean | null;
export type ReportRow = Record<string, ReportCell>;

export interface ReportColumn {
  key: string;
  label: string;
}

export interface Report {
  name: string;
  title: string;
  /** What the report answers, in one sentence, shown above the table. */
  description: string;
  /** The period asked for (ISO instants); the reports of current state cover `generatedAt` only. */
  from: string | null;
  to: string | null;
  generatedAt: string;
  columns: readonly ReportColumn[];
  rows: ReportRow[];
  /** Figures about the rows (counts, a distribution), shown above the table. */
  summary: Record<string, ReportCell>;
  /** Findings that need someone's action; empty when all is well. */
  alerts: string[];
}

export interface ReportOptions {
  now: Date;
  /** Inclusive start of the period; reports of a period default to the 30 days before `to`. */
  from?: Date;
  /** Exclusive end of the period; default `now`. */
  to?: Date;
}

export interface ReportDefinition {
  name: string;
  title: string;
  description: string;
  /** Whether `--from`/`--to` mean anything to it (a period) or it describes the present. */
  period: boolean;
  run(store: Store, config: TenureConfig, options: ReportOptions): Promise<Report>;
  /**
   * For a report that reads the ledger, which `run` verifies whole first: the same report without that
   * verification, for a caller that has just verified the chain itself and refuses to report from one
   * that fails (the evidence pack, which would otherwise verify it once per report).
   */
  runOnVerifiedLedger?(store: Store, config: TenureConfig, options: ReportOptions): Promise<Report>;
}

const DAY_MS = 86_400_000;

/** The period of a report: `to` defaults to now, `from` to 30 days before `to`. */
export function reportPeriod(options: ReportOptions): { from: Date; to: Date } {
  const to = options.to ?? options.now;
  const from = options.from ?? new Date(to.getTime() - 30 * DAY_MS);
  return { from, to };
}

/** Columns from `key: label` pairs, in order. */
export function columns(pairs: ReadonlyArray<readonly [string, string]>): ReportColumn[] {
  return pairs.map(([key, label]) => ({ key, label }));
}
