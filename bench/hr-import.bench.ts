/**
 * Import + lifecycle of a synthetic HR CSV: read, data quality, plan, and write identities,
 * source records and audit events. Prints one JSON line per database.
 *   node --import tsx bench/hr-import.bench.ts [--rows 100000] [--postgres URL]
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { generateOrganisation, toCsv } from "../src/demo/synthetic-org.js";
import { syncSource } from "../src/engine/sync.js";
import { EMPTY_POLICY } from "../src/policy/config-schema.js";
import type { TenureConfig } from "../src/policy/config-types.js";
import { DEFAULT_LIFECYCLE } from "../src/policy/sections/lifecycle-section.js";
import { DEFAULT_SERVER } from "../src/policy/sections/server-section.js";
import { defaultCsvSource } from "../src/policy/sections/sources-section.js";
import { openStore } from "../src/store/database.js";
import { withPostgresSchema } from "./bench-postgres.js";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "100000" }, postgres: { type: "string" } },
});
const rows = Number(values.rows);
const today = "2026-11-21";
const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-bench-hr-"));
const csvPath = path.join(dir, "hr.csv");
await writeFile(csvPath, toCsv(generateOrganisation({ size: rows, today })));

const source = defaultCsvSource("hr", csvPath);

function configFor(database: string): TenureConfig {
  return {
    path: path.join(dir, "tenure.yaml"),
    baseDir: dir,
    database,
    sources: { hr: source },
    lifecycle: DEFAULT_LIFECYCLE,
    policy: EMPTY_POLICY,
    server: DEFAULT_SERVER,
  };
}

async function run(kind: string, database: string): Promise<void> {
  const config = configFor(database);
  const store = await openStore(database, { baseDir: dir });
  const now = new Date(`${today}T10:00:00Z`);
  try {
    const t0 = performance.now();
    const first = await syncSource(store, config, source, { now, actor: "bench" });
    const t1 = performance.now();
    const again = await syncSource(store, config, source, { now, actor: "bench" });
    const t2 = performance.now();
    console.log(
      JSON.stringify({
        name: "hr-import",
        database: kind,
        rows,
        created: first.created,
        auditEvents: first.auditEvents,
        findings: first.findings.length,
        importSeconds: +((t1 - t0) / 1000).toFixed(2),
        replaySeconds: +((t2 - t1) / 1000).toFixed(2),
        replayChanges: again.created + again.updated + again.terminated,
        rssMB: Math.round(process.memoryUsage().rss / 1048576),
      }),
    );
  } finally {
    await store.close();
  }
}

try {
  await run("sqlite", `sqlite:${path.join(dir, "tenure.db")}`);
  if (values.postgres) {
    await withPostgresSchema(values.postgres, "bench_import", (url) => run("postgres", url));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
