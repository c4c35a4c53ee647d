/**
 * Point-in-time benchmark (issue 18, item 1): a ledger of N events shaped like a deployment's — account
 * journal records and removals, operations with their lineage, identity changes — over 5 systems of
 * 10,000 accounts each; then `who-had --system erp --entitlement e3 --at T` at the last event, from an
 * access checkpoint taken at 90 % of the ledger and from the first event, beside its floor: the same
 * answer read from the `accounts` table now (which the bench keeps equal to the journal's end state).
 *
 *   node --import tsx bench/point-in-time.bench.ts [--events N] [--postgres URL]
 *
 * Prints one JSON line: { name, database, events, appendSeconds, checkpointSeconds,
 * whoHadCheckpointSeconds, whoHadGenesisSeconds, tableFloorSeconds, holders, replayedFromCheckpoint,
 * replayedFromGenesis, loadAverage, rssMB }. Target (issue): who-had over 10,000,000 events ≤ 1 s.
 */

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { takeAccessCheckpoint } from "../src/audit/access-checkpoints.js";
import { whoHad } from "../src/audit/access-history.js";
import { type AuditEventInput, appendEvents } from "../src/audit/ledger.js";
import type { Account } from "../src/domain/access-types.js";
import { accountRepository } from "../src/store/account-repository.js";
import { openStore, type Store } from "../src/store/database.js";
import { withPostgresStore } from "./bench-postgres.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    postgres: { type: "string" },
  },
});
const total = Number(args.events);
const BATCH = 50_000;
const SYSTEMS = ["erp", "crm", "git", "mail", "vpn"];
const PER_SYSTEM = 10_000;
const ENTITLEMENTS = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"];
const BASE = Date.UTC(2026, 0, 1);

/** A small deterministic generator, so every run writes the same ledger. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const random = rng(18);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

/** The journal's state of every account, as the bench writes it: kept to fill `accounts` to match. */
const model = new Map<string, Account>();

function event(n: number): AuditEventInput {
  const time = new Date(BASE + n * 1000).toISOString();
  const system = pick(SYSTEMS);
  const user = Math.floor(random() * PER_SYSTEM);
  const username = `u${user}`;
  const identityId = `id-${user}`;
  const r = random();
  if (r < 0.45) {
    const entitlements = ENTITLEMENTS.filter(() => random() < 0.3).sort();
    const enabled = random() < 0.9;
    model.set(`${system}/${username}`, {
      system,
      nativeId: `${system}-${user}`,
      username,
      identityId,
      enabled,
      attributes: {},
      entitlements,
      managedEntitlements: entitlements,
      managed: true,
      vanishedAt: null,
      lastSeenAt: null,
      lastUsedAt: null,
    });
    return {
      time,
      actor: "system:reconcile",
      action: "account.recorded",
      subject: `account:${system}/${username}`,
      details: {
        system,
        username,
        nativeId: `${system}-${user}`,
        identityId,
        enabled,
        entitlements,
        vanished: false,
        cause: "reconcile",
      },
    };
  }
  if (r < 0.5) {
    model.delete(`${system}/${username}`);
    return {
      time,
      actor: "system:reconcile",
      action: "account.removed",
      subject: `account:${system}/${username}`,
      details: { system, username, identityId, cause: "reconcile" },
    };
  }
  if (r < 0.8) {
    const kind = random() < 0.7 ? "grant" : "revoke";
    return {
      time,
      actor: "system:apply",
      action: random() < 0.5 ? "operation.queued" : "operation.succeeded",
      subject: identityId,
      details: {
        operationId: `op-${n}`,
        system,
        kind,
        username,
        entitlement: pick(ENTITLEMENTS),
        identity: identityId,
        reason: kind === "grant" ? "desired by policy" : "no longer desired",
        lineage: [
          {
            kind: "role",
            role: "staff",
            chain: ["staff"],
            rule: { source: 'department == "Finance"', location: { file: "tenure.yaml", line: 42 } },
          },
        ],
        drift: false,
        attempts: 1,
      },
    };
  }
  return {
    time,
    actor: "system:sync",
    action: "identity.updated",
    subject: identityId,
    details: { changes: { title: { before: "Analyst", after: "Senior Analyst" } }, source: "hr" },
  };
}

async function append(store: Store, from: number, to: number): Promise<void> {
  for (let n = from; n < to; n += BATCH) {
    const batch: AuditEventInput[] = [];
    for (let i = n; i < Math.min(to, n + BATCH); i++) batch.push(event(i));
    await appendEvents(store.db, batch);
  }
}

/** Makes `accounts` hold the model (the journal's state), as the writers would have left it. */
async function syncTable(store: Store): Promise<void> {
  await store.db.deleteFrom("accounts").execute();
  const rows = [...model.values()];
  for (let i = 0; i < rows.length; i += 5000)
    await accountRepository.upsertMany(store.db, rows.slice(i, i + 5000), new Date(BASE).toISOString());
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await run();
  return { value, seconds: Number(((performance.now() - start) / 1000).toFixed(3)) };
}

async function withStore(run: (store: Store) => Promise<void>): Promise<void> {
  if (args.postgres !== undefined) {
    await withPostgresStore(args.postgres, "bench_pit", run);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-pit-bench-"));
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

await withStore(async (store) => {
  const cut = Math.floor(total * 0.9);
  const appended = await timed(() => append(store, 0, cut));
  await syncTable(store);
  const checkpoint = await timed(() =>
    takeAccessCheckpoint(store.db, { now: new Date(BASE + cut * 1000), actor: "bench" }),
  );
  if (checkpoint.value.caughtUp !== 0)
    throw new Error(`the checkpoint caught up ${checkpoint.value.caughtUp} rows`);
  const rest = await timed(() => append(store, cut, total));
  await syncTable(store);

  const at = new Date(BASE + (total + 1) * 1000);
  const query = { system: "erp", entitlement: "e3", at };
  const fromCheckpoint = await timed(() => whoHad(store.db, query));
  const fromGenesis = await timed(() => whoHad(store.db, query, { useCheckpoints: false }));
  const floor = await timed(async () =>
    (await accountRepository.list(store.db, { system: "erp" })).filter(
      (a) => a.vanishedAt === null && a.entitlements.includes("e3"),
    ),
  );
  const held = (rows: typeof fromCheckpoint.value.rows) =>
    rows
      .filter((r) => r.confirmed.held)
      .map((r) => r.username)
      .sort();
  const a = held(fromCheckpoint.value.rows);
  if (JSON.stringify(a) !== JSON.stringify(held(fromGenesis.value.rows)))
    throw new Error("who-had from the checkpoint differs from the replay from genesis");
  if (JSON.stringify(a) !== JSON.stringify(floor.value.map((r) => r.username).sort()))
    throw new Error("who-had differs from the accounts table at the head");
  console.log(
    JSON.stringify({
      name: "point-in-time",
      database: store.kind,
      events: total,
      appendSeconds: Number((appended.seconds + rest.seconds).toFixed(1)),
      checkpointSeconds: checkpoint.seconds,
      whoHadCheckpointSeconds: fromCheckpoint.seconds,
      whoHadGenesisSeconds: fromGenesis.seconds,
      tableFloorSeconds: floor.seconds,
      holders: a.length,
      replayedFromCheckpoint: fromCheckpoint.value.source.events,
      replayedFromGenesis: fromGenesis.value.source.events,
      loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
      rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
});
