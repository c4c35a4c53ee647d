/**
 * Summary rows of the engine's benches: HR import, ledger, plan, apply, OpenLDAP, leavers, SCIM, workers
 * and the identity API (see bench/summary-types.ts for what a row is). Each picker reads the JSON line
 * its bench prints today; a field the bench does not print leaves the figure "not measured".
 */
import {
  type BenchLine,
  DBS,
  type Figure,
  figure,
  fmt,
  type Invocation,
  lineWith,
  num,
  PG,
  type SummaryRow,
} from "./summary-types.js";

const HR: Invocation = { file: "hr-import.bench.ts", args: PG };
// With --postgres the ledger bench measures PostgreSQL only: SQLite is the run without it.
const AUDIT: Record<string, Invocation> = {
  sqlite: { file: "audit-verify.bench.ts", args: [] },
  postgres: { file: "audit-verify.bench.ts", args: PG },
};
const PLAN: Invocation = { file: "plan.bench.ts", args: [] };
const APPLY: Invocation = { file: "apply.bench.ts", args: [] };
const LDAP_PROVISION: Invocation = { file: "ldap-provision.bench.ts", args: [] };
const SCIM: Invocation = { file: "scim-burst.bench.ts", args: PG };
const WORKERS: Invocation = { file: "apply-workers.bench.ts", args: PG };
const API: Invocation = { file: "api-identity.bench.ts", args: PG };
const storeRun = (file: string, store: string, more: string[] = []): Invocation => ({
  file,
  args: ["--store", store, ...more, ...PG],
});

/**
 * The HR import's line of `rows` rows into `database`. The bench is being rewritten (`tenure sync` as a
 * process beside a bare floor, and a 1,000,000-row import in its default run): both its old fields
 * (importSeconds, replaySeconds, rssMB) and its new ones (seconds, againSeconds, peakMB, floorSeconds)
 * are read.
 */
function hrLine(lines: readonly BenchLine[], database: string, rows: number): BenchLine | undefined {
  return lineWith(lines, { name: "hr-import", database, rows });
}
const hrSeconds = (l: BenchLine | undefined) => num(l, "seconds") ?? num(l, "importSeconds");
const hrPeak = (l: BenchLine | undefined) => num(l, "peakMB") ?? num(l, "peakRssMB") ?? num(l, "rssMB");

function hrImport(database: string): (lines: readonly BenchLine[]) => Figure | undefined {
  return (lines) => {
    const l = hrLine(lines, database, 100_000);
    const floorPeak = num(l, "floorPeakMB");
    return figure(hrSeconds(l), {
      floor: num(l, "floorSeconds") ?? num(l, "floor.seconds"),
      others: { peakMB: hrPeak(l), floorPeakMB: floorPeak, memoryRatio: num(l, "memoryRatio") },
      detail: `${fmt(hrPeak(l))} MB RSS${floorPeak === undefined ? "" : `, floor ${floorPeak} MB (${fmt(num(l, "memoryRatio"))}×)`}`,
    });
  };
}

