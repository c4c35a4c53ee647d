import {
  ATTRIBUTE_KINDS,
  ATTRIBUTE_NAMES,
  type AttributeKind,
  EMPLOYMENT_TYPES,
  type EmploymentType,
  HR_STATUSES,
  type HrStatus,
  type IsoDate,
  type WorkerAttributes,
} from "../domain/identity-types.js";
import { normaliseText } from "../domain/normalise-text.js";
import type { AttributeName, CsvSourceConfig } from "../policy/config-types.js";
import { parseDateFormat } from "../policy/date-format.js";
import { InvalidInputError } from "../shared/errors.js";
import { describeField, describeRow } from "./finding-format.js";
import type { Finding, FindingCode } from "./source-types.js";
import { checkValue, maxLengthOf } from "./value-rules.js";

/** The worker attributes as read from one row, before data-quality checks: anything may be missing. */
export type CandidateAttributes = { [K in AttributeName]: WorkerAttributes[K] | null };

/**
 * One mapped row of a source, not yet checked against the rest of the export. `findings` holds what
 * mapping alone could tell (`control_character`, `too_long`, `invalid_date`, `invalid_value`); the
 * attribute concerned is then null (and so is `key` when it is the key's value that was refused).
 */
export interface CandidateRow {
  source: string;
  /** 1-based data row (header excluded), or the position in a pushed batch. */
  row: number;
  /** Physical line in the file where the row starts, when the source is a file. */
  line?: number;
  /** The value of the key attribute, or null when it is empty. */
  key: string | null;
  raw: Record<string, string>;
  attributes: CandidateAttributes;
  findings: Finding[];
}

/** The slice of a source's configuration that mapping needs; every source type has these. */
export type RecordMappingOptions = Pick<
  CsvSourceConfig,
  "name" | "key" | "columns" | "defaults" | "dateFormat" | "maxLength"
>;

/**
 * Maps one raw record (column/field name → text) to candidate attributes. Pure and never throws for
 * bad data: problems become findings on the returned row. `raw` is kept by reference in the result
 * (it is the record as received), so the caller must not change it afterwards.
 */
export type RecordMapper = (
  raw: Readonly<Record<string, string>>,
  row: number,
  line?: number,
) => CandidateRow;

/**
 * When neither the row nor the source's `defaults` say otherwise. A plain export of current staff
 * often has no such columns; these are the values such a file means.
 */
const BUILT_IN_DEFAULTS = { employmentType: "employee", status: "active" } as const satisfies {
  employmentType: EmploymentType;
  status: HrStatus;
};

/**
 * The attributes a row cannot be accepted without: the source's key, plus employeeId, givenName and
 * familyName (employeeId is required even when another attribute is the key, because every identity
 * carries one). startDate is deliberately not required: many exports omit it for long-standing staff.
 */
export function requiredAttributes(key: AttributeName): readonly AttributeName[] {
  return [...new Set<AttributeName>([key, "employeeId", "givenName", "familyName"])];
}

/** The column (CSV header, JSON field) an attribute is read from: its mapping, else its own name. */
export function columnFor(columns: RecordMappingOptions["columns"], attribute: AttributeName): string {
  return columns[attribute] ?? attribute;
}

const PART_PATTERN = { year: "(\\d{4})", padded: "(\\d{2})", unpadded: "(\\d{1,2})" } as const;

/**
 * Compiles a date pattern (see `parseDateFormat`: tokens YYYY, MM, M, DD, D and separators) into a
 * parser returning the ISO date, or null when the text does not match or names a day that does not
 * exist (2026-02-30). Throws InvalidInputError, with `parseDateFormat`'s reason, for a pattern that
 * is not usable, such as one without a year or with two variable-width numbers side by side (`MD`
 * cannot tell 1/12 from 11/2); config loading has already refused such a pattern.
 */
