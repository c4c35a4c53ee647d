/**
 * Provisioning 10,000 people into a real OpenLDAP through the engine (HR import done beforehand; timed:
 * first-contact reconcile, plan, queue, apply — every operation recorded and audited), and the same
 * writes (one entry add and three group `member` adds per person) from a bare ldapts script against a
 * second, identical slapd in the same run. The bare script runs with the engine's concurrency (8 lanes,
 * one bound connection each), and once more with one connection, one write at a time. Prints one
 * JSON line.
 *   node --import tsx bench/ldap-provision.bench.ts [--people 10000] [--postgres URL] [--store sqlite|postgres]
 */

import { rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Attribute, Change, type Client } from "ldapts";
import { provision } from "../src/engine/provision.js";
import { syncAll } from "../src/engine/sync.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { openStore } from "../src/store/database.js";
import { type Slapd, SUFFIX, startSlapd } from "../test/helpers/slapd.js";
import { benchPersonEntry, benchUsername } from "./bench-ldap-person.js";

const { values } = parseArgs({
  options: {
    people: { type: "string", default: "10000" },
    postgres: { type: "string" },
    store: { type: "string", default: "sqlite" },
  },
});
const people = Number(values.people);
const GROUPS = ["engineering", "vpn", "wiki"] as const;
const LANES = 8;
const dir = path.join(os.tmpdir(), `tenure-bench-ldap-${process.pid}`);
const now = new Date("2026-11-21T10:00:00Z");

const usernameOf = benchUsername;
const userDn = (i: number) => `uid=${usernameOf(i)},ou=people,${SUFFIX}`;
const userEntry = benchPersonEntry;

async function addGroups(slapd: Slapd): Promise<void> {
  const client = await slapd.admin();
  try {
    for (const cn of GROUPS) {
      await client.add(`cn=${cn},ou=groups,${SUFFIX}`, {
        objectClass: "groupOfNames",
        cn,
        member: slapd.adminDn,
      });
    }
  } finally {
    await client.unbind();
  }
}

async function bareScript(slapd: Slapd, lanes: number): Promise<number> {
  const clients: Client[] = await Promise.all(Array.from({ length: lanes }, () => slapd.admin()));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = next++; i < people; i = next++) {
        await client.add(userDn(i), userEntry(i));
        for (const cn of GROUPS) {
          await client.modify(
            `cn=${cn},ou=groups,${SUFFIX}`,
            new Change({
              operation: "add",
              modification: new Attribute({ type: "member", values: [userDn(i)] }),
            }),
          );
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(clients.map((c) => c.unbind()));
  return seconds;
}

async function countMembers(slapd: Slapd): Promise<number> {
  const client = await slapd.admin();
  try {
    let total = 0;
    for (const cn of GROUPS) {
      const { searchEntries } = await client.search(`cn=${cn},ou=groups,${SUFFIX}`, {
        attributes: ["member"],
      });
      const member = searchEntries[0]?.member;
      total += (Array.isArray(member) ? member.length : 1) - 1;
    }
    return total;
  } finally {
    await client.unbind();
  }
}

async function engineRun(slapd: Slapd): Promise<Record<string, unknown>> {
  const csv = [
    "employeeId,givenName,familyName,displayName,email,department,employmentType,status,startDate",
  ];
  for (let i = 0; i < people; i++) {
    csv.push(
      `${i},Person,Number${i},Person ${i},person${i}@example.test,Engineering,employee,active,2020-01-01`,
    );
  }
  await writeFile(path.join(dir, "hr.csv"), `${csv.join("\n")}\n`);
  const schema = `bench_ldap_${process.pid}`;
  const database =
    values.store === "postgres"
      ? `${values.postgres ?? "postgres://postgres@127.0.0.1:5432/test"}?schema=${schema}`
      : "sqlite:./tenure.db";
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: ${database}
sources:
  hr: { type: csv, path: ./hr.csv, key: employeeId, timeZone: UTC }
lifecycle:
  massChangeThreshold: { percent: 100, minimum: 1000000 }
systems:
  directory:
    connector: ldap
    account:
      username: "p{employeeId}"
      attributes: { email: "{email}", displayName: "{displayName}", givenName: "{givenName}", familyName: "{familyName}" }
    config:
      url: ${slapd.url}
      bindDn: ${slapd.adminDn}
      bindPassword: ${slapd.adminPassword}
      users:
        base: ou=people,${SUFFIX}
        attributes: { email: mail, displayName: displayName, givenName: givenName, familyName: sn }
      groups: { base: "ou=groups,${SUFFIX}" }
entitlements:
  directory:
${GROUPS.map((g) => `    ${g}: { displayName: ${g} }`).join("\n")}
roles:
  engineer:
    when: "department == 'Engineering'"
    grants:
      - { system: directory, entitlements: [${GROUPS.join(", ")}] }
`,
  );
  const config = await loadConfig(path.join(dir, "tenure.yaml"));
  const store = await openStore(config.database, { baseDir: config.baseDir });
  try {
    await syncAll(store, config, { now, actor: "bench" });
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const result = await provision(store, config, { now: () => new Date(), actor: "bench" });
    const seconds = (performance.now() - t0) / 1000;
    const summary = result.applied?.summary;
    return {
      store: values.store,
      seconds: +seconds.toFixed(2),
      operations: summary?.succeeded ?? 0,
      failed: (summary?.failed ?? 0) + (summary?.dead ?? 0),
      operationsPerMinute: Math.round(((summary?.succeeded ?? 0) / seconds) * 60),
      rssGrowthMB: Math.round((process.memoryUsage().rss - rss0) / 1048576),
    };
  } finally {
    if (values.store === "postgres") await store.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await store.close();
  }
}

await rm(dir, { recursive: true, force: true });
await (await import("node:fs/promises")).mkdir(dir, { recursive: true });
const slapds: Slapd[] = [];
try {
  const start = async () => {
    const s = await startSlapd();
    slapds.push(s);
    await addGroups(s);
    return s;
  };
  const engineSlapd = await start();
  const engine = await engineRun(engineSlapd);
  const engineMembers = await countMembers(engineSlapd);
  const bare = await bareScript(await start(), LANES);
  const bareSequential = await bareScript(await start(), 1);
  const engineSeconds = engine.seconds as number;
  console.log(
    JSON.stringify({
      name: "ldap-provision",
      people,
      groupsEach: GROUPS.length,
      engine,
      engineMembershipsWritten: engineMembers,
      bareSeconds: +bare.toFixed(2),
      bareSequentialSeconds: +bareSequential.toFixed(2),
      engineOverBare: +(engineSeconds / bare).toFixed(2),
      engineOverBareSequential: +(engineSeconds / bareSequential).toFixed(2),
    }),
  );
} finally {
  for (const s of slapds) await s.stop();
  await rm(dir, { recursive: true, force: true });
}
