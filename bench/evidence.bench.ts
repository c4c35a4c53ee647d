/**
 * The evidence pack (issue 18, item 4) of a 10,000-person organisation over a quarter: `tenure evidence
 * --period 2026-Q3` (the workflow function, `writeEvidencePack`), per database. Target (issue): ≤ 30 s.
 *
 * Set-up (not timed), with the demo's tenure.yaml (examples/demo: wiki, payroll, deploy; its roles, its
 * SoD rule and its quarterly review of privileged access):
 * - the synthetic organisation (src/demo/synthetic-org.ts) imported by `syncSource` a week before the
 *   quarter, and everyone's accounts in the three applications as apply leaves them — the create and
 *   grant operations in the ledger (queued, then succeeded), the accounts in `accounts`;
 * - 13 weekly HR imports through the quarter, each with 20 leavers, 20 joiners and 30 movers (≈ 10 %
 *   turnover a year): real lifecycle events; then, as apply would record them, each leaver's accounts
 *   disabled (most within the hour, 12 % after 1–20 h, 2 % after 25–72 h: past the 24 h SLA, 1 % never:
 *   still enabled), each joiner's accounts created with their grants, each mover's grants and
 *   revocations, and each changed account's journal record (`account.recorded`);
 * - access found in the systems that Tenure did not grant (1 % of people get deploy admins), 20 orphan
 *   accounts; `scanSod` at the start and the end of the quarter (real violations, opened and closed),
 *   five SoD exceptions accepted; the quarterly review of privileged access started on 1 July
 *   (`startCampaign`), the configuration recorded in force.
 *
 * Timed: the pack, with the time of each step (each report run, rendered as HTML, CSV and JSON, and
 * written; the ledger verification and the published heads; the configurations), then each report run
 * again alone as the pack runs it (on the ledger it verified once), and `verifyLedger` alone. Floors: every ledger row read by a bare driver (what any
 * verification must read), and the biggest report's query (every event of the quarter, in ledger order,
 * as access-changes reads it) run bare through the driver.
 *
 *   node --import tsx bench/evidence.bench.ts [--people 10000] [--postgres URL] [--database sqlite|postgres|both]
 *
 * Prints one JSON line per database, with the load average beside the figures.
 */
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { type AuditEventInput, appendEvents, verifyLedger } from "../src/audit/ledger.js";
import { DEPARTMENTS, generateOrganisation, type SyntheticWorker, toCsv } from "../src/demo/synthetic-org.js";
import type { Account } from "../src/domain/access-types.js";
import { addDays } from "../src/domain/local-date.js";
import { recordConfigInForce } from "../src/engine/config-versions.js";
import { scanSod } from "../src/engine/sod-scan.js";
import { syncSource } from "../src/engine/sync.js";
import { loadConfig } from "../src/policy/config-loader.js";
import type { TenureConfig } from "../src/policy/config-types.js";
import { accountRepository } from "../src/store/account-repository.js";
import { openStore, type Store } from "../src/store/database.js";
import { identityRepository } from "../src/store/identity-repository.js";
import { sodViolationRepository } from "../src/store/sod-repository.js";
import { writeEvidencePack } from "../src/workflows/evidence-pack.js";
import { parsePeriod } from "../src/workflows/evidence-period.js";
import { REPORTS } from "../src/workflows/report-registry.js";
import { startCampaign } from "../src/workflows/review-generation.js";
import { acceptViolation } from "../src/workflows/sod-exceptions.js";
import { withPostgresSchema } from "./bench-postgres.js";

const { values: args } = parseArgs({
  options: {
    people: { type: "string", default: "10000" },
    postgres: { type: "string" },
    database: { type: "string" },
  },
});
const people = Number(args.people);
const databases =
  args.database === undefined
    ? ["sqlite", ...(args.postgres === undefined ? [] : ["postgres"])]
    : args.database === "both"
      ? ["sqlite", "postgres"]
      : [args.database];
const PERIOD = parsePeriod("2026-Q3");
const WEEKS = 13;
const LEAVERS = 20;
const JOINERS = 20;
const MOVERS = 30;
const HOUR = 3_600_000;
const TEMPLATE = fileURLToPath(new URL("../examples/demo/", import.meta.url));