export function compileDateFormat(format: string): (text: string) => IsoDate | null {
  const parsed = parseDateFormat(format);
  if (!parsed.ok) throw new InvalidInputError(`dateFormat "${format}": ${parsed.problem}`);
  let pattern = "^";
  const order: ("year" | "month" | "day")[] = [];
  for (const part of parsed.parts) {
    if (part.kind === "literal") {
      pattern += part.text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else {
      order.push(part.kind);
      pattern += PART_PATTERN[part.kind === "year" ? "year" : part.padded ? "padded" : "unpadded"];
    }
  }
  const regex = new RegExp(`${pattern}$`);
  const yearAt = order.indexOf("year") + 1;
  const monthAt = order.indexOf("month") + 1;
  const dayAt = order.indexOf("day") + 1;

  return (text) => {
    const m = regex.exec(text);
    if (m === null) return null;
    const year = Number(m[yearAt]);
    const month = Number(m[monthAt]);
    const day = Number(m[dayAt]);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
    return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Builds the mapper for one source. Reads each attribute from its mapped column (or the column of
 * the attribute's own name), normalises each cell with `normaliseText` (Unicode NFC, then trimmed)
 * and turns empty cells into null; refuses a value holding a control character or longer than the
 * source's `maxLength` for its attribute (`checkValue`: findings `control_character`, `too_long`,
 * the value never echoed); parses dates with the
 * source's `dateFormat` into ISO `YYYY-MM-DD`, accepts employmentType / status case-insensitively
 * (normalised to lower case) and fills them from `defaults` (then employee / active) when empty.
 * displayName defaults to "givenName familyName". Independent of CSV: the HTTP source feeds it
 * JSON fields. Throws InvalidInputError only for an unusable `dateFormat`, at creation.
 */
export function createRecordMapper(options: RecordMappingOptions): RecordMapper {
  const parseDate = compileDateFormat(options.dateFormat);
  const columns = ATTRIBUTE_NAMES.map((attribute) => ({
    attribute,
    kind: ATTRIBUTE_KINDS[attribute],
    column: columnFor(options.columns, attribute),
    limit: maxLengthOf(attribute, options.key, options.maxLength),
  }));
  const defaults = {
    employmentType: options.defaults.employmentType ?? BUILT_IN_DEFAULTS.employmentType,
    status: options.defaults.status ?? BUILT_IN_DEFAULTS.status,
  };

  return (raw, row, line) => {
    const findings: Finding[] = [];
    const attributes = {} as Record<AttributeName, string | null>;
    const rejected: { attribute: AttributeName; kind: AttributeKind; text: string }[] = [];
    const refused: { attribute: AttributeName; code: FindingCode; message: string }[] = [];

    for (const { attribute, kind, column, limit } of columns) {
      // Own-property check: a column named like an Object.prototype member must not read the prototype.
      const cell = Object.hasOwn(raw, column) ? raw[column] : undefined;
      const text = typeof cell === "string" ? normaliseText(cell) : "";
      if (text === "") {
        attributes[attribute] =
          kind === "employmentType" ? defaults.employmentType : kind === "status" ? defaults.status : null;
        continue;
      }
      // Before parsing: a date or status message quotes the value, which must be clean and bounded.
      const problem = checkValue(text, limit);
      if (problem !== undefined) {
        attributes[attribute] = null;
        refused.push({ attribute, ...problem });
        continue;
      }
      if (kind === "text") {
        attributes[attribute] = text;
      } else if (kind === "date") {
        const iso = parseDate(text);
        attributes[attribute] = iso;
        if (iso === null) rejected.push({ attribute, kind, text });
      } else {
        const allowed: readonly string[] = kind === "employmentType" ? EMPLOYMENT_TYPES : HR_STATUSES;
        const lower = text.toLowerCase();
        const ok = allowed.includes(lower);
        attributes[attribute] = ok ? lower : null;
        if (!ok) rejected.push({ attribute, kind, text });
      }
    }

    if (attributes.displayName === null && attributes.givenName !== null && attributes.familyName !== null) {
      attributes.displayName = `${attributes.givenName} ${attributes.familyName}`;
    }

    const key = attributes[options.key];
    const where = describeRow(row, line, key);
    for (const { attribute, code, message } of refused) {
      findings.push({
        source: options.name,
        row,
        ...(line === undefined ? {} : { line }),
        key,
        code,
        severity: "error",
        field: attribute,
        message: `${where}: ${describeField(attribute, options.columns)} ${message}`,
      });
    }
    for (const { attribute, kind, text } of rejected) {
      const field = describeField(attribute, options.columns);
      const message =
        kind === "date"
          ? `${where}: ${field} "${text}" is not a valid date in the format ${options.dateFormat}`
          : `${where}: ${field} "${text}" is not one of ${(kind === "employmentType" ? EMPLOYMENT_TYPES : HR_STATUSES).join(", ")}`;
      findings.push({
        source: options.name,
        row,
        ...(line === undefined ? {} : { line }),
        key,
        code: kind === "date" ? "invalid_date" : "invalid_value",
        severity: "error",
        field: attribute,
        message,
      });
    }

    return {
      source: options.name,
      row,
      ...(line === undefined ? {} : { line }),
      key,
      raw: raw as Record<string, string>,
      // The kinds above guarantee employmentType/status hold allowed values or null.
      attributes: attributes as CandidateAttributes,
      findings,
    };
  };
}
