import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { CsvError, parse } from "csv-parse";
import type { AttributeName, CsvSourceConfig } from "../../policy/config-types.js";
import { InvalidInputError } from "../../shared/errors.js";
import { checkDataQuality } from "../data-quality.js";
import { listForMessage } from "../finding-format.js";
import { type CandidateRow, columnFor, createRecordMapper, requiredAttributes } from "../record-mapping.js";
import type { KnownPerson, SourceReadResult } from "../source-types.js";

export interface CsvReadOptions {
  /** The identities already stored for this source (for `key_changed`). */
  known: readonly KnownPerson[];
  /** Called with the number of data rows read so far, every 1,000 rows and once at the end. */
  onProgress?: (rowsRead: number) => void;
}

/** No honest HR record comes near this; a longer one means the file is not the CSV we expect. */
const MAX_RECORD_CHARS = 1_000_000;
const PROGRESS_EVERY = 1_000;
const PARSE_OPTIONS = { bom: true, skip_empty_lines: true, max_record_size: MAX_RECORD_CHARS } as const;

/** What csv-parse hands `on_record` with `raw: true`. */
interface RawRecord {
  record: string[];
  raw: string;
}

/**
 * Reads a full HR export from `config.path`, streaming it through csv-parse, and returns the valid
 * records plus every data-quality finding (see `checkDataQuality`). `complete` is always true: a CSV
 * is the whole population, so a person missing from it means something.
 *
 * The file is UTF-8 with or without BOM (UTF-16LE is decoded too when it starts with its BOM, which
 * csv-parse recognises), fields separated by `config.delimiter`, quoted per RFC 4180;
 * blank lines are skipped; nothing else is relaxed. Findings carry the 1-based data row and the
 * physical line where the row starts. A header-only file is legal and yields zero records.
 *
 * Rejects the whole file with an InvalidInputError naming the path (and line where there is one),
 * reading nothing into the result, when the file is missing, unreadable, not a regular file or
 * zero bytes; has no header row; is not parseable CSV (wrong field count, unbalanced or misplaced
 * quotes, binary or non-UTF-8 bytes); has an empty or duplicated header name; or lacks the column of
 * the key, of a required attribute (employeeId, givenName, familyName) or of any column named in
 * `config.columns` — a mapping typo would otherwise silently blank that attribute for everyone.
 * Also rejects an unusable `config.dateFormat`.
 */
export async function readCsvSource(
  config: CsvSourceConfig,
  options: CsvReadOptions,
): Promise<SourceReadResult> {
  const candidates: CandidateRow[] = [];
  const rowsRead = await parseCsvRows(config, options, (candidate) => {
    candidates.push(candidate);
  });
  const { valid, findings, presentKeys } = checkDataQuality(candidates, {
    known: options.known,
    fallback: config.correlation.fallback,
    key: config.key,
    columns: config.columns,
  });
  return { source: config.name, records: valid, findings, rowsRead, complete: true, presentKeys };
}

/**
 * Parses and maps every data row of the file at `config.path`, handing each to `onRow` in file order
 * as csv-parse produces it, and returns the number of data rows. Rejects the whole file as
 * {@link readCsvSource} says (InvalidInputError naming the path and line); `onRow` may have seen rows
 * before such a failure.
 */
