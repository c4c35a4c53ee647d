/**
 * Identities listing at 100,000 identities (`GET /api/identities`, `tenure identities list`): a first
 * page, a page deep behind the cursor, a department-filtered page and a search, each the median of
 * repeated calls of identityRepository.list with a page of 100.
 *
 *   node --import tsx bench/identities-list.bench.ts [--identities N] [--postgres URL]
 *
 * Floor: on SQLite, the same queries by a bare better-sqlite3 script (one prepared statement, rows
 * parsed as the repository parses them), in the same run; `ratio` is the repository's time over it.
 * `inMemoryMs` is what the listing cost before it paged in SQL (every row after the cursor read, then
 * sliced), measured the same way, for the first page. Prints one JSON line per database.
 */

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import type { Identity } from "../src/domain/identity-types.js";
import { openStore, type Store } from "../src/store/database.js";
import { type IdentityFilter, identityRepository } from "../src/store/identity-repository.js";
import { benchIdentities } from "./bench-identities.js";
import { withPostgresStore } from "./bench-postgres.js";

const { values: args } = parseArgs({
  options: { identities: { type: "string", default: "100000" }, postgres: { type: "string" } },
});
const total = Number(args.identities);
const PAGE = 100;
async function median(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  await fn(); // warm the caches and prepared statements
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 1000) / 1000;
}

async function measure(store: Store, all: readonly Identity[]) {
  const ids = all.map((i) => i.id).sort();
  const deep = ids[Math.floor(ids.length * 0.9)]!;
  const cases: Record<string, IdentityFilter> = {
    first: { limit: PAGE },
    deep: { after: deep, limit: PAGE },
    department: { department: "Legal", after: ids[Math.floor(ids.length / 2)]!, limit: PAGE },
    search: { search: "müller", limit: PAGE },
    // One match: the scan reads the whole table to fill (not) its page — the worst case of a search.
    rare: { search: "person77777@", limit: PAGE },
  };
  const ms: Record<string, number> = {};
  for (const [name, filter] of Object.entries(cases)) {
    const page = await identityRepository.list(store.db, filter);
    const expected = name === "rare" ? 1 : PAGE;
    if (page.length !== expected) throw new Error(`${name}: ${page.length} identities, expected ${expected}`);
    ms[name] = await median(30, () => identityRepository.list(store.db, filter));
  }
  // Before: every row after the cursor read and parsed, then the page sliced off in memory.
  const inMemoryMs = await median(3, async () =>
    (await identityRepository.list(store.db, {})).slice(0, PAGE),
  );
  return { ms, inMemoryMs, cases, ids };
}

function sqliteFloor(file: string, cases: Record<string, IdentityFilter>): Record<string, number> {
  const db = new BetterSqlite3(file, { readonly: true });
  const parse = (rows: unknown[]) =>
    rows.map((r) => {
      const row = r as { attributes: string };
      return { ...row, attributes: JSON.parse(row.attributes) };
    });
  const statements = {
    first: () => parse(db.prepare("select * from identities order by id limit ?").all(PAGE)),
    deep: () =>
      parse(
        db.prepare("select * from identities where id > ? order by id limit ?").all(cases.deep!.after, PAGE),
      ),
    department: () =>
      parse(
        db
          .prepare("select * from identities where department = ? and id > ? order by id limit ?")
          .all("Legal", cases.department!.after, PAGE),
      ),
    search: () =>
      parse(
        db
          .prepare("select * from identities where search_text like ? escape '\\' order by id limit ?")
          .all("%müller%", PAGE),
      ),
    // The same two statements the repository runs for it: the probe of the trigram index, then the page.
    rare: () => {
      db.prepare(
        "select count(*) as n from (select 1 from identities_search where identities_search match ? limit 5000)",
      ).get('"person77777@"');
      return parse(
        db
          .prepare(
            "select * from identities where search_text like ? escape '\\' and identities.rowid in (select rowid from identities_search where identities_search match ?) order by id limit ?",
          )
          .all("%person77777@%", '"person77777@"', PAGE),
      );
    },
  };
  const out: Record<string, number> = {};
  for (const [name, fn] of Object.entries(statements)) {
    fn();
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      fn();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    out[name] = Math.round(times[15]! * 1000) / 1000;
  }
  db.close();
  return out;
}

async function main(): Promise<void> {
  const all = benchIdentities(total);
  // SQLite, in a file as a deployment has it.
  const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-bench-identities-"));
  const file = path.join(dir, "tenure.db");
  try {
    const store = await openStore(`sqlite:${file}`);
    await identityRepository.upsertMany(store.db, all);
    const { ms, inMemoryMs, cases } = await measure(store, all);
    await store.close();
    const floor = sqliteFloor(file, cases);
    const ratio = Object.fromEntries(
      Object.keys(ms).map((k) => [k, Math.round((ms[k]! / floor[k]!) * 10) / 10]),
    );
    console.log(
      JSON.stringify({
        name: "identities-list",
        database: "sqlite",
        identities: total,
        page: PAGE,
        ms,
        floorMs: floor,
        ratio,
        inMemoryMs,
        loadAverage: os.loadavg()[0],
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (args.postgres === undefined) return;
  const { ms, inMemoryMs } = await withPostgresStore(args.postgres, "bench_identities", async (store) => {
    await identityRepository.upsertMany(store.db, all);
    await sql`analyze identities`.execute(store.db);
    return measure(store, all);
  });
  console.log(
    JSON.stringify({
      name: "identities-list",
      database: "postgres",
      identities: total,
      page: PAGE,
      ms,
      inMemoryMs,
      loadAverage: os.loadavg()[0],
    }),
  );
}

await main();
