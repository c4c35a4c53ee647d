/**
 * Reconcile of a large OpenLDAP directory: 100,000 people (loaded with slapadd before slapd starts)
 * in 20 groups, three memberships each, and as many identities in the store (imported from CSV
 * beforehand, not timed). Timed: one `reconcileSystem` — the paged read of every entry and group, the
 * correlation to identities, and the write of the accounts table — in a fresh child process, so the
 * memory it reports (resident set at start and at peak) is the reconcile's alone. Prints one JSON line.
 *   node --import tsx bench/ldap-reconcile.bench.ts [--entries 100000] [--postgres URL] [--store sqlite|postgres]
 */
import { spawnSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createConnector } from "../src/connectors/connector-registry.js";
import { reconcileSystem } from "../src/engine/reconcile.js";
import { syncAll } from "../src/engine/sync.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { openStore } from "../src/store/database.js";
import { type Slapd, SUFFIX, startSlapd } from "../test/helpers/slapd.js";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "100000" },
    postgres: { type: "string" },
    store: { type: "string", default: "sqlite" },
    // Internal: the timed reconcile runs in a child process of its own, so its memory is its own.
    "reconcile-only": { type: "string" },
  },
});
const entries = Number(values.entries);
const GROUPS = 20;
const dir = path.join(os.tmpdir(), `tenure-bench-reconcile-${process.pid}`);
const now = new Date("2026-11-21T10:00:00Z");
const usernameOf = (i: number) => `p${i}`;
const userDn = (i: number) => `uid=${usernameOf(i)},ou=people,${SUFFIX}`;

function* directory(): Generator<[string, Record<string, string | string[]>]> {
  for (let i = 0; i < entries; i++) {
    yield [
      userDn(i),
      {
        objectClass: "inetOrgPerson",
        uid: usernameOf(i),
        cn: `Person ${i}`,
        sn: `Number${i}`,
        mail: `person${i}@example.test`,
        displayName: `Person ${i}`,
      },
    ];
  }
  for (let g = 0; g < GROUPS; g++) {
    const member: string[] = [];
    // Person i is in groups i, i+7 and i+13 (mod 20): three memberships each.
    for (let i = 0; i < entries; i++) {
      if ([i % GROUPS, (i + 7) % GROUPS, (i + 13) % GROUPS].includes(g)) member.push(userDn(i));
    }
    yield [`cn=group${g},ou=groups,${SUFFIX}`, { objectClass: "groupOfNames", cn: `group${g}`, member }];
  }
}

/** The timed part, in the child: one reconcile of the configured directory. */
async function reconcileOnly(configPath: string): Promise<Record<string, unknown>> {
  const config = await loadConfig(configPath);
  const store = await openStore(config.database, { baseDir: config.baseDir });
  try {
    const system = config.policy.systems.directory!;
    const connector = createConnector("directory", system.connector, system.connectorConfig);
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const report = await reconcileSystem(store, config.policy, "directory", connector, {
      now,
      actor: "bench",
    });
    const seconds = (performance.now() - t0) / 1000;
    await connector.close();
    return {
      seconds: +seconds.toFixed(2),
      entriesPerSecond: Math.round(entries / seconds),
      accounts: report.accounts,
      correlated: report.correlated,
      orphans: report.orphans.length,
      rssAtStartMB: Math.round(rssBefore / 1048576),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    await store.close();
  }
}

if (values["reconcile-only"] !== undefined) {
  console.log(JSON.stringify(await reconcileOnly(values["reconcile-only"])));
  process.exit(0);
}

await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
let slapd: Slapd | undefined;
try {
  const t0 = performance.now();
  slapd = await startSlapd({ preload: directory() });
  const loadSeconds = (performance.now() - t0) / 1000;

  const csv = [
    "employeeId,givenName,familyName,displayName,email,department,employmentType,status,startDate",
  ];
  for (let i = 0; i < entries; i++) {
    csv.push(`${i},Person,Number${i},Person ${i},person${i}@example.test,Sales,employee,active,2020-01-01`);
  }
  await writeFile(path.join(dir, "hr.csv"), `${csv.join("\n")}\n`);
  const schema = `bench_reconcile_${process.pid}`;
  const database =
    values.store === "postgres"
      ? `${values.postgres ?? "postgres://postgres@127.0.0.1:5432/test"}?schema=${schema}`
      : "sqlite:./tenure.db";
  const configPath = path.join(dir, "tenure.yaml");
  await writeFile(
    configPath,
    `database: ${database}
sources:
  hr: { type: csv, path: ./hr.csv, key: employeeId, timeZone: UTC }
systems:
  directory:
    connector: ldap
    account: { username: "p{employeeId}" }
    config:
      url: ${slapd.url}
      bindDn: ${slapd.adminDn}
      bindPassword: ${slapd.adminPassword}
      pageSize: 1000
      users:
        base: ou=people,${SUFFIX}
        attributes: { email: mail, displayName: displayName }
      groups: { base: "ou=groups,${SUFFIX}" }
`,
  );
  const config = await loadConfig(configPath);
  const store = await openStore(config.database, { baseDir: config.baseDir });
  try {
    await syncAll(store, config, { now, actor: "bench" });
    const child = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "--entries",
        String(entries),
        "--reconcile-only",
        configPath,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
    if (child.status !== 0) throw new Error(`the reconcile child failed (${child.status})`);
    const measured = JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
    console.log(
      JSON.stringify({
        name: "ldap-reconcile",
        store: values.store,
        entries,
        groups: GROUPS,
        memberships: entries * 3,
        slapaddSeconds: +loadSeconds.toFixed(1),
        ...measured,
      }),
    );
  } finally {
    if (values.store === "postgres") await store.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await store.close();
  }
} finally {
  await slapd?.stop();
  await rm(dir, { recursive: true, force: true });
}