export async function parseCsvRows(
  config: CsvSourceConfig,
  options: Pick<CsvReadOptions, "onProgress">,
  onRow: (candidate: CandidateRow) => void,
): Promise<number> {
  const { path } = config;
  let mapRecord: ReturnType<typeof createRecordMapper>;
  try {
    mapRecord = createRecordMapper(config);
  } catch (err) {
    if (err instanceof InvalidInputError) {
      throw new InvalidInputError(`source "${config.name}": ${err.message}`, err.details);
    }
    throw err;
  }
  await checkFile(path);

  let headers: string[] | undefined;
  let rowsRead = 0;
  // Lines are counted by us from each record's raw text: csv-parse's own counter counts a CRLF inside
  // a quoted field as two lines.
  let nextLine = 1;
  // csv-parse may surface its own wrapping of an error thrown in on_record, or pipeline() the
  // AbortError of the streams it tears down; keep ours so the caller learns the real reason.
  let failure: InvalidInputError | undefined;

  const onRecord = ({ record, raw }: RawRecord): null => {
    const line = nextLine + leadingLineBreaks(raw);
    nextLine += lineBreaks(raw);
    try {
      // Invalid UTF-8 decodes to U+FFFD: every name would be mangled. A NUL in the header means binary
      // or UTF-16 without BOM; in a data row it is one bad value, refused by the mapper with its field.
      if (raw.includes("\uFFFD") || (headers === undefined && raw.includes("\u0000"))) {
        throw new InvalidInputError(
          `${path}: line ${line}: not a UTF-8 text file (binary content, or another encoding such as UTF-16 or Latin-1); export it as CSV UTF-8`,
        );
      }
      if (headers === undefined) {
        headers = checkHeader(record, config, line);
        return null;
      }
      rowsRead += 1;
      onRow(mapRecord(toRawRow(headers, record), rowsRead, line));
      if (rowsRead % PROGRESS_EVERY === 0) options.onProgress?.(rowsRead);
      return null;
    } catch (err) {
      if (err instanceof InvalidInputError) failure = err;
      throw err;
    }
  };

  // Every record is handled inside on_record, synchronously as csv-parse produces it, and none is
  // passed downstream: this keeps `nextLine` exact when a later record fails to parse (a downstream
  // consumer lags behind the parser) and spares an async iteration per row.
  const parser = parse({
    ...PARSE_OPTIONS,
    delimiter: config.delimiter,
    raw: true,
    // csv-parse types on_record's argument as the bare record; with `raw: true` it is a RawRecord.
    on_record: onRecord as unknown as (record: string[]) => null,
  });
  // Flowing mode with nothing pushed lets the parser end, so pipeline() settles.
  parser.resume();

  try {
    await pipeline(createReadStream(path), parser);
  } catch (err) {
    if (failure !== undefined) throw failure;
    if (err instanceof CsvError) {
      const raw = typeof err.raw === "string" ? err.raw : "";
      const line = nextLine + leadingLineBreaks(raw);
      throw new InvalidInputError(
        `${path}: line ${line}: not a valid CSV file: ${describeCsvError(err, config, headers?.length)}`,
      );
    }
    throw new InvalidInputError(`${path}: cannot be read: ${errorMessage(err)}`);
  }

  if (headers === undefined) {
    throw new InvalidInputError(`${path}: has no header row (the file holds only blank lines or a BOM)`);
  }
  options.onProgress?.(rowsRead);
  return rowsRead;
}

/**
 * Reads the file again, after {@link parseCsvRows} checked it whole, and yields its mapped data rows
 * in order, `size` at a time, waiting for the caller between slices (a streamed import writes each
 * slice before the next is parsed). Rows are mapped as the first read mapped them; a file that does
 * not parse now, or has another header, was changed in between: InvalidInputError.
 */
export async function* csvRowSlices(config: CsvSourceConfig, size: number): AsyncGenerator<CandidateRow[]> {
  const mapRecord = createRecordMapper(config);
  const parser = createReadStream(config.path).pipe(parse({ ...PARSE_OPTIONS, delimiter: config.delimiter }));
  let headers: string[] | undefined;
  let row = 0;
  let slice: CandidateRow[] = [];
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (headers === undefined) {
        headers = checkHeader(record, config, 1);
        continue;
      }
      row += 1;
      slice.push(mapRecord(toRawRow(headers, record), row));
      if (slice.length === size) {
        yield slice;
        slice = [];
      }
    }
  } catch (err) {
    throw new InvalidInputError(`${config.path}: changed while it was imported: ${errorMessage(err)}`);
  }
  if (slice.length > 0) yield slice;
}

async function checkFile(path: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InvalidInputError(`${path}: file does not exist`);
    throw new InvalidInputError(`${path}: cannot be read: ${errorMessage(err)}`);
  }
  if (!info.isFile()) throw new InvalidInputError(`${path}: is not a regular file`);
  // A zero-byte file is what a failed or interrupted export leaves behind, not "nobody works here".
  if (info.size === 0) {
    throw new InvalidInputError(`${path}: file is empty (0 bytes); an HR export has at least a header row`);
  }
}

