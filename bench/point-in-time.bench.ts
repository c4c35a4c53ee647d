/**
 * Point-in-time benchmark (issue 18, item 1): a ledger of N events shaped like a deployment's — account
 * journal records and removals, operations with their lineage, identity changes — over 5 systems of
 * 10,000 accounts each; access checkpoints as the daily `audit-checkpoint` job leaves them (every
 * `--checkpoint-every` events, the last one `--tail` events before the head); then
 * `who-had --system erp --entitlement e3 --at T` at the last event, from the latest checkpoint and from
 * the first event, beside its floor: the same answer read from the `accounts` table now (which the
 * bench keeps equal to the journal's end state).
 *
 *   node --import tsx bench/point-in-time.bench.ts [--events N] [--checkpoint-every N] [--tail N]
 *     [--fill bare|ledger] [--genesis yes|no] [--keep FILE] [--postgres URL]
 *
 * `--keep FILE` (SQLite): the ledger lives in FILE and is kept after the run; a later run with the same
 * FILE and `--events` finds the ledger filled (its head at N) and skips the fill and the checkpoints,
 * measuring only the questions (the store's migrations run on opening, so a kept ledger follows schema
 * changes). With a larger `--events` it extends the kept ledger: a checkpoint at its head, then the
 * events up to N (so the tail is N minus the kept events, whatever `--tail` says). Delete FILE to fill
 * again.
 *
 * The fill is set-up, not the target: `bare` (the default) hashes the same events into a valid chain
 * (the ledger's own hash, canonical JSON, gap-free seqs, the head moved) and inserts them through the
 * driver in large transactions; `ledger` appends them through `appendEvents` (≈ 4 minutes a million
 * here). The bench verifies a sample of the chain either way. `--genesis no` skips the replay from the
 * first event (minutes at 10,000,000 events).
 *
 * Prints one JSON line: { name, database, events, fillSeconds, checkpoints: [{ seq, seconds, replayed }],
 * whoHadCheckpointSeconds, whoHadGenesisSeconds, tableFloorSeconds, holders, replayedFromCheckpoint,
 * replayedFromGenesis, loadAverage, rssMB }. Target (issue): who-had over 10,000,000 events ≤ 1 s.
 */

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { takeAccessCheckpoint } from "../src/audit/access-checkpoints.js";
import { whoHad } from "../src/audit/access-history.js";
import { canonicalJson } from "../src/audit/canonical-json.js";
import { type AuditEventInput, appendEvents, computeEventHash } from "../src/audit/ledger.js";
import type { Account } from "../src/domain/access-types.js";
import { accountRepository } from "../src/store/account-repository.js";
import { openStore, type Store } from "../src/store/database.js";
import { withPostgresSchema } from "./bench-postgres.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    "checkpoint-every": { type: "string" },
    tail: { type: "string" },
    fill: { type: "string", default: "bare" },
    genesis: { type: "string", default: "yes" },
    postgres: { type: "string" },
    keep: { type: "string" },
  },
});
const total = Number(args.events);
/** Events after the last checkpoint (what a question at the head replays): 10 % unless told. */
const tail = args.tail === undefined ? Math.floor(total * 0.1) : Number(args.tail);
/** Checkpoints before the last one, as a daily job leaves them: none unless told. */
const every = args["checkpoint-every"] === undefined ? total : Number(args["checkpoint-every"]);
if (!(tail >= 0 && tail < total && every > 0))
  throw new Error("--tail must be below --events, --checkpoint-every above 0");
if (args.fill !== "bare" && args.fill !== "ledger") throw new Error("--fill: bare or ledger");
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

/** Where the bare writer puts rows: the store's own database, through a driver connection of its own. */
type Target = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

