/**
 * Summary rows of the benches behind the console and the governance workflows: listings, access
 * requests, the console's first load, separation of duties, reviews, non-human identities, point in
 * time and the evidence pack (see bench/summary-types.ts for what a row is).
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
  nums,
  PG,
  p99Figure,
  type SummaryRow,
  scaled,
  sum,
} from "./summary-types.js";

const s = (ms: number | undefined) => scaled(ms, 1000);

const IDENTITIES: Invocation = { file: "identities-list.bench.ts", args: PG };
const IDENTITIES_1M: Invocation = {
  file: "identities-list.bench.ts",
  args: ["--identities", "1000000", ...PG],
};
const LIST_PAGES: Invocation = { file: "list-pages.bench.ts", args: PG };
const CONSOLE: Invocation = { file: "console.bench.ts", args: [] };
const SOD: Invocation = { file: "sod.bench.ts", args: PG };
const REVIEW: Invocation = { file: "review.bench.ts", args: PG };
const NHI: Invocation = { file: "nhi.bench.ts", args: PG };
const EVIDENCE: Invocation = { file: "evidence.bench.ts", args: PG };
const KEPT = "{dir}/ledger.db";
const POINT_IN_TIME: Invocation = {
  file: "point-in-time.bench.ts",
  setup: [["--events", "10000000", "--genesis", "no", "--keep", KEPT]],
  args: ["--events", "10100000", "--genesis", "no", "--keep", KEPT],
};

/** The slowest of `cases` in a line's `ms`, with the floor of the same case, and every case named. */
function slowest(l: BenchLine | undefined, cases?: readonly string[]): Figure | undefined {
  const ms = (l?.ms ?? {}) as Record<string, unknown>;
  const named = (cases ?? Object.keys(ms)).filter((c) => num(ms, c) !== undefined);
  if (named.length === 0) return undefined;
  const worst = named.reduce((a, b) => (num(ms, b)! > num(ms, a)! ? b : a));
  return figure(num(ms, worst), {
    floor: num(l, `floorMs.${worst}`),
    // Semicolons between the cases: some names hold a comma ("operations succeeded, deep").
    detail: `slowest: ${worst}; ${named.map((c) => `${c} ${num(ms, c)} ms`).join("; ")}`,
  });
}

const listRows: SummaryRow[] = [
  ...DBS.map(
    ([database, label]): SummaryRow => ({
      id: `identities-list/${database}`,
      run: IDENTITIES,
      what: `One page (100) of the identities listing at 100,000 identities, ${label}: the slowest of first, deep behind the cursor, by department, by search`,
      goal: "stays fast at 100,000",
      unit: "ms",
      ...(database === "sqlite" ? { floor: "bare better-sqlite3, same queries" } : {}),
      pick: (lines) =>
        slowest(lineWith(lines, { name: "identities-list", database, identities: 100_000 }), [
          "first",
          "deep",
          "department",
          "search",
        ]),
    }),
  ),
  ...DBS.map(
    ([database, label]): SummaryRow => ({
      id: `identity-search/${database}`,
      run: IDENTITIES,
      what: `Identity search over 100,000 identities, the worst case (one match), ${label}`,
      goal: "≤ 100 ms",
      checks: [{ op: "<=", limit: 100, unit: "ms" }],
      unit: "ms",
      ...(database === "sqlite" ? { floor: "bare better-sqlite3, same statements" } : {}),
      pick: (lines) => {
        const l = lineWith(lines, { name: "identities-list", database, identities: 100_000 });
        return figure(num(l, "ms.rare"), { floor: num(l, "floorMs.rare") });
      },
    }),
  ),
  ...DBS.map(
    ([database, label]): SummaryRow => ({
      id: `identities-list-1m/${database}`,
      run: IDENTITIES_1M,
      what: `Any identities page at 1,000,000 identities (first, deep, department, common and rare search), ${label}: the slowest`,
      goal: "≤ 300 ms",
      checks: [{ op: "<=", limit: 300, unit: "ms" }],
      unit: "ms",
      ...(database === "sqlite" ? { floor: "bare better-sqlite3, same queries" } : {}),
      pick: (lines) => slowest(lineWith(lines, { name: "identities-list", database, identities: 1_000_000 })),
    }),
  ),
  ...DBS.map(
    ([database, label]): SummaryRow => ({
      id: `list-pages/${database}`,
      run: LIST_PAGES,
      what: `Operations and audit-log pages at 1,000,000 rows each (first, deep, by state, a rare system; events first, deep, of one identity, of a rare action), ${label}: the slowest`,
      goal: "≤ 300 ms",
      checks: [{ op: "<=", limit: 300, unit: "ms" }],
      unit: "ms",
      pick: (lines) => slowest(lineWith(lines, { name: "list-pages", database })),
    }),
  ),
];

