/**
 * The read-and-compute side of a review campaign (issue 16), without writing anything: over the data set
 * of bench/review.bench.ts (same generator, copied), times
 *
 * a. `loadReviewAccess` of everyone (paged read + desired state + candidates + peer statistics);
 * b. the bare read floors: `floorReadMs` as bench/review.bench.ts reads the same facts (identities,
 *    assignments, accounts, whole tables, JSON of attributes and entitlements parsed), and
 *    `floorScanMs` the same facts as `.raw()` arrays ordered by identity (what an ordered merge reads).
 *
 * SQLite, or PostgreSQL with `--postgres URL` (a fresh schema, dropped after). `--file PATH` (SQLite): keep the filled store there and reuse it on the next run (skips the fill).
 *
 *   node --import tsx bench/review-load.bench.ts [--identities 20000] [--file /tmp/x.db] [--repeat 3]
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { loadReviewAccess } from "../src/engine/review-access.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { openStore, type Store } from "../src/store/database.js";
import { withPostgresSchema } from "./bench-postgres.js";
import { dataSet, fill, now, policyYaml } from "./review-data.js";

const { values: args } = parseArgs({
  options: {
    identities: { type: "string", default: "20000" },
    per: { type: "string", default: "10" },
    file: { type: "string" },
    repeat: { type: "string", default: "3" },
    postgres: { type: "string" },
  },
});
const size = Number(args.identities);
const per = Number(args.per);

const READ_SQL = [
  "select id, kind, source, source_key, state, attributes, employment from identities",
  "select * from assignments",
  "select identity_id, system, username, entitlements, managed_entitlements, last_used_at from accounts where identity_id is not null and enabled = 1 and vanished_at is null",
];
/** The same facts, ordered by identity, as arrays (what a merge of three ordered scans reads). */
const SCAN_SQL = [
  "select id, kind, source, source_key, state, attributes, employment from identities where state not in ('terminated', 'deleted') order by id",
  "select identity_id, id, role, system, entitlement, valid_from, valid_until, reason, approved_by, revoked_at, request_id, ended_at, employment from assignments order by identity_id",
  "select identity_id, system, username, entitlements, managed_entitlements, last_used_at from accounts where identity_id is not null and enabled = 1 and vanished_at is null order by identity_id",
];

function timed(run: () => void): number {
  const t0 = performance.now();
  run();
  return performance.now() - t0;
}

function floors(file: string): { floorReadMs: number; floorScanMs: number } {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const floorReadMs = timed(() => {
      for (const q of READ_SQL) {
        for (const row of db.prepare(q).iterate() as Iterable<Record<string, string>>) {
          if (row.attributes !== undefined) JSON.parse(row.attributes);
          if (row.entitlements !== undefined) JSON.parse(row.entitlements);
        }
      }
    });
    const floorScanMs = timed(() => {
      for (const [n, q] of SCAN_SQL.entries()) {
        for (const row of db.prepare(q).raw().iterate() as Iterable<string[]>) {
          if (n === 0) JSON.parse(row[5]!);
          if (n === 2) JSON.parse(row[3]!);
        }
      }
    });
    return { floorReadMs, floorScanMs };
  } finally {
    db.close();
  }
}

async function pgFloors(url: string): Promise<{ floorReadMs: number; floorScanMs: number }> {
  const u = new URL(url);
  const schema = u.searchParams.get("schema")!;
  u.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`set search_path to "${schema}"`);
    let t0 = performance.now();
    for (const q of READ_SQL) {
      for (const row of (await client.query(q)).rows) {
        if (row.attributes !== undefined) JSON.parse(row.attributes);
        if (row.entitlements !== undefined) JSON.parse(row.entitlements);
      }
    }
    const floorReadMs = performance.now() - t0;
    t0 = performance.now();
    for (const [n, q] of SCAN_SQL.entries()) {
      for (const row of (await client.query({ text: q, rowMode: "array" })).rows as string[][]) {
        if (n === 0) JSON.parse(row[5]!);
        if (n === 2) JSON.parse(row[3]!);
      }
    }
    return { floorReadMs, floorScanMs: performance.now() - t0 };
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-review-load-"));
  try {
    await writeFile(path.join(dir, "tenure.yaml"), policyYaml());
    const config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
    const run = async (
      url: string,
      fresh: boolean,
      measureFloors: () => Promise<{ floorReadMs: number; floorScanMs: number }>,
    ) => {
      const store: Store = await openStore(url);
      try {
        if (fresh) await fill(store, dataSet(size, per));
        for (let r = 0; r < Number(args.repeat); r++) {
          const f = await measureFloors();
          const l0 = performance.now();
          const c0 = process.cpuUsage();
          const data = await loadReviewAccess(store.db, config, now, { withRoles: false });
          const loadMs = performance.now() - l0;
          const cpu = process.cpuUsage(c0);
          const candidates = data.subjects.reduce((n, s) => n + s.candidates.length, 0);
          const result = {
            bench: "review-load",
            database: args.postgres === undefined ? "sqlite" : "postgres",
            identities: size,
            candidates,
            loadMs: Math.round(loadMs),
            loadCpuMs: Math.round((cpu.user + cpu.system) / 1000),
            floorReadMs: Math.round(f.floorReadMs),
            floorScanMs: Math.round(f.floorScanMs),
          };
          console.log(JSON.stringify(result));
        }
      } finally {
        await store.close();
      }
    };
    if (args.postgres !== undefined) {
      await withPostgresSchema(args.postgres, "bench_review_load", (url) =>
        run(url, true, () => pgFloors(url)),
      );
    } else {
      const file = args.file ?? path.join(dir, "bench.db");
      await run(`sqlite:${file}`, !existsSync(file), async () => floors(file));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