async function append(store: Store, target: Target, from: number, to: number): Promise<void> {
  if (args.fill === "ledger") {
    for (let n = from; n < to; n += BATCH) {
      const batch: AuditEventInput[] = [];
      for (let i = n; i < Math.min(to, n + BATCH); i++) batch.push(event(i));
      await appendEvents(store.db, batch);
    }
    return;
  }
  const head = await store.db
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirstOrThrow();
  let seq = Number(head.seq);
  let prev = head.hash;
  if (seq !== from) throw new Error(`the ledger's head is ${seq}, expected ${from}`);
  /** The next batch of rows, hashed as appendEvents hashes them (canonical details, seq, previous hash). */
  const rows = (n: number) => {
    const out: [number, string, string, string, string, string, string, string][] = [];
    for (let i = n; i < Math.min(to, n + BATCH); i++) {
      const e = event(i);
      seq += 1;
      const details = canonicalJson(e.details);
      const hash = computeEventHash(prev, { ...e, seq }, details);
      out.push([seq, e.time, e.actor, e.action, e.subject, details, prev, hash]);
      prev = hash;
    }
    return out;
  };
  if (target.kind === "sqlite") {
    const db = new BetterSqlite3(target.file);
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = OFF");
      db.pragma("cache_size = -1048576");
      const insert = db.prepare(
        "insert into audit_events (seq, time, actor, action, subject, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?)",
      );
      const moveHead = db.prepare("update audit_head set seq = ?, hash = ? where id = 1");
      const write = db.transaction((batch: ReturnType<typeof rows>) => {
        for (const r of batch) insert.run(...r);
        moveHead.run(seq, prev);
      });
      for (let n = from; n < to; n += BATCH) write(rows(n));
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: target.url.replace(/\?.*$/, "") });
  await client.connect();
  try {
    await client.query(`set search_path to "${new URL(target.url).searchParams.get("schema")}"`);
    for (let n = from; n < to; n += BATCH) {
      const batch = rows(n);
      await client.query("begin");
      for (let i = 0; i < batch.length; i += 5000) {
        const part = batch.slice(i, i + 5000);
        await client.query(
          "insert into audit_events (seq, time, actor, action, subject, details, prev_hash, hash) select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])",
          [0, 1, 2, 3, 4, 5, 6, 7].map((c) => part.map((r) => r[c])),
        );
      }
      await client.query("update audit_head set seq = $1, hash = $2 where id = 1", [seq, prev]);
      await client.query("commit");
    }
  } finally {
    await client.end();
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

async function withStore(run: (store: Store, target: Target) => Promise<void>): Promise<void> {
  if (args.postgres !== undefined) {
    await withPostgresSchema(args.postgres, "bench_pit", async (url) => {
      const store = await openStore(url);
      try {
        await run(store, { kind: "postgres", url });
      } finally {
        await store.close();
      }
    });
    return;
  }
  const dir = args.keep === undefined ? mkdtempSync(path.join(os.tmpdir(), "tenure-pit-bench-")) : undefined;
  try {
    const file = dir === undefined ? path.resolve(args.keep!) : path.join(dir, "ledger.db");
    const store = await openStore(`sqlite:${file}`);
    try {
      await run(store, { kind: "sqlite", file });
    } finally {
      await store.close();
    }
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Re-hashes a sample of the chain (its first rows, rows around each checkpoint, its last rows) as verification does. */
async function checkChain(store: Store, around: readonly number[]): Promise<number> {
  let checked = 0;
  for (const at of [1, ...around, total - 1000]) {
    const rows = await store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", ">=", Math.max(1, at - 500))
      .where("seq", "<=", at + 500)
      .orderBy("seq")
      .execute();
    let prev: string | undefined;
    for (const r of rows) {
      const seq = Number(r.seq);
      if (prev !== undefined && r.prev_hash !== prev)
        throw new Error(`event ${seq}: prev_hash breaks the chain`);
      if (computeEventHash(r.prev_hash, { ...r, seq }, r.details) !== r.hash)
        throw new Error(`event ${seq}: hash`);
      prev = r.hash;
      checked++;
    }
  }
  return checked;
}

await withStore(async (store, target) => {
  const cut = total - tail;
  // Checkpoint seqs: every `every` events, and the last `tail` events before the head.
  const cuts = [
    ...new Set([
      ...Array.from({ length: Math.ceil(cut / every) }, (_, i) => Math.min(cut, (i + 1) * every)),
      cut,
    ]),
  ].filter((c) => c > 0);
  let fillSeconds = 0;
  let at = 0;
  const checkpoints: { seq: number; seconds: number; replayed: number }[] = [];
  const head = await store.db.selectFrom("audit_head").select("seq").where("id", "=", 1).executeTakeFirst();
  const kept = Number(head?.seq ?? 0);
  if (kept > total) throw new Error(`--keep: the kept ledger holds ${kept} events, more than ${total}`);
  if (kept === total) console.error(`--keep: reusing the ledger of ${kept} events (no fill, no checkpoints)`);
  if (kept > 0 && kept < total) {
    // Extending a kept ledger: the generator replayed to where it stopped (its state and the model),
    // a checkpoint at the kept head as the daily job would leave it, then the events up to `total`.
    for (let n = 0; n < kept; n++) event(n);
    at = kept;
    const checkpoint = await timed(() =>
      takeAccessCheckpoint(store.db, { now: new Date(BASE + kept * 1000), actor: "bench" }),
    );
    if (checkpoint.value.caughtUp !== 0)
      throw new Error(`the checkpoint caught up ${checkpoint.value.caughtUp} rows`);
    checkpoints.push({
      seq: checkpoint.value.seq,
      seconds: checkpoint.seconds,
      replayed: checkpoint.value.replayed,
    });
    console.error(
      `--keep: extending ${kept} events to ${total}; checkpoint at ${kept}: ${checkpoint.seconds} s`,
    );
  }
  for (const c of kept === 0 ? cuts : []) {
    fillSeconds += (await timed(() => append(store, target, at, c))).seconds;
    at = c;
    await syncTable(store);
    const checkpoint = await timed(() =>
      takeAccessCheckpoint(store.db, { now: new Date(BASE + c * 1000), actor: "bench" }),
    );
    if (checkpoint.value.caughtUp !== 0)
      throw new Error(`the checkpoint caught up ${checkpoint.value.caughtUp} rows`);
    checkpoints.push({
      seq: checkpoint.value.seq,
      seconds: checkpoint.seconds,
      replayed: checkpoint.value.replayed,
    });
    console.error(`checkpoint at ${c}: ${checkpoint.seconds} s, load ${os.loadavg()[0]!.toFixed(2)}`);
  }
  if (kept !== total) {
    fillSeconds += (await timed(() => append(store, target, at, total))).seconds;
    await syncTable(store);
  }
  const chainChecked = await checkChain(store, cuts);

  const atHead = new Date(BASE + (total + 1) * 1000);
  const query = { system: "erp", entitlement: "e3", at: atHead };
  const fromCheckpoint = await timed(() => whoHad(store.db, query));
  const fromGenesis =
    args.genesis === "no" ? undefined : await timed(() => whoHad(store.db, query, { useCheckpoints: false }));
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
  if (fromGenesis !== undefined && JSON.stringify(a) !== JSON.stringify(held(fromGenesis.value.rows)))
    throw new Error("who-had from the checkpoint differs from the replay from genesis");
  if (JSON.stringify(a) !== JSON.stringify(floor.value.map((r) => r.username).sort()))
    throw new Error("who-had differs from the accounts table at the head");
  console.log(
    JSON.stringify({
      name: "point-in-time",
      database: store.kind,
      events: total,
      fill: args.fill,
      fillSeconds: Number(fillSeconds.toFixed(1)),
      chainChecked,
      checkpoints,
      whoHadCheckpointSeconds: fromCheckpoint.seconds,
      whoHadGenesisSeconds: fromGenesis?.seconds ?? null,
      tableFloorSeconds: floor.seconds,
      holders: a.length,
      replayedFromCheckpoint: fromCheckpoint.value.source.events,
      replayedFromGenesis: fromGenesis?.value.source.events ?? null,
      loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
      rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
});
