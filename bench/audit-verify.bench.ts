/**
 * Audit ledger benchmark: fills a ledger with N events through appendEvents (in batches, as
 * the sync engine writes them), then times verifyLedger over the whole chain.
 *
 *   node --import tsx bench/audit-verify.bench.ts [--events N] [--batch N] [--postgres URL]
 *
 * Without --postgres it uses a file-backed SQLite database in os.tmpdir(); with it, a fresh
 * schema in that PostgreSQL database. Either is removed afterwards. Prints one JSON line:
 * { name, database, events, appendSeconds, verifySeconds, verifyCpuSeconds, cpus, loadAverage,
 * rssMB } (rssMB is the peak; the load average tells whether other jobs shared the machine).
 * Target (issue): verifying 1,000,000 events in ≤ 3 s on SQLite.
 */

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type AuditEventInput, appendEvents, verifyLedger } from "../src/audit/ledger.js";
import { openStore, type Store } from "../src/store/database.js";
import { withPostgresStore } from "./bench-postgres.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    batch: { type: "string", default: "50000" },
    postgres: { type: "string" },
  },
});
const total = Number(args.events);
const batchSize = Number(args.batch);

const ACTIONS = ["identity.created", "identity.updated", "account.disabled", "entitlement.granted"];
const DEPARTMENTS = ["Finance", "Engineering", "Sales", "People", "Legal"];

// Events shaped like the engine's: a subject, a reason, before/after attributes.
function makeBatch(from: number, count: number): AuditEventInput[] {
  const base = Date.UTC(2026, 0, 1);
  const batch: AuditEventInput[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const n = from + i;
    batch[i] = {
      time: new Date(base + n * 1000).toISOString(),
      actor: n % 10 === 0 ? "admin@example.test" : "system:sync",
      action: ACTIONS[n % ACTIONS.length]!,
      subject: `identity:${(n % 50_000).toString(36)}`,
      details: {
        reason: "hr-source csv row changed",
        before: { department: DEPARTMENTS[n % 5], title: "Analyst", state: "active" },
        after: { department: DEPARTMENTS[(n + 1) % 5], title: "Senior Analyst", state: "active" },
        sourceRecord: `rec-${n}`,
      },
    };
  }
  return batch;
}

async function withStore(run: (store: Store) => Promise<void>): Promise<void> {
  if (args.postgres !== undefined) {
    await withPostgresStore(args.postgres, "bench_audit", run);
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-audit-bench-"));
    try {
      const store = await openStore(`sqlite:${path.join(dir, "ledger.db")}`);
      try {
        await run(store);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

await withStore(async (store) => {
  const appendStart = performance.now();
  for (let from = 0; from < total; from += batchSize) {
    await appendEvents(store.db, makeBatch(from, Math.min(batchSize, total - from)));
  }
  const appendSeconds = (performance.now() - appendStart) / 1000;

  const verifyStart = performance.now();
  const verifyCpuStart = process.cpuUsage();
  const result = await verifyLedger(store.db);
  const verifySeconds = (performance.now() - verifyStart) / 1000;
  const verifyCpu = process.cpuUsage(verifyCpuStart);
  if (!result.ok || result.checked !== total) {
    throw new Error(`verification failed on an untouched ledger: ${JSON.stringify(result)}`);
  }
  console.log(
    JSON.stringify({
      name: "audit-verify",
      database: store.kind,
      events: total,
      appendSeconds: Number(appendSeconds.toFixed(2)),
      verifySeconds: Number(verifySeconds.toFixed(2)),
      // This process's CPU time, worker threads included: on a shared machine it says what the
      // wall time would be if the cores were ours (about this divided by the workers used).
      verifyCpuSeconds: Number(((verifyCpu.user + verifyCpu.system) / 1e6).toFixed(2)),
      cpus: os.availableParallelism(),
      loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
      rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
});
