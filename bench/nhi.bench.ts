/**
 * Non-human identities at scale (issue 17, performance): an inventory file of 100,000 NHIs — service
 * accounts, API keys, OAuth apps, certificates and agents, owned by people of the synthetic organisation
 * (some terminated), some ownerless or owned by nobody the store knows, credentials of every age, expiries
 * around today, scopes some outside `allowedScopes`, entitlements some privileged — and:
 *
 * a. the inventory: `loadConfig` reading and checking the file (as every command does), the first
 *    `syncNhiInventory` into an empty store (100,000 NHIs, their identities and audit events), and the
 *    sync again with nothing changed (what the `nhi` job does every hour), median of the runs;
 * b. the risks: `listNhiViews` (`tenure nhi list --findings`) and `nhiRisksReport` (`tenure report
 *    nhi-risks`), median of the runs.
 *    Floors, by a bare script in the same run: the file parsed with JSON.parse; the same NHI, identity and
 *    audit rows inserted in one transaction (prepared statements on SQLite, json_populate_recordset in
 *    chunks on PostgreSQL); for the sync with nothing to change, every NHI's name and stored inventory
 *    digest read and compared with the digest of each loaded entry, made the plainest way (the sync reads
 *    whole rows only where digests differ); for the list, the live NHI rows whole and the people read and
 *    the same findings counted in a plain loop; for the report, only the columns it reads (the same live
 *    NHIs, and the owners' id, source key and state) and the same findings counted (each must find as many
 *    of each code as the product). `recurringFloorMs` is the floor of config + resync + report. Beside
 *    them, `ownerLookupsMs`: the owners of
 *    the inventory resolved one by one (`identityRepository.resolve`, as the sync did before) and at once
 *    (`resolveMany`, as it does now).
 * c. rotation of 1,000 PostgreSQL logins with verification: 1,000 LOGIN roles in a private PostgreSQL
 *    cluster that checks passwords (scram-sha-256, test/helpers/postgres-cluster.ts; removed afterwards),
 *    declared as NHIs past their maximum credential age, rotated by `rotateDueNhis` (new secret to a 0600
 *    file sink, ALTER ROLE, a real login with the new password, recorded in the store) — throughput per
 *    second; floor: a bare script doing ALTER ROLE … PASSWORD and a fresh login per role with pg. Checked
 *    after: for sampled roles the sink's secret logs in and the old password is refused.
 *
 *   node --import tsx bench/nhi.bench.ts [--nhis 100000] [--people 20000] [--runs 3] [--rotations 1000]
 *     [--postgres URL] [--database sqlite|postgres|both] [--part inventory|rotation|both]
 *
 * Targets (issue 17, 2 cores): inventory and risk report over 100,000 NHIs ≤ 2 s; rotation: throughput
 * reported. Prints one JSON line per database and part, with the load average beside each figure.
 */
import { createHash, hash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import pg from "pg";
import { generateOrganisation, type SyntheticWorker, workerAttributes } from "../src/demo/synthetic-org.js";
import type { Identity } from "../src/domain/identity-types.js";
import { stateFromAttributes } from "../src/domain/lifecycle.js";
import type { NhiDeclaration, NhiPolicy, NhiType } from "../src/domain/nhi-types.js";
import { loadConfig } from "../src/policy/config-loader.js";
import type { TenureConfig } from "../src/policy/config-types.js";
import { newId } from "../src/shared/ids.js";
import { openStore, type Store } from "../src/store/database.js";
import { identityRepository } from "../src/store/identity-repository.js";
import { syncNhiInventory } from "../src/workflows/nhi-inventory.js";
import { rotateDueNhis } from "../src/workflows/nhi-rotate.js";
import { listNhiViews } from "../src/workflows/nhi-view.js";
import { nhiRisksReport } from "../src/workflows/report-nhi-risks.js";
import { findPostgresBin, startPostgresCluster } from "../test/helpers/postgres-cluster.js";
import { withPostgresSchema } from "./bench-postgres.js";
import { median, pick, prng } from "./bench-stats.js";

const { values: args } = parseArgs({
  options: {
    nhis: { type: "string", default: "100000" },
    people: { type: "string", default: "20000" },
    runs: { type: "string", default: "3" },
    rotations: { type: "string", default: "1000" },
    postgres: { type: "string" },
    database: { type: "string", default: "both" },
    part: { type: "string", default: "both" },
  },
});
const nhiCount = Number(args.nhis);
const peopleCount = Number(args.people);
const runs = Number(args.runs);
const rotations = Number(args.rotations);
const today = "2026-11-21";
const now = new Date(`${today}T10:00:00Z`);
const DAY = 86_400_000;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const load = () => r2(os.loadavg()[0]!);

const dayOffset = (days: number) => new Date(now.getTime() + days * DAY).toISOString().slice(0, 10);

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: Awaited<T> }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** `fn` run `runs` times after one warm-up: the median ms, the load average after, and the last value. */
async function medianOf<T>(fn: () => Promise<T>): Promise<{ ms: number; load: number; value: Awaited<T> }> {
  let value = await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = await timed(fn);
    times.push(t.ms);
    value = t.value;
  }
  return { ms: r1(median(times)), load: load(), value };
}

