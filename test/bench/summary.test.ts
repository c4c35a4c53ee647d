import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BEGIN, END, renderTable, replaceBetweenMarkers, verdict } from "../../bench/summary-render.js";
import {
  aggregate,
  formatResults,
  GENERATED,
  mergeResults,
  type RunContext,
  type StoredResult,
} from "../../bench/summary-results.js";
import { SUMMARY_ROWS } from "../../bench/summary-rows.js";
import type { SummaryRow } from "../../bench/summary-types.js";

const DOC = fileURLToPath(new URL("../../docs/performance.md", import.meta.url));
const RESULTS = fileURLToPath(new URL("../../bench/results.json", import.meta.url));

const BENCH = fileURLToPath(new URL("../../bench", import.meta.url));
const context: RunContext = {
  date: "2026-12-05",
  commit: "abc1234",
  machine: { cpus: 2, model: "AMD EPYC", memoryGiB: 24, node: "v20.20.2" },
  load: { start: 1.5, end: 1.2 },
  runs: 2,
};
const row = (id: string, more: Partial<SummaryRow> = {}): SummaryRow => ({
  id,
  run: { file: "x.bench.ts", args: [] },
  what: `what ${id}`,
  goal: "≤ 10 s",
  unit: "s",
  pick: () => undefined,
  ...more,
});
const stored = (more: Partial<StoredResult>): StoredResult => ({
  source: GENERATED,
  date: "2026-12-05",
  unit: "s",
  ...more,
});
const byId = (id: string) => SUMMARY_ROWS.find((r) => r.id === id)!;

describe("aggregate", () => {
  it("takes the median and the min – max over every sample, a run's own repeats counted one by one", () => {
    const r = aggregate({ unit: "s" }, [{ value: 9 }, { value: 2, samples: [1, 2, 7] }], context)!;
    expect(r.samples).toEqual([9, 1, 2, 7]);
    expect(r.median).toBe(7); // the upper middle of an even count, as bench/bench-stats.ts has it
    expect([r.min, r.max]).toEqual([1, 9]);
    expect(r.source).toBe(GENERATED);
    expect(r).toMatchObject({
      date: "2026-12-05",
      commit: "abc1234",
      runs: 2,
      load: { start: 1.5, end: 1.2 },
    });
  });

  it("puts the median floor beside the median and their ratio; the other figures' medians; the last detail", () => {
    const r = aggregate(
      { unit: "s" },
      [
        { value: 3, floor: 1, others: { p50: 1 }, detail: "first" },
        { value: 4, floor: 2, others: { p50: 3 }, detail: "second" },
        { value: 5, others: { p50: 2 } },
      ],
      context,
    )!;
    expect(r.median).toBe(4);
    expect(r.floor).toBe(2);
    expect(r.ratio).toBe(2);
    expect(r.others).toEqual({ p50: 2 });
    expect(r.detail).toBeUndefined();
  });

  it("is nothing when no run held the figure", () => {
    expect(aggregate({ unit: "s" }, [], context)).toBeUndefined();
  });
});

describe("mergeResults", () => {
  it("replaces the rows measured, keeps the others, in the declared order", () => {
    const old = { b: stored({ median: 1 }), a: stored({ median: 2 }), zombie: stored({ median: 3 }) };
    const merged = mergeResults(old, { b: stored({ median: 9 }), c: stored({ median: 4 }) }, ["a", "b", "c"]);
    expect(Object.keys(merged)).toEqual(["a", "b", "c", "zombie"]);
    expect(merged.b!.median).toBe(9);
    expect(merged.a).toBe(old.a);
  });
});

describe("verdict", () => {
  const checked = row("r", {
    checks: [
      { op: "<=", limit: 10, unit: "s" },
      { figure: "ratio", op: "<=", limit: 2, unit: "×" },
    ],
  });

  it("is met when every goal holds on the medians", () => {
    expect(verdict(checked, stored({ median: 10, ratio: 1.5 })).state).toBe("met");
  });

  it("is missed when one fails, naming it", () => {
    const v = verdict(checked, stored({ median: 9, ratio: 2.5 }));
    expect(v).toEqual({ state: "missed", met: ["≤ 10 s"], missed: ["ratio ≤ 2×"], unknown: [] });
  });

  it("says which goal it cannot check when a figure is missing", () => {
    expect(verdict(checked, stored({ median: 9 }))).toEqual({
      state: "unknown",
      met: ["≤ 10 s"],
      missed: [],
      unknown: ["ratio ≤ 2×"],
    });
    expect(verdict(checked, undefined).state).toBe("unknown");
  });

  it("checks a range recorded by hand at its end that is worse for the goal", () => {
    const atMost = row("r", { checks: [{ op: "<=", limit: 10, unit: "s" }] });
    const atLeast = row("r", { checks: [{ op: ">=", limit: 10, unit: "ops" }] });
    expect(verdict(atMost, stored({ min: 9, max: 11 })).state).toBe("missed");
    expect(verdict(atLeast, stored({ min: 9, max: 11 })).state).toBe("missed");
    expect(verdict(atLeast, stored({ min: 10, max: 11 })).state).toBe("met");
  });

  it("checks another figure by name, and is a report without goals", () => {
    const lost = row("r", { checks: [{ figure: "lost", op: "<=", limit: 0, unit: "lost" }] });
    expect(verdict(lost, stored({ median: 1, others: { lost: 3 } })).state).toBe("missed");
    expect(verdict(row("r"), stored({ median: 1 })).state).toBe("report");
  });
});