const hrRows: SummaryRow[] = [
  {
    id: "hr-import/sqlite",
    run: HR,
    what: "Import + lifecycle of a 100,000-row HR CSV, SQLite",
    goal: "≤ 10 s; within 2× of a bare csv-parse + SQLite script writing the same rows (issue 19)",
    checks: [
      { op: "<=", limit: 10, unit: "s" },
      { figure: "ratio", op: "<=", limit: 2, unit: "×" },
    ],
    unit: "s",
    floor: "bare csv-parse + SQLite script, same identities, records and chained audit rows",
    pick: hrImport("sqlite"),
  },
  {
    id: "hr-import/postgres",
    run: HR,
    what: "the same on PostgreSQL",
    goal: "report",
    unit: "s",
    pick: hrImport("postgres"),
  },
  {
    id: "hr-import/replay",
    run: HR,
    what: "Replaying the same 100,000-row file (no changes), SQLite",
    goal: "report; 0 changes",
    checks: [{ figure: "changes", op: "<=", limit: 0, unit: "" }],
    unit: "s",
    pick: (lines) => {
      const l = hrLine(lines, "sqlite", 100_000);
      const unchanged = num(l, "againUnchanged");
      const changes = num(l, "replayChanges") ?? (unchanged === undefined ? undefined : 100_000 - unchanged);
      return figure(num(l, "againSeconds") ?? num(l, "replaySeconds"), {
        others: { changes },
        detail: `${fmt(changes)} changes`,
      });
    },
  },
  {
    id: "hr-import/1m-memory",
    run: HR,
    what: "First import of a 1,000,000-row HR CSV, SQLite: peak memory",
    goal: "≤ 1 GB RSS, taken as 1,024 MiB (issue 19)",
    checks: [{ op: "<=", limit: 1024, unit: "MB" }],
    unit: "MB",
    floor: "the bare script's peak RSS",
    pick: (lines) => {
      const l = hrLine(lines, "sqlite", 1_000_000);
      return figure(num(l, "peakMB") ?? num(l, "peakRssMB"), {
        floor: num(l, "floorPeakMB"),
        others: { seconds: hrSeconds(l) },
        detail: `import ${fmt(hrSeconds(l))} s (floor ${fmt(num(l, "floorSeconds"))} s)`,
      });
    },
  },
];

const auditRows: SummaryRow[] = DBS.map(([database, label]) => ({
  id: `audit-verify/${database}`,
  run: AUDIT[database]!,
  what: database === "sqlite" ? "Verify a ledger of 1,000,000 events, SQLite" : `the same on ${label}`,
  goal: database === "sqlite" ? "≤ 3 s" : "report",
  ...(database === "sqlite" ? { checks: [{ op: "<=" as const, limit: 3, unit: "s" }] } : {}),
  unit: "s",
  pick: (lines) => {
    const l = lineWith(lines, { name: "audit-verify", database });
    return figure(num(l, "verifySeconds"), {
      others: { verifyCpuSeconds: num(l, "verifyCpuSeconds") },
      detail: `CPU ${fmt(num(l, "verifyCpuSeconds"))} s; ${fmt(num(l, "events"))} events`,
    });
  },
}));

const planRows: SummaryRow[] = [
  {
    id: "plan/full",
    run: PLAN,
    what: "Full plan, 100,000 identities × 5 systems",
    goal: "≤ 3 s, ≤ 1 GiB",
    checks: [
      { op: "<=", limit: 3, unit: "s" },
      { figure: "peak RSS", op: "<=", limit: 1024, unit: "MB" },
    ],
    unit: "s",
    pick: (lines) => {
      const l = lineWith(lines, { name: "plan" });
      return figure(num(l, "fullPlanSeconds"), {
        others: { "peak RSS": num(l, "rssMB"), "CPU seconds": num(l, "fullPlanCpuSeconds") },
        detail: `CPU ${fmt(num(l, "fullPlanCpuSeconds"))} s; ${fmt(num(l, "rssAfterFullPlanMB"))} MB after the plan, ${fmt(num(l, "rssMB"))} MB peak RSS`,
      });
    },
  },
  {
    id: "plan/one-identity",
    run: PLAN,
    what: "One identity's change planned (median of 1,000)",
    goal: "≤ 5 ms",
    checks: [{ op: "<=", limit: 5, unit: "ms" }],
    unit: "ms",
    pick: (lines) => {
      const l = lineWith(lines, { name: "plan" });
      return figure(num(l, "oneIdentityMs"), {
        others: { p99: num(l, "oneIdentityP99Ms") },
        detail: `p99 ${fmt(num(l, "oneIdentityP99Ms"))} ms`,
      });
    },
  },
];

const applyRows: SummaryRow[] = [
  {
    id: "apply/sql-sqlite",
    run: APPLY,
    what: "Apply throughput, `sql` connector on SQLite (2,000 people, 3 applications; HR import and plan included)",
    goal: "report",
    unit: "ops/min",
    pick: (lines) => {
      const l = lineWith(lines, { name: "apply-sql-sqlite" });
      return figure(num(l, "operationsPerMinute"), {
        others: { dead: num(l, "dead") },
        detail: `${fmt(num(l, "operations"))} operations in ${fmt(num(l, "firstRunSeconds"))} s, ${fmt(num(l, "dead"))} dead`,
      });
    },
  },
];

