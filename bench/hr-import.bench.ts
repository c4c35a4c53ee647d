/**
 * HR import as a user runs it: `tenure sync` of a synthetic HR CSV, as a process, its wall time and
 * peak RSS (/usr/bin/time) beside the floor in the same run — a bare csv-parse + better-sqlite3 script
 * (bench/hr-import-floor.ts) writing the same identities, source records and chained audit events.
 * Then the same command again on the unchanged file (nothing to do), and, with --big N, the peak RSS
 * of a first import of N rows (the goal: 1,000,000 rows in ≤ 1 GB), as the command runs by default
 * (the streamed import bounds V8's heap growth itself: src/shared/heap-growth.ts); --big-heap MB caps
 * the heap besides (NODE_OPTIONS=--max-old-space-size), to compare.
 * The command runs as users run it: `tenure` is the built dist/cli/main.js (`npm run build`), built here
 * first from this checkout (tsc, as the build does); run through tsx instead, each start spent about
 * 0.9 s transforming TypeScript that no installation runs. The floor is transpiled too (esbuild, types
 * stripped), so neither pays a transform.
 * Prints one JSON line per run.
 *   node --import tsx bench/hr-import.bench.ts [--rows 100000] [--big 1000000|0] [--big-heap 0] [--postgres URL]
 */

import { spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateOrganisation, toCsv } from "../src/demo/synthetic-org.js";
import { openStore } from "../src/store/database.js";
import { withPostgresSchema } from "./bench-postgres.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    big: { type: "string", default: "1000000" },
    "big-heap": { type: "string", default: "0" },
    postgres: { type: "string" },
  },
});
const rows = Number(values.rows);
const big = Number(values.big);
const bigHeap = Number(values["big-heap"]);
const today = "2026-11-21";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MAIN = path.join(ROOT, "dist/cli/main.js");
const FLOOR = path.join(ROOT, "node_modules/.cache/tenure-bench/hr-import-floor.mjs");
const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-bench-hr-"));

/** Writes an N-row export in slices of 100,000 (one seed each), so the bench itself stays small. */
async function writeCsv(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  const slice = 100_000;
  for (let start = 0; start < n; start += slice) {
    const workers = generateOrganisation({ size: Math.min(slice, n - start), today, seed: 42 + start });
    // Keys and emails unique across slices: each slice's people get a prefix of their own.
    for (const w of workers) {
      w.employeeId = `${start / slice}-${w.employeeId}`;
      if (w.managerId) w.managerId = `${start / slice}-${w.managerId}`;
      if (w.email) w.email = `s${start / slice}.${w.email}`;
    }
    const csv = toCsv(workers);
    const text = start === 0 ? csv : csv.slice(csv.indexOf("\n") + 1);
    if (!out.write(text)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

interface Measured {
  seconds: number;
  peakMB: number;
  stdout: string;
}

/** Builds the command (dist/, as `npm run build` does) and the floor from this checkout's source. */
function build(): void {
  const steps: [string, string[]][] = [
    [process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"]],
    [
      path.join(ROOT, "node_modules/.bin/esbuild"),
      [
        "bench/hr-import-floor.ts",
        "--format=esm",
        "--platform=node",
        "--log-level=warning",
        `--outfile=${FLOOR}`,
      ],
    ],
  ];
  for (const [command, args] of steps) {
    const r = spawnSync(command, args, { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${r.stdout}${r.stderr}`);
  }
}

/** Runs `node ARGS` under /usr/bin/time: wall seconds and peak RSS of the process. */
function timed(args: string[], env: NodeJS.ProcessEnv = {}): Measured {
  const r = spawnSync("/usr/bin/time", ["-f", "@@time %e %M", process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  const m = /@@time ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || m === null)
    throw new Error(`${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), peakMB: Math.round(Number(m[2]) / 1024), stdout: r.stdout };
}

async function initStore(database: string): Promise<void> {
  const store = await openStore(database, { baseDir: dir, create: true });
  await store.close();
}

async function configFor(name: string, database: string, csv: string): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(
    file,
    `database: ${JSON.stringify(database)}\nsources:\n  hr:\n    type: csv\n    path: ${JSON.stringify(csv)}\n`,
  );
  return file;
}

function sync(config: string, heapMB: number): Measured & { created: number; unchanged: number } {
  const m = timed([MAIN, "--config", config, "sync", "--json"], {
    TENURE_NOW: `${today}T10:00:00Z`,
    ...(heapMB > 0 ? { NODE_OPTIONS: `--max-old-space-size=${heapMB}` } : {}),
  });
  const result = (JSON.parse(m.stdout) as { results: Array<{ created: number; unchanged: number }> })
    .results[0]!;
  return { ...m, created: result.created, unchanged: result.unchanged };
}

const load = () => +os.loadavg()[0]!.toFixed(2);
const ratio = (a: number, b: number) => +(a / b).toFixed(2);

async function run(
  kind: string,
  database: (name: string) => Promise<string>,
  csv: string,
  n: number,
  floor: boolean,
  big = false,
  heapMB = 0,
) {
  const loadBefore = load();
  const db = await database("product");
  await initStore(db);
  const config = await configFor(`${kind}-${n}`, db, csv);
  const first = sync(config, heapMB);
  // The big run is a first import only: a replay reads the stored identities whole (see streamCsvSourceRun).
  const again = big ? null : sync(config, heapMB);
  const line: Record<string, unknown> = {
    name: "hr-import",
    database: kind,
    rows: n,
    ...(heapMB > 0 ? { heapCapMB: heapMB } : {}),
    created: first.created,
    seconds: first.seconds,
    peakMB: first.peakMB,
    ...(again && { againSeconds: again.seconds, againPeakMB: again.peakMB, againUnchanged: again.unchanged }),
  };
  if (floor) {
    const floorDb = path.join(dir, `floor-${n}.db`);
    await initStore(`sqlite:${floorDb}`);
    const bare = timed([FLOOR, csv, floorDb]);
    Object.assign(line, {
      floorSeconds: bare.seconds,
      floorPeakMB: bare.peakMB,
      timeRatio: ratio(first.seconds, bare.seconds),
      memoryRatio: ratio(first.peakMB, bare.peakMB),
    });
  }
  console.log(JSON.stringify({ ...line, loadAverage: [loadBefore, load()] }));
}

try {
  build();
  const csv = path.join(dir, "hr.csv");
  if (rows > 0) await writeCsv(csv, rows);
  if (rows > 0) {
    await run("sqlite", async (name) => `sqlite:${path.join(dir, `${name}-${rows}.db`)}`, csv, rows, true);
  }
  if (rows > 0 && values.postgres) {
    const url = values.postgres;
    await withPostgresSchema(url, "bench_import", (schemaUrl) =>
      run("postgres", async () => schemaUrl, csv, rows, false),
    );
  }
  if (big > 0) {
    const bigCsv = path.join(dir, "hr-big.csv");
    await writeCsv(bigCsv, big);
    await run(
      "sqlite",
      async (name) => `sqlite:${path.join(dir, `${name}-${big}.db`)}`,
      bigCsv,
      big,
      true,
      true,
      bigHeap,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
