/**
 * The console's other list pages at a million rows: operations (`GET /api/operations`, by state and
 * system, in queue order) and the audit log (`GET /api/audit/events`, by action and subject, in seq
 * order), each a first page, a page deep behind the cursor, and filters matching many and few rows;
 * the median of 15 calls of the repository function the route calls, with a page of 100 (issue 13:
 * under 300 ms at 1,000,000 rows).
 *
 *   node --import tsx bench/list-pages.bench.ts [--rows N] [--postgres URL]
 *
 * Rows are written straight into the tables (not through apply or the ledger: only reading is measured).
 * Of the operations 97% are succeeded, 2% pending, 0.9% failed and 1 in 1,000 dead; one system in 1,000
 * is rare. Of the events one action in 100,000 is rare. Prints one JSON line per database.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { queryEvents } from "../src/audit/ledger.js";
import { openStore, type Store } from "../src/store/database.js";
import { operationRepository } from "../src/store/operation-repository.js";
import { withPostgresStore } from "./bench-postgres.js";

const { values: args } = parseArgs({
  options: { rows: { type: "string", default: "1000000" }, postgres: { type: "string" } },
});
const total = Number(args.rows);
const PAGE = 100;
const AT = "2026-12-01T09:00:00.000Z";
const CHUNK = 500;

function stateOf(n: number): string {
  if (n % 1000 === 999) return "dead";
  const r = n % 100;
  return r < 97 ? "succeeded" : r < 99 ? "pending" : "failed";
}

function operationRow(n: number) {
  return {
    id: `op-${String(n).padStart(8, "0")}`,
    system: n % 1000 === 500 ? "rare-app" : ["wiki", "payroll", "deploy", "crm"][n % 4]!,
    kind: "grant",
    identity_id: `id-${n % 50_000}`,
    username: `user${n % 50_000}`,
    native_id: null,
    entitlement: "readers",
    payload: "{}",
    lineage: "[]",
    reason: "bench",
    idempotency_key: `k-${n}`,
    state: stateOf(n),
    attempts: 1,
    max_attempts: 5,
    next_attempt_at: AT,
    last_error: null,
    claimed_by: null,
    claim_expires_at: null,
    claim_host: null,
    claim_pid: null,
    seq: n,
    created_at: AT,
    updated_at: AT,
    finished_at: null,
    trace_id: null,
  };
}

function eventRow(n: number) {
  return {
    seq: n + 1,
    time: AT,
    actor: "bench",
    action:
      n % 100_000 === 7 ? "mass-change.stopped" : n % 3 === 0 ? "identity.updated" : "operation.succeeded",
    subject: `id-${n % 50_000}`,
    details: '{"bench":true}',
    prev_hash: "0".repeat(64),
    hash: "0".repeat(64),
  };
}

async function fill(store: Store): Promise<void> {
  for (let start = 0; start < total; start += CHUNK) {
    const n = Math.min(CHUNK, total - start);
    const ops = Array.from({ length: n }, (_, i) => operationRow(start + i));
    const events = Array.from({ length: n }, (_, i) => eventRow(start + i));
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto("operations").values(ops).execute();
      await trx.insertInto("audit_events").values(events).execute();
    });
  }
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)]! * 1000) / 1000;
}

async function measure(store: Store): Promise<Record<string, number>> {
  const deepOp = {
    seq: Math.floor(total * 0.9),
    id: `op-${String(Math.floor(total * 0.9)).padStart(8, "0")}`,
  };
  const cases: Record<string, () => Promise<unknown[]>> = {
    "operations first": () => operationRepository.list(store.db, { limit: PAGE }),
    "operations deep": () => operationRepository.list(store.db, { after: deepOp, limit: PAGE }),
    "operations succeeded, deep": () =>
      operationRepository.list(store.db, { state: "succeeded", after: deepOp, limit: PAGE }),
    "operations dead (1 in 1,000)": () => operationRepository.list(store.db, { state: "dead", limit: PAGE }),
    "operations of a rare system": () =>
      operationRepository.list(store.db, { system: "rare-app", limit: PAGE }),
    "events first": () => queryEvents(store.db, { limit: PAGE }),
    "events deep": () => queryEvents(store.db, { afterSeq: Math.floor(total * 0.9), limit: PAGE }),
    "events of one identity": () => queryEvents(store.db, { subject: "id-777", limit: PAGE }),
    "events of a rare action": () => queryEvents(store.db, { action: "mass-change.stopped", limit: PAGE }),
  };
  const ms: Record<string, number> = {};
  for (const [name, fn] of Object.entries(cases)) {
    if ((await fn()).length === 0) throw new Error(`${name}: no rows`);
    ms[name] = await median(15, fn);
  }
  return ms;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-bench-lists-"));
  try {
    const store = await openStore(`sqlite:${path.join(dir, "tenure.db")}`);
    await fill(store);
    const ms = await measure(store);
    await store.close();
    console.log(
      JSON.stringify({
        name: "list-pages",
        database: "sqlite",
        rows: total,
        page: PAGE,
        ms,
        loadAverage: os.loadavg()[0],
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (args.postgres === undefined) return;
  const ms = await withPostgresStore(args.postgres, "bench_lists", async (store) => {
    await fill(store);
    await sql`analyze`.execute(store.db);
    return measure(store);
  });
  console.log(
    JSON.stringify({
      name: "list-pages",
      database: "postgres",
      rows: total,
      page: PAGE,
      ms,
      loadAverage: os.loadavg()[0],
    }),
  );
}

await main();
