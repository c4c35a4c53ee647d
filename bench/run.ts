/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process (so one's memory does not
 * colour another's), passing --postgres when PostgreSQL answers, and prints their JSON lines.
 * Record the figures in docs/performance.md with the machine they came from.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const postgres = process.env.TENURE_BENCH_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts") && (only === undefined || f.includes(only)))
  .sort();

console.error(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
let failed = 0;
for (const f of files) {
  console.error(`\n# ${f}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(here, f), "--postgres", postgres], {
    stdio: "inherit",
  });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
