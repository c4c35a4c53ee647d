/**
 * Apply throughput with 1, 2 and 4 `tenure worker` processes sharing one PostgreSQL store (issue 19,
 * item 5), into a real OpenLDAP and into a PostgreSQL table (the `sql` connector), beside a floor: the
 * same writes from a bare script (ldapts adds; pg inserts) at the same concurrency, in the same run.
 *
 * Each run: a fresh store schema and a fresh target; the workers are started (real processes, through
 * tsx) and idle; then N account creates are queued and the clock runs until every one has succeeded
 * (polled every 50 ms); the workers are stopped with SIGTERM. Every system has `concurrency: C`, which
 * bounds the operations in flight over all workers together, so workers add CPU, not connections to the
 * target. Prints one JSON line.
 *   node --import tsx bench/apply-workers.bench.ts [--operations 3000] [--concurrency 16] [--workers 1,2,4]
 *     [--target both|ldap|postgres] [--postgres URL]
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Client } from "ldapts";
import pg from "pg";
import type { PlannedOperation } from "../src/domain/access-types.js";
import { enqueuePlan } from "../src/engine/enqueue.js";
import { openStore } from "../src/store/database.js";
import { operationRepository } from "../src/store/operation-repository.js";
import { type Slapd, SUFFIX, startSlapd } from "../test/helpers/slapd.js";
import { benchPersonEntry, benchUsername } from "./bench-ldap-person.js";
import { withPostgresSchema } from "./bench-postgres.js";

const { values } = parseArgs({
  options: {
    operations: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "16" },
    workers: { type: "string", default: "1,2,4" },
    target: { type: "string", default: "both" },
    postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/test" },
  },
});
const N = Number(values.operations);
const C = Number(values.concurrency);
const WORKERS = values.workers.split(",").map(Number);
const ADMIN_URL = values.postgres;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MAIN = path.join(ROOT, "src/cli/main.ts");

const usernameOf = benchUsername;

/** N creates, one per person, as the planner would queue them. */
function creates(system: string): PlannedOperation[] {
  return Array.from({ length: N }, (_, i) => ({
    system,
    kind: "create",
    identityId: `id-${i}`,
    username: usernameOf(i),
    nativeId: null,
    entitlement: null,
    // The table of the PostgreSQL target maps only the email.
    attributes: (system === "app"
      ? { email: `person${i}@example.test` }
      : {
          email: `person${i}@example.test`,
          displayName: `Person ${i}`,
          givenName: "Person",
          familyName: `Number${i}`,
        }) as Record<string, string>,
    enabled: true,
    lineage: [{ kind: "lifecycle", policy: "bench", note: "bench" }],
    reason: "bench",
    drift: false,
    idempotencyKey: `bench-${system}-${i}`,
  }));
}

interface Target {
  name: string;
  /** The `systems.<name>` YAML of the target (indented two spaces). */
  systemYaml: string;
  /** Accounts in the target, read directly. */
  count(): Promise<number>;
  /** The same writes by a bare script with C connections: seconds. */
  bare(): Promise<number>;
  close(): Promise<void>;
}

async function ldapTarget(): Promise<Target> {
  const slapd: Slapd = await startSlapd();
  const floor: Slapd = await startSlapd();
  return {
    name: "ldap",
    systemYaml: `  directory:
    connector: ldap
    concurrency: ${C}
    account: { username: "{employeeId}" }
    config:
      url: ${slapd.url}
      bindDn: ${slapd.adminDn}
      bindPassword: ${slapd.adminPassword}
      users:
        base: ou=people,${SUFFIX}
        attributes: { email: mail, displayName: displayName, givenName: givenName, familyName: sn }
      groups: { base: "ou=groups,${SUFFIX}" }
`,
    async count() {
      const client = await slapd.admin();
      try {
        const { searchEntries } = await client.search(`ou=people,${SUFFIX}`, {
          filter: "(objectClass=inetOrgPerson)",
          attributes: ["uid"],
          sizeLimit: 0,
          paged: { pageSize: 1000 },
        });
        return searchEntries.length;
      } finally {
        await client.unbind();
      }
    },
    async bare() {
      const clients: Client[] = await Promise.all(Array.from({ length: C }, () => floor.admin()));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        clients.map(async (client) => {
          for (let i = next++; i < N; i = next++)
            await client.add(`uid=${usernameOf(i)},ou=people,${SUFFIX}`, benchPersonEntry(i));
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      await Promise.all(clients.map((c) => c.unbind()));
      return seconds;
    },
    close: async () => {
      await slapd.stop();
      await floor.stop();
    },
  };
}

async function postgresTarget(schema: string): Promise<Target> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  for (const s of [schema, `${schema}_floor`]) {
    await admin.query(`create schema ${s}`);
    await admin.query(
      `create table ${s}.app_users (id serial primary key, login varchar(200) not null unique, mail varchar(200), active integer not null)`,
    );
    await admin.query(
      `create table ${s}.app_user_groups (user_id integer not null, group_name varchar(200) not null, primary key (user_id, group_name))`,
    );
  }
  return {
    name: "postgres",
    systemYaml: `  app:
    connector: sql
    concurrency: ${C}
    account: { username: "{employeeId}" }
    config:
      url: "${ADMIN_URL}"
      schema: ${schema}
      users: { table: app_users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }
      memberships: { table: app_user_groups, user: user_id, group: group_name }
`,
    async count() {
      return Number((await admin.query(`select count(*) as n from ${schema}.app_users`)).rows[0].n);
    },
    async bare() {
      const pool = new pg.Pool({ connectionString: ADMIN_URL, max: C });
      const clients = await Promise.all(Array.from({ length: C }, () => pool.connect()));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        clients.map(async (client) => {
          for (let i = next++; i < N; i = next++) {
            await client.query(
              `insert into ${schema}_floor.app_users (login, mail, active) values ($1, $2, 1)`,
              [usernameOf(i), `person${i}@example.test`],
            );
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      for (const c of clients) c.release();
      await pool.end();
      return seconds;
    },
    close: async () => {
      for (const s of [schema, `${schema}_floor`]) await admin.query(`drop schema ${s} cascade`);
      await admin.end();
    },
  };
}

/** Starts a worker and resolves once it says it started. */
function startWorker(configFile: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", MAIN, "--config", configFile, "worker", "--log-level", "warn"],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, TENURE_NOW: "" },
    },
  );
  let stderr = "";
  return new Promise((resolve, reject) => {
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (/tenure worker \d+ started/.test(stderr)) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`worker exited with ${code}: ${stderr}`)));
  });
}

