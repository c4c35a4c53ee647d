/**
 * `npm run bench [-- FILTER…] [--runs N] [--no-write] [--render] [--list]`: runs the benchmarks behind
 * the summary table of docs/performance.md (bench/summary-rows.ts) and regenerates it (issue 19 item 5).
 *
 * - FILTER: only the rows whose id or bench file contains it (any of several); none: every row.
 * - Each bench invocation the chosen rows need runs N times (default 1), each in a process of its own (so
 *   one's memory does not colour another's); its output is echoed as it comes, and its JSON lines read.
 * - Per row: median and spread (min – max) over every sample of the runs, the floor and the ratio, with
 *   the machine, the load average at the start and the end, the date and the commit; merged by row id
 *   into bench/results.json (a run of one bench keeps the other rows), then the table between
 *   `<!-- bench-summary:begin -->` and `<!-- bench-summary:end -->` in docs/performance.md rendered again.
 * - `--no-write`: print, store nothing. `--render`: run nothing, render the table from results.json.
 *   `--list`: the rows and their commands.
 *
 * PostgreSQL: `{postgres}` in a row's arguments is TENURE_BENCH_POSTGRES, else
 * postgres://postgres@127.0.0.1:5432/test.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { renderTable, replaceBetweenMarkers } from "./summary-render.js";
import {
  aggregate,
  formatResults,
  type Machine,
  mergeResults,
  type Results,
  type RunContext,
} from "./summary-results.js";
import { SUMMARY_ROWS } from "./summary-rows.js";
import { type BenchLine, commandOf, type Figure, type Invocation, type SummaryRow } from "./summary-types.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(here, "results.json");
const DOC = path.join(here, "..", "docs", "performance.md");
const postgres = process.env.TENURE_BENCH_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";

const { values: opts, positionals: filters } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "1" },
    "no-write": { type: "boolean", default: false },
    render: { type: "boolean", default: false },
    list: { type: "boolean", default: false },
  },
});
const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs: a whole number from 1");

const key = (run: Invocation) => JSON.stringify([run.file, run.setup ?? [], run.args]);
const chosen = SUMMARY_ROWS.filter(
  (row) => filters.length === 0 || filters.some((f) => row.id.includes(f) || row.run.file.includes(f)),
);

function readResults(): Results {
  return existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, "utf8")) as Results) : {};
}

function render(results: Results): void {
  const doc = readFileSync(DOC, "utf8");
  writeFileSync(DOC, replaceBetweenMarkers(doc, renderTable(SUMMARY_ROWS, results)));
  console.error(`rendered the summary table in ${path.relative(process.cwd(), DOC)}`);
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? "cpu",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

/** The short commit, and whether src/ or bench/ had changes not committed (figures then say so). */
function commit(): { commit?: string; uncommitted?: boolean } {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: here, encoding: "utf8" });
  if (head.status !== 0) return {};
  const status = spawnSync("git", ["status", "--porcelain", "--", "src", "bench", "web/src"], {
    cwd: here,
    encoding: "utf8",
  });
  return { commit: head.stdout.trim(), uncommitted: status.stdout.trim() !== "" };
}

const load1 = () => Number(os.loadavg()[0]!.toFixed(2));

/** One bench process: its stdout echoed line by line, its JSON lines returned; stderr passes through. */
function runBench(file: string, args: readonly string[]): Promise<{ ok: boolean; lines: BenchLine[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, file), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: BenchLine[] = [];
    createInterface({ input: child.stdout }).on("line", (line) => {
      process.stdout.write(`${line}\n`);
      if (!line.trimStart().startsWith("{")) return;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
          lines.push(parsed as BenchLine);
      } catch {
        // Not a figure: some benches print other text that starts with a brace.
      }
    });
    child.on("close", (code) => resolve({ ok: code === 0, lines }));
  });
}

/** A row's picker on one run's lines; a picker that throws is a bench whose output changed: not measured. */
function pick(row: SummaryRow, lines: readonly BenchLine[]): Figure | undefined {
  try {
    return row.pick(lines);
  } catch (error) {
    console.error(`${row.id}: could not read its figure (${(error as Error).message})`);
    return undefined;
  }
}

async function measure(): Promise<{ fresh: Results; failed: number }> {
  const invocations = new Map<string, { run: Invocation; rows: SummaryRow[] }>();
  for (const row of SUMMARY_ROWS) {
    if (!chosen.some((c) => key(c.run) === key(row.run))) continue;
    const entry = invocations.get(key(row.run)) ?? { run: row.run, rows: [] };
    entry.rows.push(row);
    invocations.set(key(row.run), entry);
  }
  const described = machine();
  console.error(
    `machine: ${described.cpus} × ${described.model}, ${described.memoryGiB} GiB, node ${described.node}; ` +
      `${invocations.size} bench invocation(s) × ${runs} run(s)`,
  );
  const fresh: Results = {};
  let failed = 0;
  for (const { run, rows } of invocations.values()) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-bench-run-"));
    const fill = (args: readonly string[]) =>
      args.map((a) => a.replaceAll("{postgres}", postgres).replaceAll("{dir}", dir));
    try {
      const start = load1();
      const figures = new Map<string, Figure[]>(rows.map((r) => [r.id, []]));
      let setupOk = true;
      for (const step of run.setup ?? []) {
        console.error(`\n# ${run.file} (set-up) ${step.join(" ")}`);
        setupOk &&= (await runBench(run.file, fill(step))).ok;
      }
      for (let n = 1; setupOk && n <= runs; n++) {
        console.error(`\n# ${commandOf(run)} (run ${n} of ${runs}; load ${load1()})`);
        const out = await runBench(run.file, fill(run.args));
        if (!out.ok) failed++;
        for (const row of rows) {
          const f = pick(row, out.lines);
          if (f !== undefined) figures.get(row.id)!.push(f);
        }
      }
      if (!setupOk) failed++;
      const context: RunContext = {
        date: new Date().toISOString().slice(0, 10),
        ...commit(),
        machine: described,
        load: { start, end: load1() },
        runs,
      };
      for (const row of rows) {
        const result = aggregate(row, figures.get(row.id)!, context);
        if (result === undefined)
          console.error(`${row.id}: the bench printed no figure for it (not measured)`);
        else fresh[row.id] = result;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { fresh, failed };
}

if (opts.list) {
  for (const row of chosen) console.log(`${row.id}\t${commandOf(row.run)}`);
} else if (opts.render) {
  render(readResults());
} else {
  const covered = new Set(SUMMARY_ROWS.map((r) => r.run.file));
  for (const f of readdirSync(here).filter((f) => f.endsWith(".bench.ts") && !covered.has(f)))
    console.error(`warning: bench/${f} has no row in bench/summary-rows*.ts, so it is not run`);
  if (chosen.length === 0) throw new Error(`no row matches ${filters.join(", ")} (npm run bench -- --list)`);
  const { fresh, failed } = await measure();
  for (const [id, r] of Object.entries(fresh))
    console.error(
      `${id}: median ${r.median} ${r.unit} (${r.min} – ${r.max})${r.ratio === undefined ? "" : `, ${r.ratio}× its floor`}`,
    );
  if (!opts["no-write"]) {
    const merged = mergeResults(
      readResults(),
      fresh,
      SUMMARY_ROWS.map((r) => r.id),
    );
    writeFileSync(RESULTS, formatResults(merged));
    render(merged);
  }
  process.exitCode = failed === 0 ? 0 : 1;
}