/** A small deterministic generator, so every run builds the same quarter. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const random = rng(2026);

const iso = (ms: number) => new Date(ms).toISOString();
const dayAt = (day: string, hour: number) => Date.parse(`${day}T00:00:00Z`) + hour * HOUR;

/** What the demo's roles grant a worker, per system (examples/demo/tenure.yaml). */
function desired(w: SyntheticWorker): Map<string, string[]> {
  const out = new Map<string, string[]>([["wiki", ["readers"]]]);
  if (w.employmentType === "contractor") return out;
  out.set("payroll", ["viewer"]);
  if (w.department === "Engineering") {
    out.set("wiki", ["readers", "editors"]);
    out.set("deploy", ["deployers"]);
    if (w.title === "SRE" || w.title.startsWith("Head of")) out.set("deploy", ["deployers", "admins"]);
  }
  if (w.department === "Finance") {
    out.set("payroll", ["viewer", "clerk"]);
    if (w.title.startsWith("Head of")) out.set("payroll", ["viewer", "clerk", "admin"]);
  }
  return out;
}
const usernameOf = (system: string, w: SyntheticWorker) =>
  system === "payroll" ? w.employeeId : `${w.givenName}.${w.familyName}.${w.employeeId}`.toLowerCase();

interface Org {
  workers: Map<string, SyntheticWorker>;
  ids: Map<string, string>;
  accounts: Map<string, Account>;
}

/** The operation events apply records for one operation (queued, then succeeded at `doneAt`). */
function operation(
  events: AuditEventInput[],
  org: Org,
  w: SyntheticWorker,
  system: string,
  kind: string,
  entitlement: string | null,
  queuedAt: number,
  doneAt: number | null,
  reason: string,
): void {
  const identity = org.ids.get(w.employeeId)!;
  const details = {
    operationId: `op-${events.length}-${queuedAt}`,
    system,
    kind,
    username: usernameOf(system, w),
    entitlement,
    identity,
    reason,
    lineage: [
      {
        kind: "role",
        role: "employee",
        chain: ["employee"],
        rule: { source: "employmentType == 'employee'" },
      },
    ],
    drift: false,
    attempts: 1,
  };
  events.push({
    time: iso(queuedAt),
    actor: "system:plan",
    action: "operation.queued",
    subject: identity,
    details,
  });
  if (doneAt !== null)
    events.push({
      time: iso(doneAt),
      actor: "system:apply",
      action: "operation.succeeded",
      subject: identity,
      details: { ...details, changed: true, nativeId: null },
    });
}

/** The account apply leaves, and its journal record, at `at`. */
function recordAccount(events: AuditEventInput[], org: Org, account: Account, at: number): void {
  org.accounts.set(`${account.system}/${account.username}`, account);
  events.push({
    time: iso(at),
    actor: "system:apply",
    action: "account.recorded",
    subject: `account:${account.system}/${account.username}`,
    details: {
      system: account.system,
      username: account.username,
      nativeId: account.nativeId,
      identityId: account.identityId,
      enabled: account.enabled,
      entitlements: account.entitlements,
      vanished: false,
      cause: "apply",
    },
  });
}

function provision(events: AuditEventInput[], org: Org, w: SyntheticWorker, at: number): void {
  for (const [system, entitlements] of desired(w)) {
    const username = usernameOf(system, w);
    operation(events, org, w, system, "create", null, at, at + 60_000, "joiner");
    for (const e of entitlements)
      operation(events, org, w, system, "grant", e, at, at + 90_000, "desired by policy");
    recordAccount(
      events,
      org,
      {
        system,
        nativeId: `${system}-${username}`,
        username,
        identityId: org.ids.get(w.employeeId)!,
        enabled: true,
        attributes: {},
        entitlements: [...entitlements],
        managedEntitlements: [...entitlements],
        managed: true,
        vanishedAt: null,
        lastSeenAt: iso(at),
        lastUsedAt: null,
      },
      at + 120_000,
    );
  }
}

async function importHr(store: Store, config: TenureConfig, org: Org, at: number): Promise<void> {
  const source = config.sources.hr!;
  if (source.type !== "csv") throw new Error("the demo's hr source is a CSV file");
  await writeFile(source.path, toCsv([...org.workers.values()]));
  await syncSource(store, config, source, { now: new Date(at), actor: "system:sync" });
  await recordConfigInForce(store, config, new Date(at), "system:sync");
  for (const i of await identityRepository.listBySource(store.db, "hr"))
    if (i.sourceKey !== null) org.ids.set(i.sourceKey, i.id);
}

async function flush(store: Store, org: Org, events: AuditEventInput[], at: number): Promise<number> {
  events.sort((a, b) => a.time.localeCompare(b.time));
  for (let i = 0; i < events.length; i += 20_000) await appendEvents(store.db, events.slice(i, i + 20_000));
  const rows = [...org.accounts.values()];
  for (let i = 0; i < rows.length; i += 5000)
    await accountRepository.upsertMany(store.db, rows.slice(i, i + 5000), iso(at));
  return events.length;
}

