/**
 * Apply throughput against the `sql` connector on SQLite: the demo's three applications for a
 * synthetic organisation, provisioned from nothing (plan, queue, apply), then a second run with
 * nothing to do. Prints one JSON line.
 *   node --import tsx bench/apply.bench.ts [--people 2000]
 */
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createDemoWorkspace } from "../src/demo/demo-workspace.js";
import { runSync } from "../src/engine/run-sync.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { openStore } from "../src/store/database.js";

const { values } = parseArgs({
  options: { people: { type: "string", default: "2000" }, postgres: { type: "string" } },
});
const people = Number(values.people);
const dir = path.join(os.tmpdir(), `tenure-bench-apply-${process.pid}`);
const today = "2026-11-21";
try {
  const ws = await createDemoWorkspace(dir, today, people);
  const config = await loadConfig(ws.configPath);
  const store = await openStore(config.database, { baseDir: config.baseDir });
  const now = new Date(`${today}T10:00:00Z`);
  try {
    const t0 = performance.now();
    const first = await runSync(store, config, { now, actor: "bench" });
    const t1 = performance.now();
    const second = await runSync(store, config, { now, actor: "bench" });
    const t2 = performance.now();
    const applied = first.provisioned?.applied?.summary;
    const ops = applied?.succeeded ?? 0;
    console.log(
      JSON.stringify({
        name: "apply-sql-sqlite",
        people,
        systems: Object.keys(config.policy.systems).length,
        operations: ops,
        dead: applied?.dead ?? 0,
        firstRunSeconds: +((t1 - t0) / 1000).toFixed(2),
        operationsPerMinute: Math.round((ops / ((t1 - t0) / 1000)) * 60),
        secondRunSeconds: +((t2 - t1) / 1000).toFixed(2),
        secondRunOperations: second.provisioned?.plan.operations.length ?? 0,
        rssMB: Math.round(process.memoryUsage().rss / 1048576),
      }),
    );
  } finally {
    await store.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
