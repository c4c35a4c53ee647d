/**
 * The figures behind the summary table, as bench/results.json keeps them: one entry per row id, the
 * median and spread of every sample of the runs that measured it, with the machine, its load and the
 * commit. A run of one bench replaces its rows' entries and keeps the others.
 */
import { median } from "./bench-stats.js";
import type { Figure, SummaryRow } from "./summary-types.js";

export interface Machine {
  cpus: number;
  model: string;
  memoryGiB: number;
  node: string;
}

/** One row's figure in results.json. */
export interface StoredResult {
  /**
   * {@link GENERATED} when `npm run bench` measured it; otherwise where it came from, e.g. "recorded by
   * hand 2026-12-04" for a figure copied from the notes — the table says so and never shows it as generated.
   */
  source: string;
  /** The day (YYYY-MM-DD) the figure was measured. */
  date: string;
  commit?: string;
  /** The commit had changes not yet committed when it ran (other work in the tree). */
  uncommitted?: boolean;
  /** The machine, or a description of it for a figure recorded by hand. */
  machine?: Machine | string;
  /** 1-minute load average at the start of the first run and the end of the last. */
  load?: { start: number; end: number };
  /** Processes run (each may repeat the measurement internally: see `samples`). */
  runs?: number;
  unit: string;
  /** Median of the samples. A figure recorded by hand as a range has only `min` and `max`. */
  median?: number;
  min?: number;
  max?: number;
  samples?: number[];
  floor?: number;
  /** median / floor. */
  ratio?: number;
  /** Medians of the row's further figures over the runs. */
  others?: Record<string, number>;
  detail?: string;
}

export type Results = Record<string, StoredResult>;

export const GENERATED = "npm run bench";

/** What the runner knows about the runs of one invocation. */
export interface RunContext {
  date: string;
  commit?: string | undefined;
  uncommitted?: boolean | undefined;
  machine: Machine;
  load: { start: number; end: number };
  runs: number;
}

/** Four significant digits: what a noisy machine can tell apart, and short in the JSON file. */
export function round(x: number): number {
  return Number(x.toPrecision(4));
}

/**
 * One row's entry from the figures its picker read, one per run that held it: the median and min–max of
 * every sample (a run's own repeats when its bench reports them, else its one value), the median floor,
 * and their ratio. Undefined when no run held the row's figure.
 */
export function aggregate(
  row: Pick<SummaryRow, "unit">,
  figures: readonly Figure[],
  context: RunContext,
): StoredResult | undefined {
  if (figures.length === 0) return undefined;
  const samples = figures.flatMap((f) =>
    f.samples !== undefined && f.samples.length > 0 ? f.samples : [f.value],
  );
  const floors = figures.flatMap((f) => (f.floor === undefined ? [] : [f.floor]));
  const mid = median(samples);
  const floor = floors.length === 0 ? undefined : median(floors);
  const keys = [...new Set(figures.flatMap((f) => Object.keys(f.others ?? {})))];
  const others = Object.fromEntries(
    keys.map((k) => [
      k,
      round(median(figures.flatMap((f) => (f.others?.[k] === undefined ? [] : [f.others[k]])))),
    ]),
  );
  const detail = figures.at(-1)!.detail;
  return {
    source: GENERATED,
    date: context.date,
    ...(context.commit === undefined ? {} : { commit: context.commit }),
    ...(context.uncommitted ? { uncommitted: true } : {}),
    machine: context.machine,
    load: context.load,
    runs: context.runs,
    unit: row.unit,
    median: round(mid),
    min: round(Math.min(...samples)),
    max: round(Math.max(...samples)),
    samples: samples.map(round),
    ...(floor === undefined ? {} : { floor: round(floor), ratio: Number((mid / floor).toFixed(2)) }),
    ...(keys.length === 0 ? {} : { others }),
    ...(detail === undefined ? {} : { detail }),
  };
}

/** `old` with the entries of `fresh` in place of theirs; the declared rows first, in `order`, then the rest. */
export function mergeResults(old: Results, fresh: Results, order: readonly string[]): Results {
  const all: Results = { ...old, ...fresh };
  const declared = order.filter((id) => all[id] !== undefined);
  const rest = Object.keys(all)
    .filter((id) => !order.includes(id))
    .sort();
  return Object.fromEntries([...declared, ...rest].map((id) => [id, all[id]!]));
}

const WIDTH = 110;

/**
 * The file as Biome formats it (so `npm run lint` passes after a run): objects one key a line, arrays of
 * numbers on the key's line when they fit in 110 columns, else filled onto lines of their own.
 */
export function formatResults(results: Results): string {
  // `tail` is the comma after the value, if any: Biome counts it in the line's width.
  const write = (value: unknown, indent: string, lead: string, tail: string): string[] => {
    if (Array.isArray(value)) {
      const items = value.map((v) => JSON.stringify(v));
      const flat = `${indent}${lead}[${items.join(", ")}]${tail}`;
      if (items.length === 0 || flat.length <= WIDTH) return [flat];
      const inner = `${indent}  `;
      const lines: string[] = [`${indent}${lead}[`];
      let line = "";
      for (const [i, item] of items.entries()) {
        const next = line === "" ? item : `${line}, ${item}`;
        // The comma after an item is on its line, but the last item has none.
        if (line !== "" && inner.length + next.length + (i < items.length - 1 ? 1 : 0) > WIDTH) {
          lines.push(`${inner}${line},`);
          line = item;
        } else line = next;
      }
      lines.push(`${inner}${line}`, `${indent}]${tail}`);
      return lines;
    }
    if (value !== null && typeof value === "object") {
      const entries = Object.entries(value).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return [`${indent}${lead}{}${tail}`];
      const inner = `${indent}  `;
      const body = entries.flatMap(([k, v], i) =>
        write(v, inner, `${JSON.stringify(k)}: `, i < entries.length - 1 ? "," : ""),
      );
      return [`${indent}${lead}{`, ...body, `${indent}}${tail}`];
    }
    return [`${indent}${lead}${JSON.stringify(value)}${tail}`];
  };
  return `${write(results, "", "", "").join("\n")}\n`;
}