const accessRows: SummaryRow[] = DBS.flatMap(([store, label]): SummaryRow[] => {
  const run: Invocation = { file: "access-requests.bench.ts", args: ["--store", store, ...PG] };
  const line = (lines: readonly BenchLine[]) => lineWith(lines, { name: "access-requests", store });
  return [
    {
      id: `access-revocation/${store}`,
      run,
      what: `Access requests: end of a window → revocation read back from OpenLDAP and PostgreSQL, 1,000 assignments ending over 60 s (p99), store on ${label}`,
      goal: "p99 ≤ 5 s",
      checks: [{ op: "<=", limit: 5000, unit: "ms" }],
      unit: "ms",
      floor: "bare script sleeping until each end, removing and reading back (p99)",
      pick: (lines) => {
        const l = line(lines);
        return p99Figure(l, "revocation", {
          floor: "revocation.floor.p99ms",
          others: { unconfirmed: num(l, "revocation.unconfirmedPasses") },
          detail: `, max ${fmt(num(l, "revocation.maxMs"))} ms; ${fmt(num(l, "revocation.unconfirmedPasses"))} unconfirmed passes`,
        });
      },
    },
    {
      id: `access-auto-approve/${store}`,
      run,
      what: `Auto-approved elevation: submission → membership read back from both targets, 100 one after another (p99), store on ${label}`,
      goal: "p99 ≤ 1 s",
      checks: [{ op: "<=", limit: 1000, unit: "ms" }],
      unit: "ms",
      floor: "bare LDAP modify + GRANT + read back (p99)",
      pick: (lines) => {
        const l = line(lines);
        return p99Figure(l, "autoApprove", {
          floor: "autoApprove.floor.p99ms",
          detail: ` (floor ${fmt(num(l, "autoApprove.floor.p50ms"))} ms)`,
        });
      },
    },
    {
      id: `access-inbox/${store}`,
      run,
      what: `An approver's inbox of 10,000 open requests, \`GET /api/requests?view=waiting\`, first page of 100, store on ${label}`,
      goal: "≤ 100 ms",
      checks: [{ op: "<=", limit: 100, unit: "ms" }],
      unit: "ms",
      floor: "the bare SQL query",
      pick: (lines) => {
        const l = line(lines);
        return figure(num(l, "inbox.firstPageMs"), {
          floor: num(l, "inbox.floorFirstPageMs"),
          detail: `all 10,000 in pages of 500: ${fmt(num(l, "inbox.allPagesMs"))} ms`,
        });
      },
    },
  ];
});

const consoleLine = (lines: readonly BenchLine[]) => lineWith(lines, { name: "console-first-load" });
const consoleRows: SummaryRow[] = [
  {
    id: "console/first-load",
    run: CONSOLE,
    what: "Console: first load of the dashboard on the demo organisation, Chromium, loopback (median of 9)",
    goal: "≤ 1 s",
    checks: [{ op: "<=", limit: 1000, unit: "ms" }],
    unit: "ms",
    pick: (lines) => {
      const l = consoleLine(lines);
      return figure(num(l, "browserMs"), {
        detail: `the same requests by a bare fetch script ${fmt(num(l, "httpMs"))} ms`,
      });
    },
  },
  {
    id: "console/requests",
    run: CONSOLE,
    what: "Console: the first load's 5 requests by a bare fetch script (median of 30)",
    goal: "report",
    unit: "ms",
    floor: "a bare in-memory node:http server, same bytes",
    pick: (lines) => {
      const l = consoleLine(lines);
      return figure(num(l, "httpMs"), { floor: num(l, "floorMs") });
    },
  },
  {
    id: "console/first-page-js",
    run: CONSOLE,
    what: "Console: JavaScript for the first page, gzipped",
    goal: "≤ 300 kB",
    checks: [{ op: "<=", limit: 300, unit: "kB" }],
    unit: "kB",
    pick: (lines) => {
      const l = consoleLine(lines);
      return figure(num(l, "firstPageJs.gzippedKb"), {
        detail: `${fmt(num(l, "firstPageJs.files"))} file(s), ${fmt(num(l, "firstPageJs.bytes"))} bytes`,
      });
    },
  },
];

