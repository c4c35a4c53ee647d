/**
 * Access reviews (issue 16) at organisation scale: 100,000 identities × 10 assignments (1,000,000
 * assignments of 200 entitlements over 5 systems, biased by department so peers mostly share access and
 * some is rare), one birthright role for everyone, accounts as reconcile stores them (last use reported
 * by 3 of the 5 systems, a few never used, 2 % with an entitlement added in the target), 1,000 managers.
 * Timed, per database:
 *
 * a. `loadReviewAccess` for everyone (paged read + desired state + candidates + peer statistics), cold;
 * b. `startCampaign` of everything with the manager as reviewer (a. again, then risk, reviewer choice and
 *    the items written with the event and notifications in one transaction) — the target: ≤ 10 s; its
 *    CPU time (this process: the JS and SQLite's work) is printed beside the wall time;
 * c. each manager's first page of 50 pending items, riskiest first (`reviewItemRepository.list`), over
 *    the 1,000 managers, p50 / p99 — the target: ≤ 100 ms.
 * Floors: the rows a. reads (identities, assignments, accounts) read by a bare script through the driver;
 * the same number of pack rows (review_item_packs: one per identity and reviewer) of the same width, the
 * campaign's first 2,000 cycled, written by a bare prepared insert in one transaction (SQLite); beside it
 * (`floorRowWriteMs`) the floor of the shape before packs: as many item rows as the campaign has items,
 * into review_items; the page's query (the reviewer's packs) run bare through the driver.
 *
 *   node --import tsx bench/review.bench.ts [--identities 100000] [--per 10] [--pages 1000]
 *     [--postgres URL] [--database sqlite|postgres|both] [--file PATH]
 *
 * `--file PATH` (SQLite): the filled store is kept at PATH (before any campaign) and, when PATH exists,
 * copied and reused instead of filled again (the same --identities and --per: the file is not checked).
 *
 * Prints one JSON line per database, and a summary on stderr.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import pg from "pg";
import { loadReviewAccess } from "../src/engine/review-access.js";
import { loadConfig } from "../src/policy/config-loader.js";
import type { TenureConfig } from "../src/policy/config-types.js";
import { openStore, type Store } from "../src/store/database.js";
import { itemToRow } from "../src/store/review-item-rows.js";
import { reviewItemRepository } from "../src/store/review-repository.js";
import { startCampaign } from "../src/workflows/review-generation.js";
import { withPostgresSchema } from "./bench-postgres.js";
import { percentile } from "./bench-stats.js";
import { DEFINITION, dataSet, fill, MANAGERS, now, policyYaml } from "./review-data.js";

const { values: args } = parseArgs({
  options: {
    identities: { type: "string", default: "100000" },
    per: { type: "string", default: "10" },
    pages: { type: "string", default: "1000" },
    postgres: { type: "string" },
    database: { type: "string", default: "both" },
    file: { type: "string" },
  },
});
const size = Number(args.identities);
const per = Number(args.per);
const pages = Number(args.pages);

const READ_SQL = [
  "select id, kind, source, source_key, state, attributes, employment from identities",
  "select * from assignments",
  "select identity_id, system, username, entitlements, managed_entitlements, last_used_at from accounts where identity_id is not null and enabled = 1 and vanished_at is null",
];
/** A reviewer's inbox: the packs of their fresh items, of every campaign. */
const PAGE_SQL = (p: string) => `select * from review_item_packs where reviewer_id = ${p}`;

interface Floors {
  read: number;
  page: (reviewer: string) => Promise<number>;
  /** PostgreSQL: the campaign's pack rows written bare (`postgresWriteFloor`); SQLite's is timed on its file. */
  writePacks?: (rows: number) => Promise<number>;
  close: () => Promise<void>;
}

function sqliteFloors(file: string): Floors {
  const db = new BetterSqlite3(file, { readonly: true });
  const t0 = performance.now();
  for (const q of READ_SQL) {
    for (const row of db.prepare(q).iterate() as Iterable<Record<string, string>>) {
      if (row.attributes !== undefined) JSON.parse(row.attributes);
      if (row.entitlements !== undefined) JSON.parse(row.entitlements);
    }
  }
  const read = performance.now() - t0;
  const page = db.prepare(PAGE_SQL("?"));
  return {
    read,
    page: async (reviewer) => {
      const s = performance.now();
      page.all(reviewer);
      return performance.now() - s;
    },
    close: async () => {
      db.close();
    },
  };
}

async function postgresFloors(url: string): Promise<Floors> {
  const u = new URL(url);
  const schema = u.searchParams.get("schema")!;
  u.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  await client.query(`set search_path to "${schema}"`);
  const t0 = performance.now();
  for (const q of READ_SQL) {
    const { rows } = await client.query(q);
    for (const row of rows) {
      if (row.attributes !== undefined) JSON.parse(row.attributes);
      if (row.entitlements !== undefined) JSON.parse(row.entitlements);
    }
  }
  const read = performance.now() - t0;
  return {
    read,
    page: async (reviewer) => {
      const s = performance.now();
      await client.query({ name: "page", text: PAGE_SQL("$1"), values: [reviewer] });
      return performance.now() - s;
    },
    writePacks: (rows) => postgresWriteFloor(client, rows),
    close: () => client.end(),
  };
}