/** Validates the header row and returns the trimmed column names. */
function checkHeader(record: readonly string[], config: CsvSourceConfig, line: number): string[] {
  const where = `${config.path}: line ${line}`;
  const headers = record.map((h) => h.trim());
  const seen = new Set<string>();
  headers.forEach((h, i) => {
    if (h === "") throw new InvalidInputError(`${where}: column ${i + 1} of the header has no name`);
    if (seen.has(h)) throw new InvalidInputError(`${where}: the header names column "${h}" twice`);
    seen.add(h);
  });

  const needed = new Map<string, string>();
  const note = (attribute: AttributeName, why: string) => {
    const column = columnFor(config.columns, attribute);
    const label = column === attribute ? why : `${attribute}, ${why}`;
    if (!seen.has(column) && !needed.has(column)) needed.set(column, label);
  };
  for (const attribute of requiredAttributes(config.key)) {
    note(attribute, attribute === config.key ? "the key" : "required");
  }
  for (const attribute of Object.keys(config.columns) as AttributeName[]) {
    note(attribute, "mapped in columns");
  }
  if (needed.size === 0) return headers;

  const missing = [...needed].map(([column, why]) => `"${column}" (${why})`);
  const found = listForMessage(
    headers.map((h) => `"${h}"`),
    20,
  );
  const otherDelimiter =
    headers.length === 1 &&
    [",", ";", "\t", "|"].some((d) => d !== config.delimiter && headers[0]!.includes(d));
  const hint = otherDelimiter ? `; is the delimiter ${JSON.stringify(config.delimiter)} right?` : "";
  throw new InvalidInputError(
    `${where}: the header lacks column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; found ${found}${hint}`,
  );
}

function describeCsvError(err: CsvError, config: CsvSourceConfig, headerFields: number | undefined): string {
  switch (err.code) {
    case "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH":
    case "CSV_RECORD_INCONSISTENT_COLUMNS": {
      const got = Array.isArray(err.record) ? err.record.length : undefined;
      const count =
        got === undefined ? "a different number of fields" : `${got} field${got === 1 ? "" : "s"}`;
      const expected = headerFields === undefined ? "a different number" : String(headerFields);
      return `this record has ${count} but the header has ${expected} (wrong delimiter ${JSON.stringify(config.delimiter)}, or an unquoted delimiter in a value?)`;
    }
    case "CSV_QUOTE_NOT_CLOSED":
      return "a quoted field starting in this record is never closed";
    case "INVALID_OPENING_QUOTE":
    case "CSV_INVALID_CLOSING_QUOTE":
    case "CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE":
      return "a quote in the wrong place (a quoted field must be quoted as a whole, with inner quotes doubled)";
    case "CSV_MAX_RECORD_SIZE":
      return `a record longer than ${MAX_RECORD_CHARS} characters, which no HR export has`;
    default:
      return err.message;
  }
}

/** The raw record as an object keyed by header; the header row was checked for unique names. */
function toRawRow(headers: readonly string[], values: readonly string[]): Record<string, string> {
  const row: Record<string, string> = {};
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    const value = values[i] ?? "";
    // Assigning "__proto__" would hit the prototype setter and lose the column.
    if (header === "__proto__") {
      Object.defineProperty(row, header, { value, enumerable: true, writable: true, configurable: true });
    } else {
      row[header] = value;
    }
  }
  return row;
}

/** Line breaks (CRLF, LF or a lone CR each count once) in `text`. */
function lineBreaks(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13) {
      n++;
      if (text.charCodeAt(i + 1) === 10) i++;
    }
  }
  return n;
}

/** Blank lines csv-parse skipped before a record are the start of its raw text. */
function leadingLineBreaks(text: string): number {
  let end = 0;
  while (end < text.length && (text[end] === "\n" || text[end] === "\r")) end++;
  return lineBreaks(text.slice(0, end));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