const sodRows: SummaryRow[] = DBS.flatMap(([database, label]): SummaryRow[] => {
  const line = (lines: readonly BenchLine[]) => lineWith(lines, { name: "sod", database });
  return [
    {
      id: `sod-full-scan/${database}`,
      run: SOD,
      what: `Separation of duties: full scan of 100,000 identities against 200 rules (the first; nothing changed beside it), ${label}`,
      goal: "≤ 2 s",
      checks: [
        { op: "<=", limit: 2, unit: "s" },
        { figure: "nothing changed", op: "<=", limit: 2, unit: "s" },
      ],
      unit: "s",
      pick: (lines) => {
        const l = line(lines);
        return figure(num(l, "firstScan.seconds"), {
          others: { "nothing changed": num(l, "unchangedScan.seconds") },
          detail: `nothing changed ${fmt(num(l, "unchangedScan.seconds"))} s (median of ${fmt(nums(l, "unchangedScan.runs")?.length)})`,
        });
      },
    },
    {
      id: `sod-evaluate/${database}`,
      run: SOD,
      what: `Separation of duties: read + evaluate everyone (\`findViolations\`), ${label}`,
      goal: "report",
      unit: "s",
      floor: "the rows a scan needs read bare + the rules checked bare",
      pick: (lines) => {
        const l = line(lines);
        return figure(num(l, "findViolations.seconds"), {
          samples: nums(l, "findViolations.runs"),
          floor: sum(
            num(l, "findViolations.floorReadSeconds"),
            num(l, "findViolations.floorEvaluateSeconds"),
          ),
          detail: `cold ${fmt(num(l, "findViolations.coldSeconds"))} s; floor: read ${fmt(num(l, "findViolations.floorReadSeconds"))} s + rules ${fmt(num(l, "findViolations.floorEvaluateSeconds"))} s`,
        });
      },
    },
    {
      id: `sod-one-identity/${database}`,
      run: SOD,
      what: `Separation of duties: scan of one changed identity, 1,000 random identities (p99), ${label}`,
      goal: "≤ 5 ms",
      checks: [
        { op: "<=", limit: 5, unit: "ms" },
        { figure: "p50", op: "<=", limit: 5, unit: "ms" },
      ],
      unit: "ms",
      floor: "the same rows read bare (p99)",
      pick: (lines) => {
        const l = line(lines);
        return p99Figure(l, "oneIdentity.scanSod", { floor: "oneIdentity.floorReadJoined.p99ms" });
      },
    },
    {
      id: `sod-request-check/${database}`,
      run: SOD,
      what: `Separation of duties: the check a request submission makes, 1,000 random people (p99), ${label}`,
      goal: "≤ 10 ms",
      checks: [
        { op: "<=", limit: 10, unit: "ms" },
        { figure: "p50", op: "<=", limit: 10, unit: "ms" },
      ],
      unit: "ms",
      floor: "the rows it reads, bare (p99)",
      pick: (lines) => {
        const l = line(lines);
        return p99Figure(l, "requestCheck.checkRequestSod", {
          floor: "requestCheck.floorRead.p99ms",
          detail: `; a submission ${fmt(num(l, "requestCheck.submitDifferenceP50ms"))} ms slower at p50 with the rules`,
        });
      },
    },
  ];
});

const reviewRows: SummaryRow[] = DBS.flatMap(([database, label]): SummaryRow[] => {
  const line = (lines: readonly BenchLine[]) => lineWith(lines, { name: "review", database });
  return [
    {
      id: `review-campaign/${database}`,
      run: REVIEW,
      what: `Access reviews: start a campaign over 1,000,000 assignments (100,000 identities × 10) with risk scores and peer statistics, ${label}`,
      goal: "≤ 10 s",
      checks: [{ op: "<=", limit: 10, unit: "s" }],
      unit: "s",
      floor: "the rows read bare + the items written bare",
      pick: (lines) => {
        const l = line(lines);
        const write = num(l, "floorWriteMs");
        return figure(s(num(l, "generateMs")), {
          floor: s(sum(num(l, "floorReadMs"), write ?? 0)),
          detail: `paged load ${fmt(num(l, "loadMs"))} ms; floors: read ${fmt(num(l, "floorReadMs"))} ms, write ${fmt(write)} ms; ${fmt(num(l, "items"))} items`,
        });
      },
    },
    {
      id: `review-page/${database}`,
      run: REVIEW,
      what: `Access reviews: a reviewer's first page of 50 pending items, riskiest first, 1,000 reviewers (p99), ${label}`,
      goal: "≤ 100 ms",
      checks: [
        { op: "<=", limit: 100, unit: "ms" },
        { figure: "p50", op: "<=", limit: 100, unit: "ms" },
      ],
      unit: "ms",
      floor: "the bare query (p99)",
      pick: (lines) => {
        const l = line(lines);
        return figure(num(l, "pageP99Ms"), {
          floor: num(l, "floorPageP99Ms"),
          others: { p50: num(l, "pageP50Ms") },
          detail: `p50 ${fmt(num(l, "pageP50Ms"))} ms (floor ${fmt(num(l, "floorPageP50Ms"))} ms)`,
        });
      },
    },
    {
      id: `review-load/${database}`,
      run: {
        file: "review-load.bench.ts",
        args: ["--identities", "100000", "--repeat", "1", ...(database === "postgres" ? PG : [])],
      },
      what: `Access reviews: a campaign's read and compute alone (\`loadReviewAccess\` of 100,000 identities: paged read, desired state, candidates, peer statistics; nothing written), ${label}`,
      goal: "report (the read side of the ≤ 10 s campaign)",
      unit: "s",
      floor: "the same facts read bare (old shape; the ordered array scan in the detail)",
      pick: (lines) => {
        const l = lineWith(lines, { name: "review-load", database });
        return figure(s(num(l, "loadMs")), {
          floor: s(num(l, "floorReadMs")),
          others: { cpu: s(num(l, "loadCpuMs")) },
          detail: `CPU ${fmt(num(l, "loadCpuMs"))} ms; ordered array scan ${fmt(num(l, "floorScanMs"))} ms`,
        });
      },
    },
  ];
});

