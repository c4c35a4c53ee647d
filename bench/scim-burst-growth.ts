/**
 * Profiling aid for the SCIM burst (issue 19): waves of SCIM creates into ONE growing store (one
 * OpenLDAP target), printing per wave the pushes per second and, on PostgreSQL, the rows each table
 * was scanned for per push (pg_stat_user_tables) — a figure that grows with the store marks a
 * statement whose cost grows with it.
 *
 *   node --import tsx bench/scim-burst-growth.ts [--waves 5] [--wave 1000] [--store postgres|sqlite]
 *     [--postgres postgres://postgres@127.0.0.1:5432/scim19] [--target ldap|none] [--keep] [--vacuum]
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { startSlapd } from "../test/helpers/slapd.js";
import { startBenchServer } from "./bench-server.js";
import { addEveryoneGroup, scimBurstYaml } from "./scim-burst-config.js";
import { burst, postUser } from "./scim-floors.js";

const { values } = parseArgs({
  options: {
    waves: { type: "string", default: "5" },
    wave: { type: "string", default: "1000" },
    clients: { type: "string", default: "32" },
    store: { type: "string", default: "postgres" },
    target: { type: "string", default: "ldap" },
    postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/scim19" },
    // Keeps the PostgreSQL schema (to EXPLAIN the statements on the grown store afterwards).
    keep: { type: "boolean", default: false },
    // ANALYZE and VACUUM the store between waves, as autovacuum would (it is off on the CI server).
    vacuum: { type: "boolean", default: false },
  },
});
const waves = Number(values.waves);
const wave = Number(values.wave);
const clients = Number(values.clients);

const dir = path.join(os.tmpdir(), `tenure-scim-growth-${process.pid}`);
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const slapd = values.target === "ldap" ? await startSlapd() : undefined;
const schema = `scim_growth_${process.pid}`;
if (slapd !== undefined) await addEveryoneGroup(slapd);
const database =
  values.store === "postgres" ? `${values.postgres}?schema=${schema}` : `sqlite:${dir}/tenure.db`;
await writeFile(path.join(dir, "tenure.yaml"), scimBurstYaml(database, slapd, clients));
const bench = await startBenchServer(path.join(dir, "tenure.yaml"));
const url = `${bench.server.url.replace(/\/$/, "")}/scim/v2/Users`;

type Stat = { relname: string; seq_scan: number; seq_tup_read: number; idx_tup_fetch: number; blks: number };
async function stats(): Promise<Map<string, Stat>> {
  if (values.store !== "postgres") return new Map();
  await sql`select pg_stat_clear_snapshot()`.execute(bench.store.db);
  const { rows } =
    await sql<Stat>`select t.relname, t.seq_scan::int, t.seq_tup_read::bigint::float8 as seq_tup_read,
      coalesce(t.idx_tup_fetch,0)::float8 as idx_tup_fetch,
      (coalesce(io.heap_blks_hit,0)+coalesce(io.heap_blks_read,0)+coalesce(io.idx_blks_hit,0)+coalesce(io.idx_blks_read,0))::float8 as blks
    from pg_stat_user_tables t join pg_statio_user_tables io using (relid) where t.schemaname = ${schema}`.execute(
      bench.store.db,
    );
  return new Map(rows.map((r) => [r.relname, r]));
}

try {
  for (let w = 0; w < waves; w++) {
    // The stats collector flushes at most every 500 ms (PostgreSQL 15): wait before each snapshot.
    if (values.vacuum && values.store === "postgres") await sql`vacuum analyze`.execute(bench.store.db);
    await new Promise((r) => setTimeout(r, 1200));
    const before = await stats();
    const offset = w * wave;
    const result = await burst(wave, clients, (i) => postUser(url, bench.token, offset + i));
    await new Promise((r) => setTimeout(r, 1200));
    const after = await stats();
    const perPush: Record<string, string> = {};
    for (const [name, a] of after) {
      const b = before.get(name) ?? { seq_scan: 0, seq_tup_read: 0, idx_tup_fetch: 0, blks: 0 };
      const seqRows = (a.seq_tup_read - b.seq_tup_read) / wave;
      const idxRows = (a.idx_tup_fetch - b.idx_tup_fetch) / wave;
      const blks = (a.blks - b.blks) / wave;
      if (seqRows > 1 || idxRows > 5 || blks > 20)
        perPush[name] =
          `seq ${(a.seq_scan - b.seq_scan) / wave}x/${seqRows.toFixed(1)}r idx ${idxRows.toFixed(1)}r blks ${blks.toFixed(1)}`;
    }
    console.log(
      JSON.stringify({
        wave: w,
        storeSize: offset + wave,
        pushesPerSecond: result.perSecond,
        cpuMsPerPush: result.cpuMsPerRequest,
        answers: result.answers,
        load: os.loadavg()[0],
      }),
    );
    if (values.store === "postgres") console.log(perPush);
  }
} finally {
  await bench.close(values.store === "postgres" && !values.keep ? schema : undefined);
  if (values.keep) console.log({ keptSchema: schema });
  await slapd?.stop();
  await rm(dir, { recursive: true, force: true });
}