// ---- the organisation and the inventory ----------------------------------------------------------

const SYSTEMS: Record<string, Record<string, boolean>> = {
  directory: { readers: false, writers: false, "server-admins": true },
  cloud: { viewer: false, deployer: false, "org-admin": true },
  github: { "repo-read": false, "repo-write": false, "org-owner": true },
  vault: { "kv-read": false, "kv-write": false, root: true },
};
const ALLOWED_SCOPES: Partial<Record<NhiType, string[]>> = {
  oauth_app: ["read:user", "repo:status", "read:org", "openid", "email", "profile"],
  agent: ["tickets:read", "tickets:write", "kb:read", "calendar:read"],
};
const EXTRA_SCOPES = ["admin:org", "delete_repo", "write:packages", "tickets:admin", "mail:send"];
const TYPES: readonly NhiType[] = ["service_account", "api_key", "oauth_app", "certificate", "agent"];

function toIdentity(w: SyntheticWorker): Identity {
  const attributes = workerAttributes(w);
  return {
    id: newId(),
    kind: "human",
    source: "hr",
    sourceKey: w.employeeId,
    state: stateFromAttributes(attributes, today).state,
    attributes,
    employment: 1,
    stateSince: "2020-01-01T00:00:00.000Z",
    createdAt: "2020-01-01T00:00:00.000Z",
    updatedAt: "2020-01-01T00:00:00.000Z",
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

/** One inventory file entry, as a person would write it (absent keys rather than nulls). */
interface Entry {
  name: string;
  type: NhiType;
  system?: string;
  purpose?: string;
  owner?: string;
  created?: string;
  lastRotated?: string;
  expires?: string;
  scopes?: string[];
  entitlements?: string[];
}

function inventory(people: readonly Identity[]): Entry[] {
  const rng = prng(17);
  const systems = Object.keys(SYSTEMS);
  const out: Entry[] = [];
  for (let i = 0; i < nhiCount; i++) {
    const type = TYPES[i % TYPES.length]!;
    const system = pick(rng, systems);
    const e: Entry = { name: `${type.replace("_", "-")}-${String(i).padStart(6, "0")}`, type, system };
    if (rng() < 0.5) e.purpose = `${system} integration ${i % 97}`;
    const o = rng();
    if (o >= 0.04) e.owner = o < 0.06 ? `X${i}` : pick(rng, people).sourceKey;
    const age = Math.floor(rng() * 900);
    e.created = dayOffset(-age);
    if (rng() < 0.5) e.lastRotated = dayOffset(-Math.floor(rng() * age));
    if (type === "certificate" || type === "api_key" || (type === "oauth_app" && rng() < 0.5)) {
      e.expires = dayOffset(Math.max(-age + 1, Math.floor(rng() * 500) - 60));
    }
    const allowed = ALLOWED_SCOPES[type];
    if (allowed !== undefined) {
      e.scopes = [pick(rng, allowed), pick(rng, allowed)].filter((s, k, all) => all.indexOf(s) === k);
      if (rng() < 0.05) e.scopes.push(pick(rng, EXTRA_SCOPES));
    }
    if (type === "service_account" || type === "agent") {
      const keys = Object.keys(SYSTEMS[system]!);
      e.entitlements = [`${system}:${pick(rng, keys)}`];
      if (rng() < 0.3) e.entitlements.push(`${system}:${pick(rng, keys)}`);
      e.entitlements = [...new Set(e.entitlements)];
    }
    out.push(e);
  }
  return out;
}

function configYaml(inventoryFiles: string[], extra = ""): string {
  const systems = Object.keys(SYSTEMS)
    .map(
      (s) =>
        `  ${s}:\n    connector: manual\n    account: { username: "{employeeId}" }\n    config: { fulfiller: ${s}-ops@example.test }`,
    )
    .join("\n");
  const entitlements = Object.entries(SYSTEMS)
    .map(
      ([s, keys]) =>
        `  ${s}:\n${Object.entries(keys)
          .map(([k, privileged]) => `    ${k}: { privileged: ${privileged} }`)
          .join("\n")}`,
    )
    .join("\n");
  const allowed = Object.entries(ALLOWED_SCOPES)
    .map(([t, scopes]) => `${t}: [${scopes!.join(", ")}]`)
    .join(", ");
  return `database: sqlite:./tenure.db
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
systems:
${systems}
entitlements:
${entitlements}
nhi:
  policy:
    maxCredentialAge: { service_account: 90d, api_key: 90d, oauth_app: 365d, certificate: 398d, agent: 30d }
    expiryWarnings: [30d, 7d, 1d]
    allowedScopes: { ${allowed} }
  inventoryFiles: [${inventoryFiles.join(", ")}]
  schedule: "off"
${extra}`;
}

// ---- the bare floors ------------------------------------------------------------------------------

/** A bare database: rows out, rows in, one transaction; the same on better-sqlite3 and pg. */
interface Bare {
  all(text: string): Promise<Record<string, unknown>[]>;
  insertAll(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

function bareSqlite(file: string): Bare {
  const db = new BetterSqlite3(file);
  db.pragma("cache_size = -65536"); // as the store opens it
  return {
    async all(text) {
      return db.prepare(text).all() as Record<string, unknown>[];
    },
    async insertAll(table, rows) {
      const cols = Object.keys(rows[0]!);
      const insert = db.prepare(
        `insert into ${table} (${cols.join(", ")}) values (${cols.map((c) => `@${c}`).join(", ")})`,
      );
      db.transaction(() => {
        for (const r of rows) insert.run(r);
      })();
    },
    async close() {
      db.close();
    },
  };
}

async function barePostgres(url: string): Promise<Bare> {
  const u = new URL(url);
  const schema = u.searchParams.get("schema");
  u.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  if (schema !== null) await client.query(`set search_path to ${pg.escapeIdentifier(schema)}`);
  await client.query("set jit = off");
  return {
    async all(text) {
      return (await client.query(text)).rows;
    },
    async insertAll(table, rows) {
      await client.query("begin");
      for (let i = 0; i < rows.length; i += 5000) {
        const cols = Object.keys(rows[0]!).join(", ");
        await client.query(
          `insert into ${table} (${cols}) select ${cols} from json_populate_recordset(null::${table}, $1)`,
          [JSON.stringify(rows.slice(i, i + 5000))],
        );
      }
      await client.query("commit");
    },
    async close() {
      await client.end();
    },
  };
}

/** The NHI findings of the policy, counted per code in a plain loop over rows as the database holds them. */
function bareFindings(
  rows: readonly Record<string, unknown>[],
  people: ReadonlyMap<string, string>,
  policy: NhiPolicy,
  privileged: ReadonlySet<string>,
): Record<string, number> {
  const count: Record<string, number> = {};
  const add = (code: string) => {
    count[code] = (count[code] ?? 0) + 1;
  };
  const allowed = new Map(Object.entries(policy.allowedScopes).map(([t, s]) => [t, new Set(s)]));
  const t = now.getTime();
  const at = (v: string) => Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
  for (const r of rows) {
    if (r.disabled_at !== null || r.removed_at !== null) continue;
    const ownerId = r.owner_id as string | null;
    if (ownerId === null && r.pending_owner_id === null) {
      add(r.ownerless_reason === null && r.owner_key !== null ? "owner_unknown" : "owner_missing");
    } else if (ownerId !== null && r.pending_owner_id === null) {
      const state = people.get(ownerId);
      if (state === undefined) add("owner_unknown");
      else if (state === "terminated" || state === "deleted") add("owner_terminated");
    }
    const max = policy.maxCredentialAgeMs[r.type as NhiType];
    const since = (r.last_rotated_at ?? r.created_on) as string | null;
    if (max !== undefined && since !== null && t - at(since) > max) add("credential_age");
    if (r.expires_at !== null) {
      const left = at(r.expires_at as string) - t;
      if (!(left > 0)) add("expired");
      else if (policy.expiryWarningsMs.some((w) => left <= w)) add("expiring");
    }
    const ok = allowed.get(r.type as string);
    if (ok !== undefined)
      for (const s of JSON.parse(r.scopes as string) as string[]) if (!ok.has(s)) add("scope_disallowed");
    for (const e of JSON.parse(r.entitlements as string) as string[])
      if (privileged.has(e)) add("privileged");
  }
  return count;
}

/** The columns the risk report reads (nhiRepository.riskRows), for its floor. */
const REPORT_COLUMNS =
  "name, type, system, owner_key, owner_id, pending_owner_id, ownerless_reason, disabled_at, removed_at, " +
  "created_on, last_rotated_at, expires_at, last_used_at, scopes, scope_last_used, entitlements";

/**
 * An entry's inventory digest made the plainest way: its fields, length-prefixed, in one text, SHA-1
 * (the product's domain/nhi-digest.ts writes the same text).
 */
function bareDigest(d: NhiDeclaration): string {
  const t = (v: string | null) => (v === null ? "~" : `${v.length}:${v}`);
  const l = (v: readonly string[]) => `[${v.length}${v.map(t).join("")}`;
  const uses = Object.entries(d.scopeLastUsed);
  return hash(
    "sha1",
    t(d.type) +
      t(d.system) +
      t(d.purpose) +
      t(d.owner) +
      l(d.coOwners) +
      t(d.created) +
      t(d.lastRotated) +
      t(d.expires) +
      t(d.lastUsed) +
      l(d.scopes) +
      l(d.entitlements) +
      t(d.origin) +
      `{${uses.length}${uses.map(([k, v]) => t(k) + t(v)).join("")}`,
    "base64",
  );
}

/** The rows the first sync writes, for the insert floor: NHI, identity and a hash-chained audit event each. */
function floorRows(entries: readonly Entry[], owners: ReadonlyMap<string, Identity>) {
  const at = now.toISOString();
  const nhis: Record<string, unknown>[] = [];
  const identities: Record<string, unknown>[] = [];
  const events: Record<string, unknown>[] = [];
  let prev = "0".repeat(64);
  let seq = 1_000_000;
  for (const e of entries) {
    const id = newId();
    const owner = e.owner === undefined ? undefined : owners.get(e.owner);
    nhis.push({
      identity_id: id,
      name: e.name,
      type: e.type,
      system: e.system ?? null,
      purpose: e.purpose ?? null,
      owner_key: e.owner ?? null,
      owner_id: owner?.id ?? null,
      owner_since: owner === undefined ? null : at,
      co_owner_keys: "[]",
      created_on: e.created ?? null,
      last_rotated_at: e.lastRotated ?? null,
      expires_at: e.expires ?? null,
      scopes: JSON.stringify(e.scopes ?? []),
      entitlements: JSON.stringify(e.entitlements ?? []),
      origin: "file",
      account: null,
      pending_owner_id: null,
      pending_since: null,
      pending_deadline: null,
      ownerless_reason: null,
      disabled_reason: null,
      disabled_at: null,
      removed_at: null,
      created_at: at,
      updated_at: at,
      version: 1,
    });
    identities.push({
      id,
      kind: "service",
      source: "nhi-floor",
      source_key: e.name,
      email: null,
      state: "active",
      attributes: JSON.stringify({ displayName: e.name, managerId: e.owner ?? null }),
      employment: 1,
      state_since: at,
      created_at: at,
      updated_at: at,
      last_record_id: null,
      previous_attributes: null,
      attributes_changed_at: null,
      department: null,
      search_text: `${e.name}\n${id}`,
    });
    const details = JSON.stringify({ name: e.name, type: e.type, origin: "file", owner: e.owner ?? null });
    const hash = createHash("sha256").update(`${prev}${at}bench nhi.created${id}${details}`).digest("hex");
    events.push({
      seq: seq++,
      time: at,
      actor: "bench",
      action: "nhi.created",
      subject: id,
      details,
      prev_hash: prev,
      hash,
    });
    prev = hash;
  }
  return { nhis, identities, events };
}

// ---- a: inventory and risks on one database ------------------------------------------------------

interface Prepared {
  dir: string;
  people: Identity[];
  entries: Entry[];
  config: TenureConfig;
  configMs: number;
  configLoad: number;
  parseFloorMs: number;
}

async function prepare(): Promise<Prepared> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-bench-nhi-"));
  const people = generateOrganisation({ size: peopleCount, today }).map(toIdentity);
  const entries = inventory(people);
  await writeFile(path.join(dir, "nhi-inventory.json"), JSON.stringify(entries));
  await writeFile(path.join(dir, "tenure.yaml"), configYaml(["./nhi-inventory.json"]));
  const parse = await medianOf(() => loadConfig(path.join(dir, "tenure.yaml"), { env: {} }));
  const parseFloor = await medianOf(async () =>
    JSON.parse(await readFile(path.join(dir, "nhi-inventory.json"), "utf8")),
  );
  return {
    dir,
    people,
    entries,
    config: parse.value,
    configMs: parse.ms,
    configLoad: parse.load,
    parseFloorMs: parseFloor.ms,
  };
}

async function measureInventory(database: string, store: Store, bare: Bare, p: Prepared) {
  const { config, entries } = p;
  await store.db.transaction().execute((trx) => identityRepository.upsertMany(trx, p.people));
  if (database === "postgres") await sql`analyze`.execute(store.db);

  const first = await timed(() => syncNhiInventory(store, config, { now, actor: "bench" }));
  if (first.value.created.length !== nhiCount)
    throw new Error(`first sync created ${first.value.created.length}, expected ${nhiCount}`);
  const firstLoad = load();
  if (database === "postgres") await sql`analyze`.execute(store.db);
  const resync = await medianOf(() => syncNhiInventory(store, config, { now, actor: "bench" }));
  if (resync.value.unchanged !== nhiCount)
    throw new Error(`resync changed ${nhiCount - resync.value.unchanged}`);

  // Owner lookups of a sync, one reference at a time (as the sync did before resolveMany) and in bulk.
  const refs = [...new Set(entries.flatMap((e) => (e.owner === undefined ? [] : [e.owner])))];
  const perRef = await timed(async () => {
    for (const ref of refs) await identityRepository.resolve(store.db, ref);
  });
  const bulk = await medianOf(() => identityRepository.resolveMany(store.db, refs));
  const list = await medianOf(() => listNhiViews(store, config, now));
  const report = await medianOf(() => nhiRisksReport(store, config, { now }));
  const product: Record<string, number> = {};
  for (const v of list.value) for (const f of v.findings) product[f.code] = (product[f.code] ?? 0) + 1;
  product.privileged = report.value.rows.filter((r) => r.risk === "privileged").length;

  // Floors. The list/report: the live NHI rows and the people read, the findings counted in a loop.
  const policy = config.nhi!.policy;
  const privileged = new Set(
    Object.entries(SYSTEMS).flatMap(([s, keys]) =>
      Object.entries(keys)
        .filter(([, p]) => p)
        .map(([k]) => `${s}:${k}`),
    ),
  );
  const listFloor = await medianOf(async () => {
    const rows = await bare.all("select * from non_human_identities where removed_at is null order by name");
    const people = new Map(
      (await bare.all("select id, state from identities where kind = 'human'")).map((r) => [
        r.id as string,
        r.state as string,
      ]),
    );
    return bareFindings(rows, people, policy, privileged);
  });
  for (const code of new Set([...Object.keys(product), ...Object.keys(listFloor.value)])) {
    if (product[code] !== listFloor.value[code])
      throw new Error(`${code}: product ${product[code]}, floor ${listFloor.value[code]}`);
  }
  // The report reads only what its findings and rows need: the same columns of the live NHIs by name,
  // and the owners' id, source key and state, read bare; the same findings counted in a loop.
  const reportFloor = await medianOf(async () => {
    const rows = await bare.all(
      `select ${REPORT_COLUMNS} from non_human_identities where removed_at is null order by name`,
    );
    const people = new Map(
      (
        await bare.all(
          "select id, source_key, state from identities where id in (select owner_id from non_human_identities where removed_at is null)",
        )
      ).map((r) => [r.id as string, r.state as string]),
    );
    return bareFindings(rows, people, policy, privileged);
  });
  for (const code of Object.keys(product)) {
    if (product[code] !== reportFloor.value[code])
      throw new Error(`${code}: product ${product[code]}, report floor ${reportFloor.value[code]}`);
  }
  // The resync with nothing to change, as the sync does it: every NHI's name and stored inventory digest
  // read bare, the digest of each entry of the inventory (already loaded) made and compared.
  const resyncFloor = await medianOf(async () => {
    const rows = new Map(
      (await bare.all("select name, inventory_digest from non_human_identities")).map((r) => [
        r.name as string,
        r.inventory_digest as string | null,
      ]),
    );
    let same = 0;
    for (const d of config.nhi!.inventory) {
      if (rows.get(d.name) === bareDigest(d)) same++;
    }
    return same;
  });
  if (resyncFloor.value !== nhiCount) throw new Error(`resync floor: ${resyncFloor.value} unchanged`);
  // The first sync: the same rows inserted in one transaction (renamed, beside the product's).
  const owners = new Map(p.people.map((i) => [i.sourceKey, i]));
  const rows = floorRows(
    entries.map((e) => ({ ...e, name: `floor-${e.name}` })),
    owners,
  );
  const firstFloor = await timed(async () => {
    await bare.insertAll("non_human_identities", rows.nhis);
    await bare.insertAll("identities", rows.identities);
    await bare.insertAll("audit_events", rows.events);
  });

  const checkFindings = Object.values(product).reduce((a, b) => a + b, 0);
  const recurring = p.configMs + resync.ms + report.ms;
  const recurringFloor = p.parseFloorMs + resyncFloor.ms + reportFloor.ms;
  return {
    name: "nhi-inventory",
    database,
    nhis: nhiCount,
    people: peopleCount,
    findings: product,
    findingsTotal: checkFindings,
    reportRows: report.value.rows.length,
    ms: {
      loadConfig: p.configMs,
      firstSync: r1(first.ms),
      resync: resync.ms,
      list: list.ms,
      report: report.ms,
      /** What an hourly `tenure nhi sync` then `tenure report nhi-risks` cost: config + resync + report. */
      recurring: r1(recurring),
    },
    /** The same three steps' floors: the file parsed, the digests compared, the report's rows read bare. */
    recurringFloorMs: r1(recurringFloor),
    ownerLookupsMs: { refs: refs.length, oneByOne: r1(perRef.ms), bulk: bulk.ms },
    floorMs: {
      loadConfig: p.parseFloorMs,
      firstSync: r1(firstFloor.ms),
      resync: resyncFloor.ms,
      list: listFloor.ms,
      report: reportFloor.ms,
    },
    ratio: {
      loadConfig: r1(p.configMs / p.parseFloorMs),
      firstSync: r1(first.ms / firstFloor.ms),
      resync: r1(resync.ms / resyncFloor.ms),
      list: r1(list.ms / listFloor.ms),
      report: r1(report.ms / reportFloor.ms),
    },
    loadAverage: {
      loadConfig: p.configLoad,
      firstSync: firstLoad,
      resync: resync.load,
      list: list.load,
      report: report.load,
      floors: load(),
    },
    targetMs: 2000,
  };
}

// ---- c: rotation of PostgreSQL logins -----------------------------------------------------------

async function measureRotation(database: string, openRotationStore: () => Promise<Store>) {
  const cluster = await startPostgresCluster({ max_connections: "200" });
  const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-bench-nhi-rot-"));
  const role = (i: number) => `nhirot_${String(i).padStart(5, "0")}`;
  const oldPassword = (i: number) => `old-${i}-${randomBytes(6).toString("hex")}`;
  const olds = Array.from({ length: rotations }, (_, i) => oldPassword(i));
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  const store = await openRotationStore();
  try {
    await admin.query(
      olds.map((pw, i) => `create role ${role(i)} login password ${pg.escapeLiteral(pw)};`).join("\n"),
    );
    const inv = Array.from({ length: rotations }, (_, i) => ({
      name: role(i),
      type: "service_account",
      system: "appdb",
      created: "2026-01-01",
    }));
    await writeFile(path.join(dir, "rotation-inventory.json"), JSON.stringify(inv));
    await writeFile(
      path.join(dir, "tenure.yaml"),
      configYaml(
        ["./rotation-inventory.json"],
        `  rotation:
    sink: { file: ./nhi-secrets.jsonl }
`,
      ).replace(
        "systems:\n",
        `systems:
  appdb:
    connector: postgres
    config:
      url: \${env:BENCH_PG_TARGET}
      usernamePrefix: nhirot_
      passwordSink: { file: ./connector-passwords.jsonl }
`,
      ),
    );
    const config = await loadConfig(path.join(dir, "tenure.yaml"), {
      env: { BENCH_PG_TARGET: cluster.url() },
    });
    await syncNhiInventory(store, config, { now, actor: "bench" });
    const product = await timed(() => rotateDueNhis(store, config, { now, actor: "bench" }));
    const productLoad = load();
    if (product.value.rotated.length !== rotations)
      throw new Error(
        `rotated ${product.value.rotated.length} of ${rotations}: ${JSON.stringify(product.value.failed.slice(0, 3))}`,
      );
    // Each sampled role: the sink's new secret logs in, the old one is refused.
    const lines = (await readFile(path.join(dir, "nhi-secrets.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { name?: string; username?: string; secret?: string; rotationId: string });
    const secrets = new Map<string, string>();
    for (const l of lines) if (l.secret !== undefined) secrets.set(l.username ?? l.name ?? "", l.secret);
    const logsIn = async (user: string, password: string) => {
      const c = new pg.Client({
        host: cluster.host,
        port: cluster.port,
        database: "postgres",
        user,
        password,
      });
      c.on("error", () => {});
      try {
        await c.connect();
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === "28P01") return false;
        throw err;
      } finally {
        await c.end().catch(() => {});
      }
    };
    for (const i of [0, Math.floor(rotations / 2), rotations - 1]) {
      const secret = secrets.get(role(i));
      if (secret === undefined)
        throw new Error(
          `no secret for ${role(i)} in the sink: ${JSON.stringify(Object.keys(lines[0] ?? {}))}`,
        );
      if (!(await logsIn(role(i), secret))) throw new Error(`${role(i)}: the new secret is refused`);
      if (await logsIn(role(i), olds[i]!)) throw new Error(`${role(i)}: the old password still works`);
    }
    // Floor: ALTER ROLE … PASSWORD and a fresh login with it, per role, one after another.
    const floor = await timed(async () => {
      for (let i = 0; i < rotations; i++) {
        const pw = randomBytes(24).toString("base64url");
        await admin.query(`alter role ${role(i)} password ${pg.escapeLiteral(pw)}`);
        const c = new pg.Client({
          host: cluster.host,
          port: cluster.port,
          database: "postgres",
          user: role(i),
          password: pw,
        });
        await c.connect();
        await c.query("select 1");
        await c.end();
      }
    });
    const floorLoad = load();
    return {
      name: "nhi-rotation",
      database,
      target: "private PostgreSQL 15 cluster, scram-sha-256",
      rotations,
      ms: r1(product.ms),
      perSecond: r1(rotations / (product.ms / 1000)),
      msEach: r2(product.ms / rotations),
      floorMs: r1(floor.ms),
      floorPerSecond: r1(rotations / (floor.ms / 1000)),
      ratio: r1(product.ms / floor.ms),
      loadAverage: { product: productLoad, floor: floorLoad },
    };
  } finally {
    await store.close();
    await admin.end().catch(() => {});
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const databases = (args.database === "both" ? ["sqlite", "postgres"] : [args.database!]).filter(
    (d) => d === "sqlite" || args.postgres !== undefined,
  );
  if (args.part !== "rotation") {
    const p = await prepare();
    try {
      for (const database of databases) {
        let line: unknown;
        if (database === "sqlite") {
          const file = path.join(p.dir, "tenure.db");
          const store = await openStore(`sqlite:${file}`);
          const bare = bareSqlite(file);
          try {
            line = await measureInventory(database, store, bare, p);
          } finally {
            await bare.close();
            await store.close();
          }
        } else {
          line = await withPostgresSchema(args.postgres!, "bench_nhi", async (url) => {
            const store = await openStore(url);
            const bare = await barePostgres(url);
            try {
              return await measureInventory(database, store, bare, p);
            } finally {
              await bare.close();
              await store.close();
            }
          });
        }
        console.log(JSON.stringify(line));
      }
    } finally {
      await rm(p.dir, { recursive: true, force: true });
    }
  }
  if (args.part !== "inventory") {
    if ((await findPostgresBin()) === undefined) {
      console.error("rotation skipped: PostgreSQL (initdb) is not installed: apt-get install -y postgresql");
      return;
    }
    for (const database of databases) {
      if (database === "sqlite") {
        const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-bench-nhi-store-"));
        try {
          console.log(
            JSON.stringify(await measureRotation(database, () => openStore(`sqlite:${dir}/tenure.db`))),
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      } else {
        await withPostgresSchema(args.postgres!, "bench_nhi_rot", async (url) => {
          console.log(JSON.stringify(await measureRotation(database, () => openStore(url))));
        });
      }
    }
  }
}

await main();
