import type { CsvSourceConfig } from "../../policy/config-types.js";
import { checkDataQuality } from "../data-quality.js";
import type { CandidateAttributes, CandidateRow } from "../record-mapping.js";
import type { Finding } from "../source-types.js";
import { type CsvReadOptions, parseCsvRows } from "./csv-source.js";

/** What the first read of a streamed import learns of the whole file, before anything is written. */
export interface CsvScan {
  source: string;
  rowsRead: number;
  /** Every data-quality finding, ordered by row (as readCsvSource gives them). */
  findings: Finding[];
  /** The data rows an error finding refuses. */
  refusedRows: ReadonlySet<number>;
  /** The keys of the rows kept (the records' keys). */
  recordKeys: ReadonlySet<string>;
  /** As SourceReadResult.presentKeys: every row's key, plus stored keys refused rows were matched to. */
  presentKeys: readonly string[];
}

const NO_FINDINGS: Finding[] = Object.freeze([]) as unknown as Finding[];
/** A present value whose text no check reads. */
const present = (value: string | null): string | null => (value === null ? null : "-");
const NO_RAW: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * The first of a streamed import's two reads (see csvRowSlices for the second): parses and maps the
 * whole file and runs every data-quality check, keeping of each row only what the checks compare
 * across rows — its key, email, manager, dates, status — not its raw text or other attributes, so a
 * file of 1,000,000 rows is checked in a few hundred MB. Same findings as readCsvSource; same
 * whole-file rejections (InvalidInputError), before anything is written.
 */
export async function scanCsvSource(config: CsvSourceConfig, options: CsvReadOptions): Promise<CsvScan> {
  // Names are compared only with stored identities (key_changed); with none stored, a present name is
  // all the checks need, so one shared string stands for each. The same for a present employeeId that
  // is not the key (only required), a start date with no end date to compare it with, and the status
  // (only "terminated" is checked): every string kept per row costs at 1,000,000 rows.
  const keepNames = options.known.length > 0 || config.key === "givenName" || config.key === "familyName";
  // Held through an object emptied after the checks: the parser keeps the row callback (and so what
  // it captures) alive after the read, and the rows must not outlive the checks.
  const held = { rows: [] as CandidateRow[] };
  const rowsRead = await parseCsvRows(config, options, (c) => {
    const a = c.attributes;
    const ended = a.endDate !== null || a.terminationDate !== null;
    const kept: Record<string, string | null> = {
      employeeId: present(a.employeeId),
      givenName: keepNames ? a.givenName : present(a.givenName),
      familyName: keepNames ? a.familyName : present(a.familyName),
      email: a.email,
      managerId: a.managerId,
      status: a.status === "terminated" ? "terminated" : present(a.status),
      startDate: ended ? a.startDate : null,
      endDate: a.endDate,
      terminationDate: a.terminationDate,
    };
    if (config.key !== "employeeId") kept[config.key] = a[config.key];
    held.rows.push({
      source: c.source,
      row: c.row,
      ...(c.line === undefined ? {} : { line: c.line }),
      key: c.key,
      raw: NO_RAW,
      attributes: kept as unknown as CandidateAttributes,
      findings: c.findings.length === 0 ? NO_FINDINGS : c.findings,
    });
  });
  const { findings, presentKeys, valid } = checkDataQuality(held.rows, {
    known: options.known,
    fallback: config.correlation.fallback,
    key: config.key,
    columns: config.columns,
  });
  held.rows = [];
  const refusedRows = new Set<number>();
  for (const f of findings) if (f.severity === "error") refusedRows.add(f.row);
  const recordKeys = new Set<string>();
  for (const r of valid) recordKeys.add(r.key);
  return { source: config.name, rowsRead, findings, refusedRows, recordKeys, presentKeys };
}