const ldapProvision =
  (value: (l: BenchLine | undefined) => Figure | undefined) => (lines: readonly BenchLine[]) =>
    value(lineWith(lines, { name: "ldap-provision" }));

const ldapRows: SummaryRow[] = [
  {
    id: "ldap-provision/engine",
    run: LDAP_PROVISION,
    what: "Provision 10,000 people into OpenLDAP, 3 groups each (40,000 operations), through the engine",
    goal: "≥ 30,000 ops/min",
    checks: [{ op: ">=", limit: 30_000, unit: "ops/min" }],
    unit: "ops/min",
    pick: ldapProvision((l) =>
      figure(num(l, "engine.operationsPerMinute"), {
        others: { failed: num(l, "engine.failed") },
        detail: `${fmt(num(l, "engine.seconds"))} s, ${fmt(num(l, "engine.failed"))} failed`,
      }),
    ),
  },
  {
    id: "ldap-provision/vs-sequential",
    run: LDAP_PROVISION,
    what: "the same writes from a bare ldapts script, one write after another, in the same run (engine's time)",
    goal: "engine ≤ 1.25× the floor",
    checks: [{ figure: "ratio", op: "<=", limit: 1.25, unit: "×" }],
    unit: "s",
    floor: "bare ldapts script, one connection, one write at a time",
    pick: ldapProvision((l) => figure(num(l, "engine.seconds"), { floor: num(l, "bareSequentialSeconds") })),
  },
  {
    id: "ldap-provision/vs-concurrent",
    run: LDAP_PROVISION,
    what: "the same writes from a bare script on 8 connections at once (the engine's concurrency; engine's time)",
    goal: "report",
    unit: "s",
    floor: "bare ldapts script, 8 connections",
    pick: ldapProvision((l) => figure(num(l, "engine.seconds"), { floor: num(l, "bareSeconds") })),
  },
  ...DBS.map(
    ([store, label]): SummaryRow => ({
      id: `ldap-reconcile/${store}`,
      run: storeRun("ldap-reconcile.bench.ts", store),
      what: `Reconcile of a 100,000-entry OpenLDAP (300,000 memberships), store on ${label}`,
      goal: "report time and memory",
      unit: "s",
      pick: (lines) => {
        const l = lineWith(lines, { name: "ldap-reconcile", store });
        return figure(num(l, "seconds"), {
          others: { peakRssMB: num(l, "peakRssMB") },
          detail: `${fmt(num(l, "entriesPerSecond"))} entries/s; ${fmt(num(l, "peakRssMB"))} MB peak RSS (${fmt(num(l, "rssAtStartMB"))} MB at its start)`,
        });
      },
    }),
  ),
];

function leaver(store: string, burst: boolean): (lines: readonly BenchLine[]) => Figure | undefined {
  return (lines) => {
    const l = lines.find(
      (x) => x.name === "leaver-latency" && x.store === store && (x.burst !== undefined) === burst,
    );
    const pushes = num(l, "burst.pushesPerSecond");
    return figure(num(l, "p99ms"), {
      others: { p50: num(l, "p50ms"), p90: num(l, "p90ms"), max: num(l, "maxMs") },
      detail:
        `p50 ${fmt(num(l, "p50ms"))}, p90 ${fmt(num(l, "p90ms"))}, max ${fmt(num(l, "maxMs"))} ms` +
        (burst ? `; burst ${fmt(pushes)} pushes/s (${fmt(num(l, "burst.pushes"))} pushes) meanwhile` : ""),
    });
  };
}