/** The write floors' rows: `samples` as arrays of their columns, under campaign id `floor`. */
function floorCopies(samples: Array<Record<string, unknown>>): { cols: string[]; copies: unknown[][] } {
  const cols = Object.keys(samples[0]!);
  const campaign = cols.indexOf("campaign_id");
  const copies = samples.map((sample) => {
    const row = cols.map((c) => sample[c]);
    row[campaign] = "floor";
    return row;
  });
  return { cols, copies };
}

/** Pack rows per statement of the PostgreSQL write floor (9 parameters each). */
const FLOOR_ROWS = 500;

/**
 * PostgreSQL's write floor: `rows` pack rows, copies of the campaign's first 2,000 cycled (as
 * `sqliteWriteFloor` writes them), under campaign id `floor`, by a bare multi-row insert of FLOOR_ROWS
 * rows per statement through the driver, in one transaction; deleted afterwards.
 */
async function postgresWriteFloor(client: pg.Client, rows: number): Promise<number> {
  const { rows: samples } = await client.query<Record<string, unknown>>(
    "select * from review_item_packs where campaign_id <> 'floor' limit 2000",
  );
  const { cols, copies } = floorCopies(samples);
  const at = cols.indexOf("pack");
  const statement = (n: number) =>
    `insert into review_item_packs (${cols.join(",")}) values ${Array.from(
      { length: n },
      (_, r) => `(${cols.map((_, c) => `$${r * cols.length + c + 1}`).join(",")})`,
    ).join(",")}`;
  const full = statement(FLOOR_ROWS);
  const t0 = performance.now();
  await client.query("begin");
  for (let start = 0; start < rows; start += FLOOR_ROWS) {
    const n = Math.min(FLOOR_ROWS, rows - start);
    const values: unknown[] = [];
    for (let i = start; i < start + n; i++) {
      const row = copies[i % copies.length]!;
      row[at] = i;
      values.push(...row);
    }
    await client.query(
      n === FLOOR_ROWS ? { name: "floor-packs", text: full, values } : { text: statement(n), values },
    );
  }
  await client.query("commit");
  const ms = performance.now() - t0;
  await client.query("delete from review_item_packs where campaign_id = 'floor'");
  return ms;
}

/**
 * A bare write into `table`: `rows` rows, copies of `samples` cycled (same width and the same spread over
 * reviewers, identities and scores, so the indexes are written where the campaign writes them), under
 * campaign id `floor`, `key` numbering each; one prepared insert, one transaction (SQLite). Run after the
 * pages are timed; the rows are deleted afterwards.
 */
function sqliteWriteFloor(
  file: string,
  table: string,
  samples: Array<Record<string, unknown>>,
  rows: number,
  key: string,
): number {
  const db = new BetterSqlite3(file);
  const { cols, copies } = floorCopies(samples);
  const insert = db.prepare(
    `insert into ${table} (${cols.join(",")}) values (${cols.map(() => "?").join(",")})`,
  );
  const at = cols.indexOf(key);
  const t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const row = copies[i % copies.length]!;
      row[at] = key === "id" ? `floor-${i}` : i;
      insert.run(...row);
    }
  })();
  const ms = performance.now() - t0;
  db.exec(`delete from ${table} where campaign_id = 'floor'`);
  db.close();
  return ms;
}