const nhiRows: SummaryRow[] = DBS.flatMap(([database, label]): SummaryRow[] => [
  {
    id: `nhi-inventory/${database}`,
    run: NHI,
    what: `Non-human identities: config load + unchanged \`nhi sync\` + \`nhi-risks\` report over 100,000 NHIs, ${label}`,
    goal: "≤ 2 s",
    checks: [{ op: "<=", limit: 2, unit: "s" }],
    unit: "s",
    floor: "JSON.parse of the file + the unchanged sync's reads, bare + the report's reads and counts, bare",
    pick: (lines) => {
      const l = lineWith(lines, { name: "nhi-inventory", database });
      return figure(s(num(l, "ms.recurring")), {
        // `recurringFloorMs` from the bench when it prints it; before, the sum of the three floors.
        floor: s(
          num(l, "recurringFloorMs") ??
            sum(
              num(l, "floorMs.loadConfig"),
              num(l, "floorMs.resync"),
              num(l, "floorMs.report") ?? num(l, "floorMs.list"),
            ),
        ),
        detail: `config load ${fmt(num(l, "ms.loadConfig"))}, unchanged sync ${fmt(num(l, "ms.resync"))}, report ${fmt(num(l, "ms.report"))} ms; first sync ${fmt(num(l, "ms.firstSync"))} ms (${fmt(num(l, "ratio.firstSync"))}× its floor)`,
      });
    },
  },
  {
    id: `nhi-rotation/${database}`,
    run: NHI,
    what: `Rotation of 1,000 PostgreSQL logins with verification (a real SCRAM login with the new password), store on ${label}`,
    goal: "report throughput",
    unit: "rotations/s",
    floor: "bare ALTER ROLE + login",
    pick: (lines) => {
      const l = lineWith(lines, { name: "nhi-rotation", database });
      return figure(num(l, "perSecond"), { floor: num(l, "floorPerSecond") });
    },
  },
]);

const auditRows: SummaryRow[] = [
  {
    id: "point-in-time/sqlite",
    run: POINT_IN_TIME,
    what: "Point in time: `who-had --system erp --entitlement e3` at the head of a ledger of 10,000,000 events, from the latest access checkpoint 100,000 events back, SQLite",
    goal: "≤ 1 s",
    checks: [{ op: "<=", limit: 1, unit: "s" }],
    unit: "s",
    floor: "the answer from today's `accounts` table",
    pick: (lines) => {
      const l = lineWith(lines, { name: "point-in-time" });
      return figure(num(l, "whoHadCheckpointSeconds"), {
        floor: num(l, "tableFloorSeconds"),
        detail: `${fmt(num(l, "events"))} events, ${fmt(num(l, "replayedFromCheckpoint"))} replayed`,
      });
    },
  },
  ...DBS.map(
    ([database, label]): SummaryRow => ({
      id: `evidence/${database}`,
      run: EVIDENCE,
      what: `Evidence pack (\`tenure evidence\`) for a 10,000-person organisation over a quarter, ${label}`,
      goal: "≤ 30 s",
      checks: [{ op: "<=", limit: 30, unit: "s" }],
      unit: "s",
      pick: (lines) => {
        const l = lineWith(lines, { name: "evidence", database });
        return figure(num(l, "packSeconds"), {
          detail: `access-changes ${fmt(num(l, "reports.access-changes.seconds"))} s, ${fmt(num(l, "accessChangesToFloor"))}× its bare query; verification alone ${fmt(num(l, "verifySeconds"))} s; ${fmt(num(l, "ledgerEvents"))} events`,
        });
      },
    }),
  ),
];

export const CONSOLE_ROWS: readonly SummaryRow[] = [
  ...listRows,
  ...accessRows,
  ...consoleRows,
  ...sodRows,
  ...reviewRows,
  ...nhiRows,
  ...auditRows,
];