/** One run: `k` workers apply N creates into a fresh target. */
async function run(makeTarget: (schema: string) => Promise<Target>, k: number, dir: string) {
  return withPostgresSchema(ADMIN_URL, "bench_workers", async (url) => {
    const schema = new URL(url).searchParams.get("schema")!;
    const target = await makeTarget(`${schema}_app`);
    const store = await openStore(url);
    const children: ChildProcess[] = [];
    try {
      const configFile = path.join(dir, `tenure-${target.name}-${k}.yaml`);
      await writeFile(
        configFile,
        `database: "${url}"
sources:
  hr: { type: push }
systems:
${target.systemYaml}
server:
  applyIntervalSeconds: 0
  schedule: { enabled: false }
`,
      );
      for (let i = 0; i < k; i++) children.push(await startWorker(configFile));
      const system = target.name === "ldap" ? "directory" : "app";
      const ops = creates(system);
      const retry = { maxAttempts: 5, baseDelaySeconds: 1, maxDelaySeconds: 10 };
      const t0 = performance.now();
      await enqueuePlan(store, ops, {
        now: new Date(),
        actor: "bench",
        lifecycle: { massChangeThreshold: { percent: 100, minimum: 10_000_000 } },
        systems: { [system]: { retry } },
      });
      const queuedSeconds = (performance.now() - t0) / 1000;
      let counts = await operationRepository.countByState(store.db);
      while (counts.succeeded + counts.dead < N) {
        await sleep(50);
        counts = await operationRepository.countByState(store.db);
      }
      const seconds = (performance.now() - t0) / 1000;
      // From the first success to the last: the rate once the workers have noticed the queue.
      const span = await store.db
        .selectFrom("operations")
        .select((eb) => [eb.fn.min("finished_at").as("first"), eb.fn.max("finished_at").as("last")])
        .executeTakeFirstOrThrow();
      const spanSeconds = (Date.parse(String(span.last)) - Date.parse(String(span.first))) / 1000;
      const inTarget = await target.count();
      const [deadOne] =
        counts.dead > 0 ? await operationRepository.list(store.db, { state: "dead", limit: 1 }) : [];
      const bare = k === WORKERS[0] ? await target.bare() : undefined;
      return {
        workers: k,
        seconds: +seconds.toFixed(2),
        queuedSeconds: +queuedSeconds.toFixed(2),
        opsPerSecond: Math.round(N / seconds),
        opsPerSecondFirstToLast: Math.round(N / spanSeconds),
        dead: counts.dead,
        ...(deadOne === undefined ? {} : { deadError: deadOne.lastError }),
        inTarget,
        ...(bare === undefined
          ? {}
          : { bareSeconds: +bare.toFixed(2), bareOpsPerSecond: Math.round(N / bare) }),
      };
    } finally {
      for (const c of children) c.kill("SIGTERM");
      await Promise.all(
        children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on("exit", r)))),
      );
      await store.close();
      await target.close();
    }
  });
}

const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-bench-workers-"));
const out: Record<string, unknown> = {
  name: "apply-workers",
  operations: N,
  concurrency: C,
  cpus: os.cpus().length,
  loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
};
try {
  const targets: Array<[string, (schema: string) => Promise<Target>]> = [];
  if (values.target !== "postgres") targets.push(["ldap", () => ldapTarget()]);
  if (values.target !== "ldap") targets.push(["postgres", postgresTarget]);
  for (const [name, make] of targets) {
    const runs = [];
    for (const k of WORKERS) runs.push(await run(make, k, dir));
    const base = runs[0]!.opsPerSecondFirstToLast;
    const bareOps = runs[0]!.bareOpsPerSecond ?? 0;
    out[name] = {
      runs,
      scaling: runs.map((r) => +(r.opsPerSecondFirstToLast / base).toFixed(2)),
      overFloor: runs.map((r) => +(r.opsPerSecondFirstToLast / bareOps).toFixed(2)),
    };
  }
  out.loadAverageAfter = os.loadavg().map((l) => +l.toFixed(2));
  console.log(JSON.stringify(out));
} finally {
  await rm(dir, { recursive: true, force: true });
}