const leaverRows: SummaryRow[] = [
  ...DBS.map(
    ([store, label]): SummaryRow => ({
      id: `leaver/${store}`,
      run: storeRun("leaver-latency.bench.ts", store),
      what: `Leaver latency (p99): HTTP push → accounts disabled in OpenLDAP, PostgreSQL and a SCIM service, 250 leavers, store on ${label}`,
      goal: "p50 ≤ 250 ms, p99 ≤ 1 s",
      checks: [
        { op: "<=", limit: 1000, unit: "ms" },
        { figure: "p50", op: "<=", limit: 250, unit: "ms" },
      ],
      unit: "ms",
      pick: leaver(store, false),
    }),
  ),
  ...DBS.map(
    ([store, label]): SummaryRow => ({
      id: `leaver-under-burst/${store}`,
      run: storeRun("leaver-latency.bench.ts", store, ["--burst", "10000", "--burst-clients", "32"]),
      what: `Leaver latency (p99) under a concurrent burst of SCIM creates (32 clients) provisioned into OpenLDAP, store on ${label}`,
      goal: "p99 ≤ 1 s (issue 19)",
      checks: [{ op: "<=", limit: 1000, unit: "ms" }],
      unit: "ms",
      pick: leaver(store, true),
    }),
  ),
];

/** A SCIM burst line: old lines name no target (they were all into OpenLDAP) and no instances (one). */
function scimLine(lines: readonly BenchLine[], store: string, target: string, instances: number) {
  return lines.find(
    (l) =>
      l.name === "scim-burst" &&
      l.store === store &&
      (l.target ?? "ldap") === target &&
      (num(l, "instances") ?? num(l, "serves") ?? 1) === instances,
  );
}

function scim(store: string, target: "ldap" | "none", instances = 1) {
  return (lines: readonly BenchLine[]): Figure | undefined => {
    const l = scimLine(lines, store, target, instances);
    const floor =
      target === "ldap" ? num(l, "floors.ldapts.perSecond") : num(l, "floors.bareInsert.perSecond");
    return figure(num(l, "pushesPerSecond"), {
      floor,
      others: {
        lost: num(l, "lost"),
        "ratio to scimmy": num(l, "ratios.vsScimmy"),
        "ratio to the bare endpoint provisioning": num(l, "ratios.vsBareProvision"),
        seconds: num(l, "seconds"),
      },
      detail:
        `${fmt(num(l, "users"))} pushes in ${fmt(num(l, "seconds"))} s, ${fmt(num(l, "lost"))} lost` +
        (target === "none" ? `; scimmy ${fmt(num(l, "floors.scimmy.perSecond"))}/s` : "") +
        (num(l, "floors.bareProvision.perSecond") === undefined
          ? ""
          : `; bare endpoint + store insert + the same directory writes ${fmt(num(l, "floors.bareProvision.perSecond"))}/s`),
    });
  };
}

const SCIM_WHAT = "Burst of 10,000 SCIM creates (32 clients)";
const scimRows: SummaryRow[] = [
  {
    id: "scim-burst/ldap/postgres",
    run: SCIM,
    what: `${SCIM_WHAT}, each provisioned into OpenLDAP before its answer, store on PostgreSQL`,
    goal: "≥ 500 pushes/s, nothing lost; ≥ 0.8× the floor (issue 19)",
    checks: [
      { op: ">=", limit: 500, unit: "pushes/s" },
      { figure: "lost", op: "<=", limit: 0, unit: "" },
      { figure: "ratio", op: ">=", limit: 0.8, unit: "×" },
    ],
    unit: "pushes/s",
    floor: "bare ldapts script, same writes, same concurrency",
    pick: scim("postgres", "ldap"),
  },
  {
    id: "scim-burst/ldap/sqlite",
    run: SCIM,
    what: "the same, store on SQLite",
    goal: "report, nothing lost; ≥ 0.8× the floor",
    checks: [
      { figure: "lost", op: "<=", limit: 0, unit: "" },
      { figure: "ratio", op: ">=", limit: 0.8, unit: "×" },
    ],
    unit: "pushes/s",
    floor: "bare ldapts script, same writes, same concurrency",
    pick: scim("sqlite", "ldap"),
  },
  {
    id: "scim-burst/ldap/postgres/2-serves",
    run: SCIM,
    what: "the same into OpenLDAP through 2 `tenure serve` instances, store on PostgreSQL",
    goal: "report, nothing lost (issue 19)",
    checks: [{ figure: "lost", op: "<=", limit: 0, unit: "" }],
    unit: "pushes/s",
    floor: "bare ldapts script, same writes, same concurrency",
    pick: scim("postgres", "ldap", 2),
  },
  ...DBS.map(
    ([store, label]): SummaryRow => ({
      id: `scim-burst/none/${store}`,
      run: SCIM,
      what: `${SCIM_WHAT} with no connected system (Tenure's own work), store on ${label}`,
      goal: "≥ 0.5× a bare Fastify + store insert; ahead of scimmy (issue 19)",
      checks: [
        { figure: "ratio", op: ">=", limit: 0.5, unit: "×" },
        { figure: "ratio to scimmy", op: ">=", limit: 1, unit: "×" },
        { figure: "lost", op: "<=", limit: 0, unit: "" },
      ],
      unit: "pushes/s",
      floor: "bare Fastify + store insert endpoint",
      pick: scim(store, "none"),
    }),
  ),
];

