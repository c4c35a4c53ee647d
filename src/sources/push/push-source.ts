import { ATTRIBUTE_NAMES } from "../../domain/identity-types.js";
import type { PushSourceConfig } from "../../policy/config-types.js";
import { checkDataQuality } from "../data-quality.js";
import { type CandidateRow, columnFor, createRecordMapper, type RecordMapper } from "../record-mapping.js";
import type { KnownPerson, SourceReadResult } from "../source-types.js";

/** One pushed record: field name → text; null (or a field left out) is an empty value. */
export type PushedRow = Readonly<Record<string, string | null>>;

export interface PushMappingOptions {
  /**
   * true: the fields are Tenure attribute names (`employeeId`, `givenName`, …) and dates are ISO
   * `YYYY-MM-DD`, whatever the source's `columns` and `dateFormat` say — the SCIM server, which builds
   * records itself, pushes this way. false (default): the source's field names and date format, as an
   * HR system sends them, mapped like a CSV header.
   */
  attributeNames?: boolean;
}

const ISO_DATE = "YYYY-MM-DD";

// A mapper compiles its date pattern; pushes arrive one person at a time, so build it once per source.
const mappers = new WeakMap<PushSourceConfig, { columns: RecordMapper; attributes: RecordMapper }>();

function mapperFor(config: PushSourceConfig, attributeNames: boolean): RecordMapper {
  let pair = mappers.get(config);
  if (pair === undefined) {
    pair = {
      columns: createRecordMapper(config),
      attributes: createRecordMapper({ ...config, columns: {}, dateFormat: ISO_DATE }),
    };
    mappers.set(config, pair);
  }
  return attributeNames ? pair.attributes : pair.columns;
}

/** The field names a record of this source may carry: each attribute's mapped field (or its own name). */
export function pushFieldNames(config: PushSourceConfig, options: PushMappingOptions = {}): string[] {
  return ATTRIBUTE_NAMES.map((attribute) =>
    options.attributeNames ? attribute : columnFor(config.columns, attribute),
  );
}

/**
 * The fields of `rows` the source does not read, each with its 1-based row. A push is an integration
 * written against the field list, so a field nobody reads is a typo (`familyname`) that would
 * silently blank an attribute: the caller refuses the whole request. Own keys only.
 */
export function unknownPushFields(
  config: PushSourceConfig,
  rows: readonly PushedRow[],
  options: PushMappingOptions = {},
): { row: number; field: string }[] {
  const known = new Set(pushFieldNames(config, options));
  const unknown: { row: number; field: string }[] = [];
  rows.forEach((record, i) => {
    for (const field of Object.keys(record)) if (!known.has(field)) unknown.push({ row: i + 1, field });
  });
  return unknown;
}

/**
 * Maps pushed records with the same mapper a CSV row goes through (`createRecordMapper`): trimming,
 * dates, allowed values, defaults. Row numbers are 1-based positions in `rows`. Pure; bad values
 * become findings on the row, never exceptions. Fields the source does not read are ignored here
 * (see `unknownPushFields`).
 */
export function mapPushedRecords(
  config: PushSourceConfig,
  rows: readonly PushedRow[],
  options: PushMappingOptions = {},
): CandidateRow[] {
  const map = mapperFor(config, options.attributeNames === true);
  // Object.fromEntries defines properties, so a field named __proto__ stays a field.
  return rows.map((record, i) =>
    map(Object.fromEntries(Object.entries(record).map(([field, value]) => [field, value ?? ""])), i + 1),
  );
}

/**
 * Checks mapped records with the same data-quality rules as a CSV export (`checkDataQuality`), against
 * `known`: the stored identities the records could collide with (same key, same email, or named as a
 * manager). `complete` is false: a push names a few people, so nobody is missing from it.
 */
export function checkPushedRecords(
  config: PushSourceConfig,
  candidates: readonly CandidateRow[],
  known: readonly KnownPerson[],
): SourceReadResult {
  const { valid, findings, presentKeys } = checkDataQuality(candidates, {
    known,
    fallback: config.correlation.fallback,
    key: config.key,
    columns: config.columns,
  });
  return {
    source: config.name,
    records: valid,
    findings,
    rowsRead: candidates.length,
    complete: false,
    presentKeys,
  };
}

/**
 * What a scheduled sync reads from a push source: nothing. Records arrive by push (ingestRecords); a
 * sync of the source still moves its identities along by date (starts, end and termination dates).
 */
export function readPushSource(config: PushSourceConfig): SourceReadResult {
  return { source: config.name, records: [], findings: [], rowsRead: 0, complete: false };
}
