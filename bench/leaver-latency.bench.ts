/**
 * Leaver latency: the time from the HTTP request that terminates a person (`POST
 * /api/sources/hr/records`, as an HR system pushes it) to every one of their accounts being disabled
 * in three real systems: an OpenLDAP (ppolicy lock), a PostgreSQL login role (NOLOGIN) and a SCIM 2.0
 * service (active=false, the scimmy peer). The clock stops when the benchmark has read all three
 * targets back and seen each account disabled. Leavers are pushed one after another, each on its own.
 *
 * Set-up (not timed): N joiners pushed and provisioned in all three systems. The server is `tenure
 * serve`'s own (startServer, background apply loop on) in this process; the client's share of the
 * event loop is one request at a time.
 *
 * With `--burst N`, the leavers are measured while a SCIM burst runs against the same server (issue 19
 * item 5: "leaver latency p99 under a concurrent SCIM burst"): `--burst-clients` clients (32) POST new
 * Users to `/scim/v2/Users` without pause, each provisioned into the OpenLDAP before its answer, until
 * N are created or the leavers are done. The burst's people get the directory only.
 *   node --import tsx bench/leaver-latency.bench.ts [--leavers 250] [--burst 0] [--burst-clients 32]
 *     [--postgres URL] [--store sqlite|postgres]
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { startScimPeer } from "../test/helpers/scim-peer.js";
import { SUFFIX, startSlapd } from "../test/helpers/slapd.js";
import { benchScimUser } from "./bench-scim-user.js";
import { startBenchServer } from "./bench-server.js";

const { values } = parseArgs({
  options: {
    leavers: { type: "string", default: "250" },
    postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/test" },
    store: { type: "string", default: "sqlite" },
    burst: { type: "string", default: "0" },
    "burst-clients": { type: "string", default: "32" },
  },
});
const leavers = Number(values.leavers);
const burst = Number(values.burst);
const burstClients = Number(values["burst-clients"]);
const run = `b${randomBytes(3).toString("hex")}`;
const dir = path.join(os.tmpdir(), `tenure-bench-leaver-${process.pid}`);
const today = new Date().toISOString().slice(0, 10);
const keyOf = (i: number) => `${100000 + i}`;
const usernameOf = (i: number) => `${run}_${100000 + i}`;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const slapd = await startSlapd();
const scim = await startScimPeer();
const admin = new pg.Client({ connectionString: values.postgres });
await admin.connect();
const schema = `bench_leaver_${process.pid}`;
try {
  const database = values.store === "postgres" ? `${values.postgres}?schema=${schema}` : "sqlite:./tenure.db";
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: ${database}
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
  idp: { type: push, key: employeeId, timeZone: UTC }
server:
  scim: { source: idp, key: externalId }
lifecycle:
  massChangeThreshold: { percent: 100, minimum: 100000 }
systems:
  directory:
    connector: ldap
    account: { username: "${run}_{employeeId}" }
    config:
      url: ${slapd.url}
      bindDn: ${slapd.adminDn}
      bindPassword: ${slapd.adminPassword}
      users: { base: "ou=people,${SUFFIX}", attributes: { displayName: displayName } }
      groups: { base: "ou=groups,${SUFFIX}" }
  database:
    connector: postgres
    account: { username: "${run}_{employeeId}" }
    config:
      url: ${values.postgres}
      usernamePrefix: ${run}_
      passwordSink: { file: ./passwords.jsonl }
  saas:
    connector: scim
    account: { username: "${run}_{employeeId}" }
    config:
      baseUrl: ${scim.baseUrl}
      auth: { type: bearer, token: ${scim.token} }
      rateLimit: { requestsPerMinute: 60000, burst: 10 }
roles:
  burst:
    when: "department == 'Burst'"
    grants:
      - { system: directory }
  staff:
    when: "department != 'Burst'"
    grants:
      - { system: directory }
      - { system: database }
      - { system: saas }
`,
  );
  const { server, token, close } = await startBenchServer(path.join(dir, "tenure.yaml"));
  try {
    const push = async (records: Record<string, string>[]) => {
      const response = await fetch(`${server.url}/api/sources/hr/records`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ records }),
      });
      if (response.status !== 200)
        throw new Error(`push answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as { results: { status: string }[] };
    };
    const person = (i: number, extra: Record<string, string> = {}) => ({
      employeeId: keyOf(i),
      givenName: "Leaver",
      familyName: `Number${i}`,
      displayName: `Leaver ${i}`,
      email: `leaver${i}@example.test`,
      department: "Sales",
      employmentType: "employee",
      startDate: "2020-01-01",
      ...extra,
    });

    const t0 = performance.now();
    for (let i = 0; i < leavers; i += 50) {
      await push(Array.from({ length: Math.min(50, leavers - i) }, (_, j) => person(i + j)));
    }
    const setupSeconds = (performance.now() - t0) / 1000;

    const ldap = await slapd.admin();
    const disabledEverywhere = async (i: number): Promise<boolean> => {
      const username = usernameOf(i);
      const { searchEntries } = await ldap.search(`ou=people,${SUFFIX}`, {
        filter: `(uid=${username})`,
        attributes: ["pwdAccountLockedTime"],
      });
      const locked = searchEntries[0]?.pwdAccountLockedTime !== undefined;
      const role = await admin.query("select rolcanlogin from pg_roles where rolname = $1", [username]);
      const user = scim.user(username) as { active?: boolean } | undefined;
      return locked && role.rows[0]?.rolcanlogin === false && user?.active === false;
    };
    if (await disabledEverywhere(0)) throw new Error("set-up: a joiner is already disabled");

    // The concurrent burst: runs until `burst` Users are created or the leavers are done.
    let leaversDone = false;
    const burstAnswers = new Map<number, number>();
    let burstNext = 0;
    const burstStart = performance.now();
    const burstRun = Promise.all(
      Array.from({ length: burst > 0 ? burstClients : 0 }, async () => {
        for (let i = burstNext++; i < burst && !leaversDone; i = burstNext++) {
          const response = await fetch(`${server.url}/scim/v2/Users`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
            body: JSON.stringify(benchScimUser(i, "Burst", `${run}b${i}`)),
          });
          await response.arrayBuffer();
          burstAnswers.set(response.status, (burstAnswers.get(response.status) ?? 0) + 1);
        }
      }),
    );

    const latencies: number[] = [];
    for (let i = 0; i < leavers; i++) {
      const start = performance.now();
      const answer = await push([person(i, { status: "terminated", terminationDate: today })]);
      if (answer.results[0]?.status !== "terminated")
        throw new Error(`leaver ${i}: ${JSON.stringify(answer)}`);
      while (!(await disabledEverywhere(i))) {
        if (performance.now() - start > 60_000) throw new Error(`leaver ${i} still has an enabled account`);
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - start);
    }
    const leaversSeconds = (performance.now() - burstStart) / 1000;
    leaversDone = true;
    await burstRun;
    const burstPushes = [...burstAnswers.values()].reduce((a, b) => a + b, 0);
    await ldap.unbind();
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        name: "leaver-latency",
        store: values.store,
        leavers,
        systems: ["ldap (OpenLDAP, ppolicy)", "postgres (login role)", "scim (scimmy peer)"],
        setupSeconds: +setupSeconds.toFixed(1),
        p50ms: Math.round(percentile(sorted, 50)),
        p90ms: Math.round(percentile(sorted, 90)),
        p99ms: Math.round(percentile(sorted, 99)),
        maxMs: Math.round(sorted.at(-1)!),
        meanMs: Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
        ...(burst > 0
          ? {
              burst: {
                clients: burstClients,
                pushes: burstPushes,
                answers: Object.fromEntries(burstAnswers),
                // While the leavers were measured (the burst stops when they are done).
                pushesPerSecond: Math.round(burstPushes / leaversSeconds),
              },
            }
          : {}),
      }),
    );
  } finally {
    await close(values.store === "postgres" ? schema : undefined);
  }
} finally {
  const roles = await admin.query("select rolname from pg_roles where rolname like $1", [`${run}\\_%`]);
  for (const { rolname } of roles.rows as { rolname: string }[]) {
    await admin.query(`drop role if exists "${rolname.replaceAll('"', '""')}"`);
  }
  await admin.end();
  await scim.close();
  await slapd.stop();
  await rm(dir, { recursive: true, force: true });
}