function workers(target: "ldap" | "postgres", k: number) {
  return (lines: readonly BenchLine[]): Figure | undefined => {
    const l = lineWith(lines, { name: "apply-workers" });
    const runs = (l?.[target] as { runs?: unknown } | undefined)?.runs;
    if (!Array.isArray(runs)) return undefined;
    const run = runs.find((r) => num(r, "workers") === k);
    const one = num(runs[0], "opsPerSecondFirstToLast");
    const value = num(run, "opsPerSecondFirstToLast");
    return figure(value, {
      floor: num(runs[0], "bareOpsPerSecond"),
      others: { scaling: value !== undefined && one ? value / one : undefined, dead: num(run, "dead") },
      detail: `${fmt(num(run, "seconds"))} s from queueing (${fmt(num(run, "opsPerSecond"))} ops/s), ${fmt(num(run, "dead"))} dead, ${fmt(num(run, "inTarget"))} in the target`,
    });
  };
}

const workerRows: SummaryRow[] = (["ldap", "postgres"] as const).flatMap((target) =>
  [1, 2, 4].map(
    (k): SummaryRow => ({
      id: `apply-workers/${target}/${k}`,
      run: WORKERS,
      what: `Apply throughput into ${target === "ldap" ? "OpenLDAP" : "a PostgreSQL table"}, ${k} \`tenure worker\` process${k === 1 ? "" : "es"} on one PostgreSQL store (3,000 creates, first to last success)`,
      goal: "report, with the scaling over 1 worker (issue 19)",
      unit: "ops/s",
      floor: "bare script, same writes, same concurrency",
      pick: workers(target, k),
    }),
  ),
);

const apiRows: SummaryRow[] = DBS.map(([database, label]) => ({
  id: `api-identity/${database}`,
  run: API,
  what: `\`GET /api/identities/{id}\` under autocannon (32 connections, 100,000 identities), ${label}`,
  goal: "report requests/s and p99 (issue 19)",
  unit: "req/s",
  floor: "bare Fastify, same row, same load",
  pick: (lines) => {
    const l = lineWith(lines, { name: "api-identity", database });
    return figure(num(l, "requestsPerSecond"), {
      floor: num(l, "floor.requestsPerSecond"),
      others: { p99: num(l, "p99Ms"), p50: num(l, "p50Ms") },
      detail: `p50 ${fmt(num(l, "p50Ms"))} ms, p99 ${fmt(num(l, "p99Ms"))} ms (floor p99 ${fmt(num(l, "floor.p99Ms"))} ms); ${fmt(num(l, "non2xx"))} non-2xx`,
    });
  },
}));

export const ENGINE_ROWS: readonly SummaryRow[] = [
  ...hrRows,
  ...auditRows,
  ...planRows,
  ...applyRows,
  ...ldapRows,
  ...leaverRows,
  ...scimRows,
  ...workerRows,
  ...apiRows,
];