describe("the table", () => {
  const rows = [
    row("measured", { checks: [{ op: "<=", limit: 10, unit: "s" }], floor: "a bare script" }),
    row("by-hand"),
    row("never"),
  ];
  const results = {
    measured: aggregate({ unit: "s" }, [{ value: 1.234, floor: 1 }], context)!,
    "by-hand": stored({
      source: "recorded by hand 2026-11-21",
      min: 9.4,
      max: 9.9,
      machine: "the notes' machine",
    }),
  };
  const table = renderTable(rows, results);

  it("has a line per row, and says which figures were not measured by the runner", () => {
    const lines = table.split("\n").filter((l) => l.startsWith("| what |"));
    expect(lines).toHaveLength(1);
    const measured = table.split("\n").find((l) => l.startsWith("| what measured"))!;
    expect(measured).toContain("**1.23 s**");
    expect(measured).toContain("1.23×");
    expect(measured).toContain("2026-12-05, abc1234; 2 × AMD EPYC, 24 GiB, Node v20.20.2; load 1.5 → 1.2");
    expect(measured).toContain("**met**");
    const hand = table.split("\n").find((l) => l.startsWith("| what by-hand"))!;
    expect(hand).toContain("**recorded by hand 2026-11-21** (not generated)");
    expect(hand).toContain("**9.4 – 9.9 s**");
    const never = table.split("\n").find((l) => l.startsWith("| what never"))!;
    expect(never).toContain("**not measured**");
    expect(never).toContain("never run by `npm run bench`");
  });

  it("replaces only the text between the markers, byte for byte outside them", () => {
    const before = "# Performance\r\n\nintro  \n\n## Summary\n\n";
    const after = "\n\n### Notes\n| a | b |\n\ttrailing\n";
    const doc = `${before}${BEGIN}\nold table\n${END}${after}`;
    const out = replaceBetweenMarkers(doc, table);
    expect(out.startsWith(`${before}${BEGIN}\n`)).toBe(true);
    expect(out.endsWith(`\n${END}${after}`)).toBe(true);
    expect(out).not.toContain("old table");
    expect(out).toContain("| what measured");
    expect(replaceBetweenMarkers(out, table)).toBe(out);
  });

  it("refuses a document without both markers, in order, once each", () => {
    expect(() => replaceBetweenMarkers("no markers", table)).toThrow(/bench-summary/);
    expect(() => replaceBetweenMarkers(`${END}\n${BEGIN}`, table)).toThrow(/bench-summary/);
    expect(() => replaceBetweenMarkers(`${BEGIN}${END}${BEGIN}${END}`, table)).toThrow(/bench-summary/);
  });
});

describe("results.json", () => {
  it("reads back what was written", () => {
    const results = {
      a: aggregate(
        { unit: "s" },
        [{ value: 1, samples: Array.from({ length: 50 }, (_, i) => i / 7) }],
        context,
      )!,
      b: stored({ min: 1, max: 2, others: {} }),
    };
    expect(JSON.parse(formatResults(results))).toEqual(results);
  });
});

