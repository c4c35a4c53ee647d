/**
 * What a row of the summary table in docs/performance.md is (issue 19 item 5): the bench run that
 * measures it, what it measures, its goal, and how its figure is read from the JSON lines the bench
 * prints. The rows themselves are in bench/summary-rows*.ts; `npm run bench` (bench/run.ts) runs them.
 */

/** A JSON line a bench printed (an object; a line that is not one is no figure). */
export type BenchLine = Record<string, unknown>;

/**
 * One way of running a bench: `node --import tsx bench/<file> <args>`. In an argument `{postgres}`
 * becomes the PostgreSQL URL and `{dir}` a folder the runner makes for this invocation, kept over its
 * runs and removed after them. Rows with the same invocation share its runs.
 */
export interface Invocation {
  file: string;
  args: readonly string[];
  /** Runs made once before the measured runs, in the same `{dir}` (filling a kept ledger); not figures. */
  setup?: readonly (readonly string[])[];
}

/** A goal a machine can check, against the median of the runs (or the row's ratio, or another figure). */
export interface Comparator {
  /** `value` (the row's figure, the default), `ratio` (to its floor) or a key of the row's `others`. */
  figure?: string;
  op: "<=" | ">=";
  limit: number;
  unit: string;
}

/** What a row's picker read from one run of its bench. */
export interface Figure {
  value: number;
  /** The bench's own repeated measurements of `value` in this run, when it reports them. */
  samples?: readonly number[];
  /** The floor's figure, in the row's unit, measured in the same run. */
  floor?: number;
  /** Further figures a goal checks or the table names (a p50 beside a p99, peak memory, losses). */
  others?: Record<string, number>;
  /** A few words on this run for the table (the other cases, what the floor is made of). */
  detail?: string;
}

export interface SummaryRow {
  /** Stable: results.json keys on it, and `npm run bench -- ID` selects it (by substring). */
  id: string;
  run: Invocation;
  what: string;
  goal: string;
  checks?: readonly Comparator[];
  unit: string;
  /** What the floor is, in a few words; absent when the bench measures none. */
  floor?: string;
  /**
   * Reads this row's figure from the lines of one run; undefined when they do not hold it. Benches
   * change: a missing field means "not measured", never an exception.
   */
  pick: (lines: readonly BenchLine[]) => Figure | undefined;
}

/** The number at `path` ("a.b.0.c") in `value`, or undefined when any step is missing or not a number. */
export function num(value: unknown, path: string): number | undefined {
  let at: unknown = value;
  for (const key of path.split(".")) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === "number" && Number.isFinite(at) ? at : undefined;
}

/** The numbers of the array at `path`, or undefined when it is not an array of numbers. */
export function nums(value: unknown, path: string): number[] | undefined {
  let at: unknown = value;
  for (const key of path.split(".")) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  if (!Array.isArray(at) || at.length === 0) return undefined;
  return at.every((x) => typeof x === "number" && Number.isFinite(x)) ? (at as number[]) : undefined;
}

/** The first line whose fields equal every field of `match` (a line names itself by `name` or `bench`). */
export function lineWith(lines: readonly BenchLine[], match: Record<string, unknown>): BenchLine | undefined {
  return lines.find((l) =>
    Object.entries(match).every(([k, v]) => (k === "name" ? (l.name ?? l.bench) === v : l[k] === v)),
  );
}

/** The PostgreSQL URL argument of a bench invocation (the runner fills `{postgres}`). */
export const PG = ["--postgres", "{postgres}"] as const;

/** The two stores, as a row id names them and as the table does. */
export const DBS = [
  ["sqlite", "SQLite"],
  ["postgres", "PostgreSQL"],
] as const;

/** A number for a table cell: `?` where the bench did not print it. */
export const fmt = (x: number | undefined): string => (x === undefined ? "?" : String(x));

/**
 * A p99 read at `${at}.p99ms` with its p50 (`${at}.p50ms`) beside it, as the latency rows report them;
 * `floor` is the path of the floor's p99 in the same line, `detail` follows the p50 in the table.
 */
export function p99Figure(
  l: BenchLine | undefined,
  at: string,
  more: { floor?: string; others?: Record<string, number | undefined>; detail?: string } = {},
): Figure | undefined {
  const p50 = num(l, `${at}.p50ms`);
  return figure(num(l, `${at}.p99ms`), {
    floor: more.floor === undefined ? undefined : num(l, more.floor),
    others: { p50, ...more.others },
    detail: `p50 ${fmt(p50)} ms${more.detail ?? ""}`,
  });
}

/** A figure, or undefined when its value is; undefined floors and others are left out. */
export function figure(
  value: number | undefined,
  more: {
    samples?: readonly number[] | undefined;
    floor?: number | undefined;
    others?: Record<string, number | undefined>;
    detail?: string | undefined;
  } = {},
): Figure | undefined {
  if (value === undefined) return undefined;
  const out: Figure = { value };
  if (more.samples !== undefined && more.samples.length > 0) out.samples = more.samples;
  if (more.floor !== undefined && more.floor > 0) out.floor = more.floor;
  const others = Object.entries(more.others ?? {}).filter(
    (e): e is [string, number] => e[1] !== undefined && Number.isFinite(e[1]),
  );
  if (others.length > 0) out.others = Object.fromEntries(others);
  if (more.detail !== undefined && more.detail !== "") out.detail = more.detail;
  return out;
}

/** The sum of its parts, or undefined when any is missing. */
export function sum(...parts: (number | undefined)[]): number | undefined {
  return parts.some((p) => p === undefined) ? undefined : parts.reduce<number>((a, b) => a + b!, 0);
}

/** `x` divided by `by`, or undefined when either is missing. */
export function scaled(x: number | undefined, by: number): number | undefined {
  return x === undefined ? undefined : x / by;
}

/** `node --import tsx bench/<file> <args>` as a person types it (`URL`, `DIR` for the placeholders). */
export function commandOf(run: Invocation): string {
  const line = (args: readonly string[]) =>
    ["node --import tsx", `bench/${run.file}`, ...args]
      .join(" ")
      .replaceAll("{postgres}", "URL")
      .replaceAll("{dir}", "DIR");
  return [...(run.setup ?? []).map(line), line(run.args)].join(", then ");
}