interface Built {
  events: number;
  leavers: number;
  joiners: number;
  movers: number;
  accounts: number;
  violationsOpen: number;
  campaignItems: number;
  seconds: number;
}

async function build(store: Store, config: TenureConfig): Promise<Built> {
  const started = performance.now();
  const before = addDays(PERIOD.from.toISOString().slice(0, 10), -7);
  const org: Org = { workers: new Map(), ids: new Map(), accounts: new Map() };
  for (const w of generateOrganisation({ size: people, today: before, seed: 18 }))
    org.workers.set(w.employeeId, w);
  let events = 0;
  // A week before the quarter: everyone active is provisioned.
  await importHr(store, config, org, dayAt(before, 6));
  let batch: AuditEventInput[] = [];
  for (const w of org.workers.values())
    if (w.status !== "terminated" && w.startDate <= before) provision(batch, org, w, dayAt(before, 7));
  events += await flush(store, org, batch, dayAt(before, 7));

  // Out-of-band access the systems hold: deploy admins added by hand for 1 % of people, and payroll
  // clerk for one production administrator in ten (the demo's SoD conflict).
  const byIdentity = new Map<string, Account[]>();
  for (const a of org.accounts.values())
    if (a.identityId !== null) byIdentity.set(a.identityId, [...(byIdentity.get(a.identityId) ?? []), a]);
  let n = 0;
  for (const [i, list] of [...byIdentity.values()].entries()) {
    const deploy = list.find((a) => a.system === "deploy");
    const payroll = list.find((a) => a.system === "payroll");
    if (deploy === undefined || payroll === undefined) continue;
    if (!deploy.entitlements.includes("admins") && n < people / 100) {
      deploy.entitlements = [...deploy.entitlements, "admins"];
      n++;
    }
    if (deploy.entitlements.includes("admins") && i % 10 === 0 && !payroll.entitlements.includes("clerk"))
      payroll.entitlements = [...payroll.entitlements, "clerk"];
  }
  for (let i = 0; i < 20; i++)
    org.accounts.set(`wiki/orphan-${i}`, {
      system: "wiki",
      nativeId: `wiki-orphan-${i}`,
      username: `orphan-${i}`,
      identityId: null,
      enabled: true,
      attributes: {},
      entitlements: ["readers"],
      managedEntitlements: [],
      managed: false,
      vanishedAt: null,
      lastSeenAt: iso(dayAt(before, 8)),
      lastUsedAt: null,
    });
  await flush(store, org, [], dayAt(before, 8));
  const quarterStart = PERIOD.from.getTime();
  await scanSod(store, config, { now: new Date(quarterStart), actor: "system:sod" });
  const campaign = await startCampaign(store.db, config, "quarterly-privileged", {
    now: new Date(quarterStart + 6 * HOUR),
    startedBy: "system:scheduler",
    kind: "scheduled",
  });

  const terminated = new Set<string>();
  for (const i of await identityRepository.listBySource(store.db, "hr"))
    if (i.state === "terminated" && i.sourceKey !== null) terminated.add(i.sourceKey);
  let leavers = 0;
  let joiners = 0;
  let movers = 0;
  let nextId = 900_000;
  const departments = Object.keys(DEPARTMENTS);
  for (let week = 0; week < WEEKS; week++) {
    const day = addDays(PERIOD.from.toISOString().slice(0, 10), week * 7);
    const active = [...org.workers.values()].filter(
      (w) => w.status === "active" && w.employmentType === "employee" && w.startDate < day,
    );
    const chosen = new Set<string>();
    const take = (k: number) => {
      const out: SyntheticWorker[] = [];
      while (out.length < k) {
        const w = active[Math.floor(random() * active.length)]!;
        if (chosen.has(w.employeeId)) continue;
        chosen.add(w.employeeId);
        out.push(w);
      }
      return out;
    };
    const leaving = take(LEAVERS);
    for (const w of leaving) {
      w.status = "terminated";
      w.terminationDate = addDays(day, -1);
    }
    const moving = take(MOVERS).map((w) => {
      const before = desired(w);
      const to = departments[(departments.indexOf(w.department) + 1) % departments.length]!;
      w.department = to;
      w.title = DEPARTMENTS[to]!.titles[0]!;
      w.costCenter = DEPARTMENTS[to]!.costCenter;
      return { w, before };
    });
    const hires: SyntheticWorker[] = [];
    for (let i = 0; i < JOINERS; i++) {
      const like = active[Math.floor(random() * active.length)]!;
      const w: SyntheticWorker = {
        ...like,
        employeeId: `E${nextId++}`,
        email: `joiner.${nextId}@example.test`,
        givenName: "Joiner",
        familyName: `Number${nextId}`,
        startDate: day,
        status: "active",
        endDate: "",
        terminationDate: "",
      };
      org.workers.set(w.employeeId, w);
      hires.push(w);
    }
    const syncAt = dayAt(day, 6);
    await importHr(store, config, org, syncAt);
    batch = [];
    // Everyone the import terminated (the week's leavers, and contractors whose end date passed) loses
    // their accounts as apply would record it.
    const gone: SyntheticWorker[] = [];
    for (const i of await identityRepository.listBySource(store.db, "hr")) {
      if (i.state !== "terminated" || i.sourceKey === null || terminated.has(i.sourceKey)) continue;
      terminated.add(i.sourceKey);
      const w = org.workers.get(i.sourceKey);
      if (w !== undefined) gone.push(w);
    }
    for (const w of gone) {
      for (const system of ["wiki", "payroll", "deploy"]) {
        const account = org.accounts.get(`${system}/${usernameOf(system, w)}`);
        if (account === undefined || !account.enabled) continue;
        const r = random();
        const delay =
          r < 0.85
            ? (5 + random() * 55) * 60_000
            : r < 0.97
              ? (1 + random() * 19) * HOUR
              : r < 0.99
                ? (25 + random() * 47) * HOUR
                : null;
        operation(
          batch,
          org,
          w,
          system,
          "disable",
          null,
          syncAt + 60_000,
          delay === null ? null : syncAt + delay,
          "leaver",
        );
        if (delay !== null) recordAccount(batch, org, { ...account, enabled: false }, syncAt + delay + 1000);
      }
    }
    for (const { w, before } of moving) {
      const after = desired(w);
      for (const system of new Set([...before.keys(), ...after.keys()])) {
        const had = before.get(system) ?? [];
        const wants = after.get(system) ?? [];
        const account = org.accounts.get(`${system}/${usernameOf(system, w)}`);
        if (account === undefined) continue;
        for (const e of wants.filter((x) => !had.includes(x)))
          operation(batch, org, w, system, "grant", e, syncAt + 120_000, syncAt + 180_000, "mover");
        for (const e of had.filter((x) => !wants.includes(x)))
          operation(batch, org, w, system, "revoke", e, syncAt + 120_000, syncAt + 180_000, "mover");
        const found = account.entitlements.filter((e) => !account.managedEntitlements.includes(e));
        recordAccount(
          batch,
          org,
          { ...account, entitlements: [...wants, ...found], managedEntitlements: [...wants] },
          syncAt + 200_000,
        );
      }
    }
    for (const w of hires) provision(batch, org, w, dayAt(day, 7));
    events += await flush(store, org, batch, dayAt(day, 8));
    leavers += gone.length;
    joiners += hires.length;
    movers += moving.length;
    if (week === 6) {
      // Mid-quarter: five violations accepted by the rule's owner side (the CFO of the demo is an admin here).
      const open = await sodViolationRepository.open(store.db);
      const approver = [...org.ids.values()][0]!;
      for (const v of open.filter((v) => v.identityId !== approver).slice(0, 5))
        await acceptViolation(
          store,
          config,
          {
            violationId: v.id,
            approverId: approver,
            asAdmin: true,
            justification: "cover while the team is rebuilt",
            expiresAt: new Date(PERIOD.to.getTime() + 30 * 24 * HOUR),
          },
          { now: new Date(syncAt + 9 * HOUR), actor: "bench" },
        );
    }
  }
  // The end of the quarter's scan: the leavers' and movers' violations close.
  await scanSod(store, config, { now: new Date(PERIOD.to.getTime() - HOUR), actor: "system:sod" });
  return {
    events,
    leavers,
    joiners,
    movers,
    accounts: org.accounts.size,
    violationsOpen: (await sodViolationRepository.open(store.db)).length,
    campaignItems: campaign.items,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await run();
  return { value, seconds: Number(((performance.now() - start) / 1000).toFixed(3)) };
}

const PERIOD_QUERY =
  "select seq, time, actor, action, subject, details, prev_hash, hash from audit_events where time >= $1 and time < $2 order by seq";
const LEDGER_QUERY =
  "select seq, time, actor, action, subject, details, prev_hash, hash from audit_events order by seq";

/** The floors, read by a bare driver: every ledger row; every event of the quarter. */
async function floors(
  kind: string,
  url: string,
): Promise<{ ledgerReadSeconds: number; periodQuerySeconds: number; periodEvents: number }> {
  const from = PERIOD.from.toISOString();
  const to = PERIOD.to.toISOString();
  if (kind === "sqlite") {
    const db = new BetterSqlite3(url.slice("sqlite:".length), { readonly: true });
    try {
      const ledger = await timed(async () => db.prepare(LEDGER_QUERY).all().length);
      const period = await timed(async () => {
        const rows = db.prepare(PERIOD_QUERY.replace("$1", "?").replace("$2", "?")).all(from, to) as Array<{
          details: string;
        }>;
        for (const r of rows) JSON.parse(r.details);
        return rows.length;
      });
      return {
        ledgerReadSeconds: ledger.seconds,
        periodQuerySeconds: period.seconds,
        periodEvents: period.value,
      };
    } finally {
      db.close();
    }
  }
  const schema = new URL(url).searchParams.get("schema")!;
  const client = new pg.Client({ connectionString: url.replace(/\?.*$/, "") });
  await client.connect();
  try {
    await client.query(`set search_path to "${schema}"`);
    const ledger = await timed(async () => (await client.query(LEDGER_QUERY)).rowCount);
    const period = await timed(async () => {
      const rows = (await client.query(PERIOD_QUERY, [from, to])).rows as Array<{ details: string }>;
      for (const r of rows) JSON.parse(r.details);
      return rows.length;
    });
    return {
      ledgerReadSeconds: ledger.seconds,
      periodQuerySeconds: period.seconds,
      periodEvents: period.value,
    };
  } finally {
    await client.end();
  }
}

async function measure(kind: string, url: string, dir: string): Promise<void> {
  const config = await loadConfig(path.join(dir, "tenure.yaml"));
  const store = await openStore(url, { baseDir: dir });
  try {
    const built = await build(store, config);
    const load = () => Number(os.loadavg()[0]!.toFixed(2));
    const loadBefore = load();
    const out = await mkdtemp(path.join(os.tmpdir(), "tenure-evidence-pack-"));
    const steps: Record<string, number> = {};
    let last = performance.now();
    const pack = await timed(() =>
      writeEvidencePack(store, config, {
        period: PERIOD,
        out,
        now: new Date(PERIOD.to.getTime() + 24 * HOUR),
        onProgress: (_done, _total, label) => {
          const t = performance.now();
          steps[label] = Number(((t - last) / 1000).toFixed(3));
          last = t;
        },
      }),
    );
    await rm(out, { recursive: true, force: true });
    const loadAfterPack = load();
    // Each report alone (warm), as the pack runs it — on the ledger it verified once, without the
    // verification a period report does first when run on its own — and the verification alone.
    const reports: Record<string, { seconds: number; rows: number }> = {};
    for (const r of REPORTS) {
      const run = r.runOnVerifiedLedger ?? r.run;
      const t = await timed(() =>
        run(store, config, {
          now: new Date(PERIOD.to.getTime() + 24 * HOUR),
          ...(r.period ? { from: PERIOD.from, to: PERIOD.to } : {}),
        }),
      );
      reports[r.name] = { seconds: t.seconds, rows: t.value.rows.length };
    }
    const verify = await timed(() => verifyLedger(store.db));
    const floor = await floors(kind, url);
    const accessChanges = reports["access-changes"]!.seconds;
    const summary = {
      name: "evidence",
      database: kind,
      people,
      ledgerEvents: pack.value.ledger.checked,
      built,
      packSeconds: pack.seconds,
      files: pack.value.files.length,
      steps,
      reports,
      verifySeconds: verify.seconds,
      floors: floor,
      accessChangesToFloor: Number((accessChanges / Math.max(0.001, floor.periodQuerySeconds)).toFixed(1)),
      loadAverage: { beforePack: loadBefore, afterPack: loadAfterPack, atEnd: load() },
      rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(JSON.stringify(summary));
  } finally {
    await store.close();
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-evidence-bench-"));
try {
  await copyFile(path.join(TEMPLATE, "tenure.yaml"), path.join(dir, "tenure.yaml"));
  for (const kind of databases) {
    if (kind === "sqlite") await measure("sqlite", `sqlite:${path.join(dir, "tenure.db")}`, dir);
    else if (args.postgres !== undefined)
      await withPostgresSchema(args.postgres, "bench_evidence", (url) => measure("postgres", url, dir));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