describe("the rows", () => {
  it("have unique ids and cover every bench", () => {
    const ids = SUMMARY_ROWS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const benches = readdirSync(BENCH).filter((f) => f.endsWith(".bench.ts"));
    const covered = new Set(SUMMARY_ROWS.map((r) => r.run.file));
    expect(benches.filter((f) => !covered.has(f))).toEqual([]);
    expect([...covered].filter((f) => !benches.includes(f))).toEqual([]);
  });

  it("read nothing, without throwing, from lines that do not hold their figure", () => {
    const odd = [
      {},
      { name: "hr-import" },
      { name: "sod", database: "sqlite", firstScan: null },
      { bench: "review" },
    ];
    for (const r of SUMMARY_ROWS) {
      expect(r.pick([]), r.id).toBeUndefined();
      expect(r.pick(odd), r.id).toBeUndefined();
    }
  });

  it("read the lines their benches print", () => {
    const hr = {
      name: "hr-import",
      database: "sqlite",
      rows: 100000,
      importSeconds: 9.37,
      replaySeconds: 3.45,
      replayChanges: 0,
      rssMB: 1608,
    };
    expect(byId("hr-import/sqlite").pick([hr])).toMatchObject({ value: 9.37, others: { peakMB: 1608 } });
    expect(byId("hr-import/replay").pick([hr])).toMatchObject({ value: 3.45, others: { changes: 0 } });
    expect(byId("hr-import/1m-memory").pick([hr])).toBeUndefined();
    // The bench's new lines: `tenure sync` as a process beside its floor, and a 1,000,000-row import.
    const big = {
      name: "hr-import",
      database: "sqlite",
      rows: 1000000,
      seconds: 90,
      peakMB: 900,
      floorSeconds: 40,
      floorPeakMB: 300,
    };
    const sync = {
      ...big,
      rows: 100000,
      seconds: 12,
      peakMB: 400,
      againSeconds: 3,
      againUnchanged: 100000,
      floorSeconds: 4,
    };
    expect(byId("hr-import/sqlite").pick([sync, big])).toMatchObject({
      value: 12,
      floor: 4,
      others: { peakMB: 400 },
    });
    expect(byId("hr-import/replay").pick([sync, big])).toMatchObject({ value: 3, others: { changes: 0 } });
    expect(byId("hr-import/1m-memory").pick([sync, big])).toMatchObject({
      value: 900,
      floor: 300,
      others: { seconds: 90 },
    });
    const scim = {
      name: "scim-burst",
      store: "postgres",
      target: "none",
      pushesPerSecond: 400,
      lost: 0,
      floors: { bareInsert: { perSecond: 1000 }, scimmy: { perSecond: 300 } },
      ratios: { vsBareInsert: 0.4, vsScimmy: 1.33 },
    };
    expect(byId("scim-burst/none/postgres").pick([scim])).toMatchObject({
      value: 400,
      floor: 1000,
      others: { lost: 0, "ratio to scimmy": 1.33 },
    });
    expect(byId("scim-burst/ldap/postgres").pick([scim])).toBeUndefined();
    const workers = {
      name: "apply-workers",
      ldap: {
        runs: [
          { workers: 1, opsPerSecondFirstToLast: 100, bareOpsPerSecond: 400, dead: 0 },
          { workers: 2, opsPerSecondFirstToLast: 180, dead: 0 },
        ],
      },
    };
    expect(byId("apply-workers/ldap/2").pick([workers])).toMatchObject({
      value: 180,
      floor: 400,
      others: { scaling: 1.8 },
    });
    expect(byId("apply-workers/ldap/4").pick([workers])).toBeUndefined();
    expect(byId("apply-workers/postgres/1").pick([workers])).toBeUndefined();
    const list = {
      name: "identities-list",
      database: "sqlite",
      identities: 100000,
      ms: { first: 0.7, deep: 0.62, department: 0.65, search: 0.9, rare: 0.7 },
      floorMs: { first: 0.6, deep: 0.8, department: 0.66, search: 0.87, rare: 0.5 },
    };
    expect(byId("identities-list/sqlite").pick([list])).toMatchObject({ value: 0.9, floor: 0.87 });
    expect(byId("identity-search/sqlite").pick([list])).toMatchObject({ value: 0.7, floor: 0.5 });
    expect(byId("identities-list-1m/sqlite").pick([list])).toBeUndefined();
    const sod = {
      name: "sod",
      database: "sqlite",
      findViolations: { seconds: 1, runs: [1, 1.2, 0.9], floorReadSeconds: 0.8, floorEvaluateSeconds: 0.07 },
    };
    expect(byId("sod-evaluate/sqlite").pick([sod])).toMatchObject({
      value: 1,
      samples: [1, 1.2, 0.9],
      floor: expect.closeTo(0.87),
    });
  });
});

describe("docs/performance.md", () => {
  it("holds the table bench/results.json renders (after editing rows: npm run bench -- --render)", () => {
    const doc = readFileSync(DOC, "utf8");
    const results = JSON.parse(readFileSync(RESULTS, "utf8"));
    expect(replaceBetweenMarkers(doc, renderTable(SUMMARY_ROWS, results))).toBe(doc);
  });

  it("keeps results.json as Biome formats it", () => {
    const text = readFileSync(RESULTS, "utf8");
    expect(formatResults(JSON.parse(text))).toBe(text);
  });
});

describe("the NHI rows", () => {
  it("take the bench's recurring floor when it prints one, else the sum of its parts", () => {
    const line = {
      name: "nhi-inventory",
      database: "sqlite",
      ms: { recurring: 3000 },
      floorMs: { loadConfig: 200, resync: 1000, list: 800 },
    };
    expect(byId("nhi-inventory/sqlite").pick([line])).toMatchObject({ value: 3, floor: 2 });
    expect(byId("nhi-inventory/sqlite").pick([{ ...line, recurringFloorMs: 1500 }])).toMatchObject({
      floor: 1.5,
    });
  });
});
