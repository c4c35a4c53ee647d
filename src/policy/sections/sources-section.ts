import { resolve } from "node:path";
import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import type { SectionContext } from "../../config/section-types.js";
import { ATTRIBUTE_NAMES, EMPLOYMENT_TYPES, HR_STATUSES } from "../../domain/identity-types.js";
import { isValidTimeZone } from "../../domain/local-date.js";
import type { CsvSourceConfig, PushSourceConfig, SourceConfig } from "../config-types.js";
import { parseDateFormat } from "../date-format.js";

export const SOURCE_NAME = /^[a-z][a-z0-9_-]*$/;

const attributeName = z.enum(ATTRIBUTE_NAMES);

// Built from the list so an attribute added to WorkerAttributes is mappable without touching this.
const columnsShape = Object.fromEntries(
  ATTRIBUTE_NAMES.map((name) => [
    name,
    z.string().min(1, { error: "expected a column name (CSV header or JSON field)" }).optional(),
  ]),
) as { [K in (typeof ATTRIBUTE_NAMES)[number]]: z.ZodOptional<z.ZodString> };

const dateFormat = z.string().superRefine((format, ctx) => {
  const parsed = parseDateFormat(format);
  if (!parsed.ok) {
    ctx.addIssue({ code: "custom", message: `expected a date pattern like YYYY-MM-DD: ${parsed.problem}` });
  }
});

// Offsets are refused even where Intl accepts them: a fixed offset ignores daylight saving, so
// "today" would start an hour off for half the year.
const timeZone = z.string().refine((zone) => !/^[+-]/.test(zone) && isValidTimeZone(zone), {
  error: "expected an IANA time zone such as UTC or Europe/London",
});

// Up to what a CSV record may hold at all (csv-source's MAX_RECORD_CHARS): a larger limit would never apply.
const maxLengthValue = z
  .number()
  .int({ error: "expected a whole number of characters" })
  .min(1, { error: "expected at least 1 character" })
  .max(1_000_000, { error: "expected at most 1000000 characters (a CSV record holds at most that)" });

// `default`, `key`, then one entry per attribute, so an attribute added to WorkerAttributes gets one.
const maxLengthShape = {
  default: maxLengthValue.optional(),
  key: maxLengthValue.optional(),
  ...Object.fromEntries(ATTRIBUTE_NAMES.map((name) => [name, maxLengthValue.optional()])),
} as { default: z.ZodOptional<typeof maxLengthValue>; key: z.ZodOptional<typeof maxLengthValue> } & {
  [K in (typeof ATTRIBUTE_NAMES)[number]]: z.ZodOptional<typeof maxLengthValue>;
};

// The keys every source type has: how a record is mapped to attributes and correlated to an identity.
const recordMappingShape = {
  key: attributeName.default("employeeId"),
  columns: strictObject(columnsShape).prefault({}),
  dateFormat: dateFormat.default("YYYY-MM-DD"),
  timeZone: timeZone.default("UTC"),
  correlation: strictObject({ fallback: z.enum(["none", "email"]).default("none") }).prefault({}),
  defaults: strictObject({
    employmentType: z.enum(EMPLOYMENT_TYPES).optional(),
    status: z.enum(HR_STATUSES).optional(),
  }).prefault({}),
  // Absent means the built-in limits (sources/value-rules.ts), so a config without it stays as loaded.
  maxLength: strictObject(maxLengthShape).optional(),
};

/** `sources.NAME` with `type: csv` — a CSV export from the HR system. Defaults as in `CsvSourceConfig`. */
export const csvSourceSchema = strictObject({
  type: z.literal("csv"),
  path: z.string().min(1, { error: "expected the path of the CSV file" }),
  ...recordMappingShape,
  delimiter: z.string().length(1, { error: "expected exactly one character" }).default(","),
  missingMeans: z.enum(["ignore", "terminate"]).default("ignore"),
});

/**
 * `sources.NAME` with `type: push` — records pushed over HTTP. The csv keys that make sense for a push
 * (no `path` or `delimiter`; no `missingMeans`, since a push is never the whole population).
 */
export const pushSourceSchema = strictObject({ type: z.literal("push"), ...recordMappingShape });

/** The push source a file gets when it gives only `type: push`: every other key at its default. */
export function defaultPushSource(name: string): PushSourceConfig {
  return { name, ...pushSourceSchema.parse({ type: "push" }) };
}

/**
 * The CSV source a file gets when it gives only `type` and `path`: every other key at its default.
 * `path` is kept as given, so pass an absolute one. For configs built in code (tests, benchmarks).
 */
export function defaultCsvSource(name: string, path: string): CsvSourceConfig {
  return { name, ...csvSourceSchema.parse({ type: "csv", path }) };
}

/**
 * `sources:` — the authoritative sources, by name. Each is discriminated by `type`; a new source
 * type adds its schema to this union and a case to {@link resolveSources}.
 */
export const sourcesSection = z
  .record(
    z.string().regex(SOURCE_NAME, {
      error: "a source name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
    }),
    z.discriminatedUnion("type", [csvSourceSchema, pushSourceSchema]),
  )
  .default({});

/** Names each source after its key and makes a csv source's file path absolute against the config's folder. */
export function resolveSources(
  value: z.output<typeof sourcesSection>,
  ctx: SectionContext,
): Record<string, SourceConfig> {
  const sources: Record<string, SourceConfig> = {};
  for (const [name, source] of Object.entries(value)) {
    sources[name] =
      source.type === "csv"
        ? { name, ...source, path: resolve(ctx.baseDir, source.path) }
        : { name, ...source };
  }
  return sources;
}