async function measure(
  kind: string,
  store: Store,
  config: TenureConfig,
  floors: () => Promise<Floors>,
  file: string | null,
  filled: boolean,
) {
  let data: ReturnType<typeof dataSet> | null = dataSet(size, per);
  const t0 = performance.now();
  if (!filled) await fill(store, data);
  const fillMs = performance.now() - t0;
  // Only what is reported is kept: the generated data set (about 1 GB of objects) would be traced by every
  // full collection of the campaign, which a process starting one (tenure review start) does not hold.
  const { managerIds } = data;
  const counts = { assignments: data.assignments.length, accounts: data.accounts.length };
  data = null;
  if (!filled && file !== null && args.file !== undefined) {
    // Kept for the next run: the WAL checkpointed into the file first.
    await sql`pragma wal_checkpoint(truncate)`.execute(store.db);
    await copyFile(file, args.file);
  }
  const bare = await floors();

  const l0 = performance.now();
  // Counted and let go at once: the campaign's own load should not share the heap with this one.
  const candidates = (await loadReviewAccess(store.db, config, now, { withRoles: false })).subjects.reduce(
    (n, s) => n + s.candidates.length,
    0,
  );
  const loadMs = performance.now() - l0;

  const g0 = performance.now();
  // CPU time of this process beside the wall time: on a machine shared with other work the wall time
  // says more about the neighbours than about the campaign (SQLite's work is in this process).
  const c0 = process.cpuUsage();
  const started = await startCampaign(store.db, config, DEFINITION, {
    now,
    startedBy: "bench",
    kind: "ad-hoc",
  });
  const generateMs = performance.now() - g0;
  const cpu = process.cpuUsage(c0);
  const generateCpuMs = (cpu.user + cpu.system) / 1000;

  const times: number[] = [];
  const floorTimes: number[] = [];
  for (let i = 0; i < pages; i++) {
    const reviewerId = managerIds[i % managerIds.length]!;
    const s = performance.now();
    const page = await reviewItemRepository.list(store.db, { reviewerId, states: ["pending"], limit: 50 });
    times.push(performance.now() - s);
    if (page.length === 0 && i < MANAGERS) throw new Error(`manager ${reviewerId} has no items`);
    floorTimes.push(await bare.page(reviewerId));
  }
  let writeFloor: number | null = null;
  let rowWriteFloor: number | null = null;
  if (file !== null) {
    const reader = new BetterSqlite3(file, { readonly: true });
    const packs = reader.prepare("select * from review_item_packs limit 2000").all() as Array<
      Record<string, unknown>
    >;
    const packCount = (reader.prepare("select count(*) as n from review_item_packs").get() as { n: number })
      .n;
    reader.close();
    writeFloor = sqliteWriteFloor(file, "review_item_packs", packs, packCount, "pack");
    // The shape before packs: one row per item (the first packs' items, as rows).
    const ids = packs.flatMap((p) =>
      Array.from(
        { length: Number(p.item_count) },
        (_, n) => `${String(p.campaign_id)}.${Number(p.pack)}.${n}`,
      ),
    );
    const items = await reviewItemRepository.findMany(store.db, ids.slice(0, 10_000));
    rowWriteFloor = sqliteWriteFloor(
      file,
      "review_items",
      items.map((i) => itemToRow(i, null) as unknown as Record<string, unknown>),
      started.items,
      "id",
    );
  }
  if (bare.writePacks !== undefined) {
    const packCount = Number(
      (await sql<{ n: string }>`select count(*) as n from review_item_packs`.execute(store.db)).rows[0]!.n,
    );
    writeFloor = await bare.writePacks(packCount);
  }
  await bare.close();
  times.sort((a, b) => a - b);
  floorTimes.sort((a, b) => a - b);
  const result = {
    bench: "review",
    database: kind,
    identities: size,
    assignments: counts.assignments,
    accounts: counts.accounts,
    items: started.items,
    candidates,
    reviewers: started.byReviewer.size,
    // 2: the population read and scored in two threads (workflows/review-split.ts).
    threads: started.threads,
    fillMs: Math.round(fillMs),
    reusedFile: filled,
    loadMs: Math.round(loadMs),
    generateMs: Math.round(generateMs),
    generateCpuMs: Math.round(generateCpuMs),
    floorReadMs: Math.round(bare.read),
    floorWriteMs: writeFloor === null ? null : Math.round(writeFloor),
    floorRowWriteMs: rowWriteFloor === null ? null : Math.round(rowWriteFloor),
    generateTargetMs: 10_000,
    pageP50Ms: +percentile(times, 50).toFixed(2),
    pageP99Ms: +percentile(times, 99).toFixed(2),
    floorPageP50Ms: +percentile(floorTimes, 50).toFixed(2),
    floorPageP99Ms: +percentile(floorTimes, 99).toFixed(2),
    pageTargetMs: 100,
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  console.log(JSON.stringify(result));
  console.error(
    `${kind}: generate ${result.generateMs} ms, CPU ${result.generateCpuMs} ms (load ${result.loadMs} ms; floors: read ${result.floorReadMs} ms, write ${result.floorWriteMs ?? "n/a"} ms (as rows ${result.floorRowWriteMs ?? "n/a"} ms); ratio to read+write floor ${(result.generateMs / (result.floorReadMs + (result.floorWriteMs ?? 0))).toFixed(1)}×) for ${result.items} items; ` +
      `first page p50 ${result.pageP50Ms} ms / p99 ${result.pageP99Ms} ms (floor ${result.floorPageP50Ms} / ${result.floorPageP99Ms} ms)`,
  );
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-review-bench-"));
  try {
    await writeFile(path.join(dir, "tenure.yaml"), policyYaml());
    const config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
    if (args.database !== "postgres") {
      const file = path.join(dir, "bench.db");
      const reuse = args.file !== undefined && existsSync(args.file);
      if (reuse) await copyFile(args.file!, file);
      const store = await openStore(`sqlite:${file}`);
      try {
        await measure("sqlite", store, config, async () => sqliteFloors(file), file, reuse);
      } finally {
        await store.close();
      }
    }
    if (args.database !== "sqlite" && args.postgres !== undefined) {
      await withPostgresSchema(args.postgres, "bench_review", async (url) => {
        const store = await openStore(url);
        try {
          await measure("postgres", store, config, () => postgresFloors(url), null, false);
        } finally {
          await store.close();
        }
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
