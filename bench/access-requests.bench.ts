/**
 * Access requests (issue 14), against a real OpenLDAP slapd (group membership) and a real PostgreSQL
 * (role membership), every figure read back from both targets:
 *
 * 1. auto-approve: submission of an auto-approved elevation to the membership seen in both targets
 *    (submitRequest provisions at once), one after another, p50 / p99 (goal p99 ≤ 1 s). Floor: the same
 *    grant written by a bare script (an LDAP modify and a PostgreSQL GRANT, then read back).
 * 2. revocation: 1,000 granted assignments ending one after another over `--spread` seconds; the
 *    access timer of `tenure serve` (startAccessTimer, the wall clock) ends each and reads it back; the
 *    latency of each is from its `validUntil` to the pass that confirmed it (goal p99 ≤ 5 s). Floor: a
 *    bare script that sleeps until each end and removes and reads back the same memberships.
 * 3. inbox: 10,000 open requests waiting for one approver, listed through the API
 *    (`GET /api/requests?view=waiting`, a page of 100, and all 10,000 in pages of 500), median of 15
 *    (goal ≤ 100 ms). Floor: the same page as one bare SQL query.
 *
 *   node --import tsx bench/access-requests.bench.ts [--people 1000] [--auto 100] [--spread 60] [--postgres URL] [--store sqlite|postgres]
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { Attribute, Change } from "ldapts";
import pg from "pg";
import { createTokenService } from "../src/api/auth/token-service.js";
import { buildServer } from "../src/api/server.js";
import type { AccessRequest } from "../src/domain/request-types.js";
import { provisionIdentities } from "../src/engine/identity-provision.js";
import { ingestRecords } from "../src/engine/ingest.js";
import { connectorPool } from "../src/engine/provision.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { accessRequestRepository } from "../src/store/access-request-repository.js";
import { apiTokenRepository } from "../src/store/api-token-repository.js";
import { assignmentRepository } from "../src/store/assignment-repository.js";
import { openStore } from "../src/store/database.js";
import { startAccessTimer } from "../src/workflows/access-timer.js";
import { submitRequest } from "../src/workflows/request-submission.js";
import { SUFFIX, startSlapd } from "../test/helpers/slapd.js";
import { median, percentile } from "./bench-stats.js";

const { values } = parseArgs({
  options: {
    people: { type: "string", default: "1000" },
    auto: { type: "string", default: "100" },
    spread: { type: "string", default: "60" },
    inbox: { type: "string", default: "10000" },
    postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/test" },
    store: { type: "string", default: "sqlite" },
  },
});
const people = Number(values.people);
const autoCount = Math.min(Number(values.auto), people);
const spreadMs = Number(values.spread) * 1000;
const inboxSize = Number(values.inbox);
const run = `b${randomBytes(3).toString("hex")}`;
const dir = path.join(os.tmpdir(), `tenure-bench-requests-${process.pid}`);
const group = `${run}-oncall`;
const pgGroup = `${run}_oncall`;
const keyOf = (i: number) => `${200000 + i}`;
const usernameOf = (i: number) => `${run}_${200000 + i}`;

function summary(latencies: readonly number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50ms: Math.round(percentile(sorted, 50)),
    p99ms: Math.round(percentile(sorted, 99)),
    maxMs: Math.round(sorted.at(-1) ?? 0),
  };
}

await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const slapd = await startSlapd();
const admin = new pg.Client({ connectionString: values.postgres });
await admin.connect();
const schema = `bench_requests_${process.pid}`;
await admin.query(`create role "${pgGroup}" nologin`);
const ldap = await slapd.admin();
try {
  const database = values.store === "postgres" ? `${values.postgres}?schema=${schema}` : "sqlite:./tenure.db";
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: ${database}
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
lifecycle:
  massChangeThreshold: { percent: 100, minimum: 100000 }
systems:
  directory:
    connector: ldap
    createMissingGroups: true
    account: { username: "${run}_{employeeId}" }
    config:
      url: ${slapd.url}
      bindDn: ${slapd.adminDn}
      bindPassword: ${slapd.adminPassword}
      users: { base: "ou=people,${SUFFIX}" }
      groups: { base: "ou=groups,${SUFFIX}" }
  database:
    connector: postgres
    account: { username: "${run}_{employeeId}" }
    config:
      url: ${values.postgres}
      usernamePrefix: ${run}_
      groups: { roles: [${pgGroup}] }
      passwordSink: { file: ./passwords.jsonl }
entitlements:
  directory:
    ${group}: { privileged: true }
  database:
    ${pgGroup}: { privileged: true }
roles:
  staff:
    when: "true"
    grants: [{ system: directory }, { system: database }]
  oncall:
    elevation: true
    grants:
      - { system: directory, entitlements: [${group}] }
      - { system: database, entitlements: [${pgGroup}] }
    requestable:
      maxDuration: 8h
      approval: [manager]
      autoApprove: { when: "ticket.startsWith('INC-')" }
`,
  );
  const config = await loadConfig(path.join(dir, "tenure.yaml"));
  const store = await openStore(config.database, { baseDir: config.baseDir, create: true });
  const pool = connectorPool(config);
  try {
    // Set-up (not timed): everyone joins, with an account in both systems.
    const setup0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < people; i += 100) {
      const rows = Array.from({ length: Math.min(100, people - i) }, (_, j) => ({
        employeeId: keyOf(i + j),
        givenName: "Oncall",
        familyName: `Number${i + j}`,
        email: `oncall${i + j}@example.test`,
        department: "Engineering",
        employmentType: "employee",
        startDate: "2020-01-01",
        managerId: i + j === 0 ? "" : keyOf(0),
      }));
      const r = await ingestRecords(store, config, {
        source: "hr",
        rows,
        attributeNames: true,
        actor: "bench",
        now: new Date(),
        connectors: pool,
      });
      for (const x of r.results) ids.push(x.identityId!);
    }
    const setupSeconds = (performance.now() - setup0) / 1000;

    const dnOf = (i: number) => `uid=${usernameOf(i)},ou=people,${SUFFIX}`;
    const inLdap = async (i: number) => {
      const { searchEntries } = await ldap.search(`cn=${group},ou=groups,${SUFFIX}`, {
        attributes: ["member"],
      });
      return [searchEntries[0]?.member ?? []].flat().map(String).includes(dnOf(i));
    };
    const inPg = async (i: number) =>
      (await admin.query("select pg_has_role($1, $2, 'MEMBER') as m", [usernameOf(i), pgGroup])).rows[0]
        ?.m === true;
    const inBoth = async (i: number) => (await inLdap(i)) && (await inPg(i));

    // 1. Auto-approved elevation: submission → membership read back from both targets.
    const autoLatencies: number[] = [];
    for (let i = 1; i <= autoCount; i++) {
      const t0 = performance.now();
      const out = await submitRequest(
        store,
        config,
        {
          requesterId: ids[i]!,
          items: [{ kind: "role", role: "oncall" }],
          justification: "bench incident",
          ticket: `INC-${i}`,
          durationMs: 8 * 3_600_000,
          kind: "elevation",
        },
        { now: new Date(), actor: "bench" },
      );
      if (out.request.state !== "approved" || !(await inBoth(i))) {
        throw new Error(`elevation ${i}: ${out.request.state}, ${JSON.stringify(out.provisioning)}`);
      }
      autoLatencies.push(performance.now() - t0);
    }
    // Floor: the same grant by a bare script (first member of the group exists already).
    const floorGrant: number[] = [];
    const bare = people - 1;
    for (let k = 0; k < Math.min(autoCount, 50); k++) {
      const t0 = performance.now();
      await ldap.modify(`cn=${group},ou=groups,${SUFFIX}`, [
        new Change({
          operation: "add",
          modification: new Attribute({ type: "member", values: [dnOf(bare)] }),
        }),
      ]);
      await admin.query(`grant "${pgGroup}" to "${usernameOf(bare)}"`);
      if (!(await inBoth(bare))) throw new Error("floor grant not read back");
      floorGrant.push(performance.now() - t0);
      await ldap.modify(`cn=${group},ou=groups,${SUFFIX}`, [
        new Change({
          operation: "delete",
          modification: new Attribute({ type: "member", values: [dnOf(bare)] }),
        }),
      ]);
      await admin.query(`revoke "${pgGroup}" from "${usernameOf(bare)}"`);
    }

    // 2. Revocation: everyone (but the manager) holds the elevation; the ends follow one another.
    const expiring = Array.from({ length: people - 1 }, (_, k) => k + 1);
    const now0 = new Date();
    for (let k = autoCount + 1; k < people; k += 100) {
      const batch = expiring.slice(k - 1, k - 1 + 100);
      await store.db.transaction().execute(async (trx) => {
        for (const i of batch) {
          await assignmentRepository.insert(
            trx,
            {
              id: `${run}-a${i}`,
              identityId: ids[i]!,
              target: { role: "oncall" },
              employment: 1,
              validFrom: now0.toISOString(),
              validUntil: new Date(now0.getTime() + 8 * 3_600_000).toISOString(),
              reason: "bench",
              approvedBy: "bench",
              revokedAt: null,
            },
            now0.toISOString(),
          );
        }
      });
      await provisionIdentities(
        store,
        config,
        batch.map((i) => ids[i]!),
        {
          now: now0,
          actor: "bench",
          pool,
          run: "bench set-up",
        },
      );
    }
    for (const i of [expiring[0]!, expiring.at(-1)!])
      if (!(await inBoth(i))) throw new Error(`set-up: ${i} not granted`);
    const start = Date.now() + 5_000;
    const endOf = new Map<string, number>();
    const all = await assignmentRepository.list(store.db, { identityIds: expiring.map((i) => ids[i]!) });
    all.forEach((a, n) => {
      const end = start + Math.floor((n * spreadMs) / all.length);
      endOf.set(a.id, end);
    });
    for (const a of all) {
      await store.db
        .updateTable("assignments")
        .set({ valid_until: new Date(endOf.get(a.id)!).toISOString() })
        .where("id", "=", a.id)
        .execute();
    }
    const revokeLatencies: number[] = [];
    let unconfirmed = 0;
    const done = new Promise<void>((resolve, reject) => {
      const timer = startAccessTimer({
        store,
        config,
        now: () => new Date(),
        actor: "bench",
        onPass: (pass) => {
          const at = Date.now();
          for (const c of pass.confirmed) revokeLatencies.push(at - endOf.get(c.assignment.id)!);
          unconfirmed += pass.unconfirmed.length;
          if (revokeLatencies.length >= all.length) void timer.stop().then(resolve);
        },
        onError: (err) => void timer.stop().then(() => reject(err)),
      });
      setTimeout(
        () =>
          void timer
            .stop()
            .then(() => reject(new Error(`only ${revokeLatencies.length} of ${all.length} ended`))),
        spreadMs + 120_000,
      );
    });
    await done;
    for (const i of [expiring[0]!, expiring.at(-1)!])
      if (await inLdap(i)) throw new Error(`${i} still a member`);

    // Floor: a bare script ending the same memberships at the same pace (re-granted first, not timed).
    for (const i of expiring) {
      await ldap.modify(`cn=${group},ou=groups,${SUFFIX}`, [
        new Change({ operation: "add", modification: new Attribute({ type: "member", values: [dnOf(i)] }) }),
      ]);
      await admin.query(`grant "${pgGroup}" to "${usernameOf(i)}"`);
    }
    const floorStart = Date.now() + 2_000;
    const floorRevoke: number[] = [];
    for (let n = 0; n < expiring.length; n++) {
      const i = expiring[n]!;
      const end = floorStart + Math.floor((n * spreadMs) / expiring.length);
      const wait = end - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await ldap.modify(`cn=${group},ou=groups,${SUFFIX}`, [
        new Change({
          operation: "delete",
          modification: new Attribute({ type: "member", values: [dnOf(i)] }),
        }),
      ]);
      await admin.query(`revoke "${pgGroup}" from "${usernameOf(i)}"`);
      if ((await inLdap(i)) || (await inPg(i))) throw new Error("floor revoke not read back");
      floorRevoke.push(Date.now() - end);
    }

    // 3. The inbox: 10,000 open requests waiting for the manager.
    const manager = ids[0]!;
    const base = Date.now();
    for (let k = 0; k < inboxSize; k += 500) {
      await store.db.transaction().execute(async (trx) => {
        for (let j = k; j < Math.min(inboxSize, k + 500); j++) {
          const r: AccessRequest = {
            id: `${new Date(base + j).toISOString().replace(/[-:.TZ]/g, "")}-${run}${j}`,
            kind: "request",
            requesterId: ids[1 + (j % (people - 1))]!,
            beneficiaryId: ids[1 + (j % (people - 1))]!,
            items: [{ kind: "role", role: "oncall" }],
            justification: "bench",
            ticket: null,
            durationMs: 3_600_000,
            state: "pending",
            steps: [{ name: "manager", approvers: [manager], required: 1 }],
            currentStep: 0,
            decisions: [],
            submittedAt: new Date(base).toISOString(),
            expiresAt: new Date(base + 86_400_000).toISOString(),
            closedAt: null,
            version: 1,
          };
          await accessRequestRepository.insert(trx, r);
        }
      });
    }
    const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now: () => new Date() });
    const { token } = await tokens.create({
      name: `${run}-manager`,
      role: "requester",
      expiresAt: null,
      actor: "bench",
      identity: keyOf(0),
    });
    const app = await buildServer({ store, config, tokens, now: () => new Date(), logLevel: "silent" });
    await app.ready();
    const firstPage: number[] = [];
    const fullList: number[] = [];
    const floorPage: number[] = [];
    for (let n = 0; n < 15; n++) {
      let t0 = performance.now();
      const page = await app.inject({
        url: "/api/requests?view=waiting&limit=100",
        headers: { authorization: `Bearer ${token}` },
      });
      if (page.statusCode !== 200 || page.json().items.length !== 100)
        throw new Error(page.body.slice(0, 300));
      firstPage.push(performance.now() - t0);
      t0 = performance.now();
      let cursor: string | null = null;
      let seen = 0;
      do {
        const res = await app.inject({
          url: `/api/requests?view=waiting&limit=500${cursor ? `&cursor=${cursor}` : ""}`,
          headers: { authorization: `Bearer ${token}` },
        });
        const body = res.json() as { items: unknown[]; nextCursor: string | null };
        seen += body.items.length;
        cursor = body.nextCursor;
      } while (cursor !== null);
      if (seen !== inboxSize) throw new Error(`listed ${seen} of ${inboxSize}`);
      fullList.push(performance.now() - t0);
      t0 = performance.now();
      await sql`select r.* from access_request_approvers a join access_requests r on r.id = a.request_id
        where a.approver_id = ${manager} and r.state = 'pending' order by a.request_id limit 100`.execute(
        store.db,
      );
      floorPage.push(performance.now() - t0);
    }
    await app.close();

    const auto = summary(autoLatencies);
    const autoFloor = summary(floorGrant);
    const revoke = summary(revokeLatencies);
    const revokeFloor = summary(floorRevoke);
    console.log(
      JSON.stringify({
        name: "access-requests",
        store: values.store,
        people,
        targets: ["ldap (OpenLDAP group)", "postgres (role membership)"],
        setupSeconds: +setupSeconds.toFixed(1),
        autoApprove: {
          elevations: autoCount,
          ...auto,
          floor: autoFloor,
          ratioP50: +(auto.p50ms / Math.max(1, autoFloor.p50ms)).toFixed(1),
        },
        revocation: {
          assignments: revokeLatencies.length,
          spreadSeconds: spreadMs / 1000,
          unconfirmedPasses: unconfirmed,
          ...revoke,
          floor: revokeFloor,
        },
        inbox: {
          open: inboxSize,
          firstPageMs: +median(firstPage).toFixed(1),
          allPagesMs: +median(fullList).toFixed(1),
          floorFirstPageMs: +median(floorPage).toFixed(1),
        },
      }),
    );
  } finally {
    await pool.closeAll();
    if (values.store === "postgres") await store.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await store.close();
  }
} finally {
  await ldap.unbind();
  const roles = await admin.query("select rolname from pg_roles where rolname like $1", [`${run}\\_%`]);
  for (const { rolname } of roles.rows as { rolname: string }[]) {
    await admin.query(`drop role if exists "${rolname.replaceAll('"', '""')}"`);
  }
  await admin.end();
  await slapd.stop();
  await rm(dir, { recursive: true, force: true });
}
