/**
 * A burst of SCIM pushes: N Users POSTed to Tenure's SCIM server (`tenure serve`'s own, in this
 * process) by 32 concurrent clients, as an identity provider's first load does — beside its floors,
 * driven by the same clients in the same run (bench/scim-floors.ts), so each figure is a ratio.
 *
 * - `--target ldap`: each push is ingested and the person provisioned into a real OpenLDAP before the
 *   answer (one account, one group). Floor: a bare ldapts script making the same directory writes
 *   with as many connections (a fresh slapd of its own). Goal: ≥ 0.8× that floor, and ≥ 500 pushes
 *   per second on PostgreSQL, nothing lost. Beside it, the bare insert endpoint on the same store kind
 *   making those directory writes before each answer (`bareProvision`): the least work such a push is,
 *   store and directory together on this machine's cores.
 * - `--target none`: no connected system, the push is Tenure's own work (identity, source record,
 *   audit, SCIM resource). Floors: a bare Fastify + store insert endpoint on the same store kind
 *   (goal ≥ 0.5×), and scimmy storing in memory (goal: ahead of it).
 *
 * Then everything is counted where it landed — the answers, the SCIM resources, the identities and
 * the directory entries — and any difference is reported as lost. Prints one JSON line per store and
 * target.
 * - `--instances 1,2`: on PostgreSQL with the OpenLDAP target, the burst again through 2 real `tenure
 *   serve` processes on the one store, the clients alternating between them, as behind a load balancer
 *   (SQLite is one process per store: 1 only).
 *
 *   node --import tsx bench/scim-burst.bench.ts [--users 10000] [--clients 32] [--postgres URL]
 *     [--store sqlite,postgres] [--target ldap,none] [--instances 1,2] [--push-concurrency N]
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { SUFFIX, startSlapd } from "../test/helpers/slapd.js";
import { startBenchServer, startServeProcesses } from "./bench-server.js";
import { addEveryoneGroup, scimBurstYaml } from "./scim-burst-config.js";
import {
  type BurstResult,
  bareInsertFloor,
  bareProvisionFloor,
  burst,
  ldapFloor,
  postUser,
  scimmyFloor,
} from "./scim-floors.js";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "10000" },
    clients: { type: "string", default: "32" },
    postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/test" },
    store: { type: "string", default: "sqlite,postgres" },
    target: { type: "string", default: "ldap,none" },
    instances: { type: "string", default: "1,2" },
    // server.pushConcurrency of the Tenure under test; none: its default.
    "push-concurrency": { type: "string" },
  },
});
const pushConcurrency =
  values["push-concurrency"] === undefined ? undefined : Number(values["push-concurrency"]);
const users = Number(values.users);
const clients = Number(values.clients);
const stores = values.store.split(",") as ("sqlite" | "postgres")[];
const targets = values.target.split(",") as ("ldap" | "none")[];
const instanceCounts = values.instances.split(",").map(Number);

/** Tenure's burst into a fresh store (and a fresh slapd for `ldap`), counted where it landed. */
async function tenureBurst(
  store: "sqlite" | "postgres",
  target: "ldap" | "none",
  dir: string,
  instances: number,
) {
  const slapd = target === "ldap" ? await startSlapd() : undefined;
  const schema = `bench_scim_${process.pid}_${target}_${instances}`;
  try {
    if (slapd !== undefined) await addEveryoneGroup(slapd);
    const database =
      store === "postgres" ? `${values.postgres}?schema=${schema}` : `sqlite:./tenure-${target}.db`;
    await writeFile(path.join(dir, "tenure.yaml"), scimBurstYaml(database, slapd, clients, pushConcurrency));
    const bench =
      instances === 1
        ? await startBenchServer(path.join(dir, "tenure.yaml")).then((b) => ({
            ...b,
            urls: [b.server.url.replace(/\/$/, "")],
          }))
        : await startServeProcesses(path.join(dir, "tenure.yaml"), instances);
    try {
      const result = await burst(users, clients, (i) =>
        postUser(`${bench.urls[i % bench.urls.length]}/scim/v2/Users`, bench.token, i),
      );
      const count = async (table: "scim_resources" | "identities") =>
        Number(
          (
            await bench.store.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as("n"))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const open = await bench.store.db
        .selectFrom("operations")
        .select(["state", (eb) => eb.fn.countAll().as("n")])
        .where("state", "not in", ["succeeded"])
        .groupBy("state")
        .execute();
      let directoryEntries: number | undefined;
      if (slapd !== undefined) {
        const reader = await slapd.admin();
        const { searchEntries } = await reader.search(`ou=people,${SUFFIX}`, {
          filter: "(uid=*)",
          attributes: ["uid"],
          paged: { pageSize: 1000 },
        });
        await reader.unbind();
        directoryEntries = searchEntries.length;
      }
      const counted = {
        created: result.answers["201"] ?? 0,
        scimResources: await count("scim_resources"),
        identities: await count("identities"),
        ...(directoryEntries !== undefined ? { directoryEntries } : {}),
      };
      return {
        result,
        counted,
        operationsNotSucceeded: Object.fromEntries(open.map((o) => [o.state, Number(o.n)])),
        lost: users - Math.min(...Object.values(counted)),
      };
    } finally {
      await bench.close(store === "postgres" ? schema : undefined);
    }
  } finally {
    await slapd?.stop();
  }
}

const ratio = (tenure: BurstResult, floor: BurstResult) => +(tenure.perSecond / floor.perSecond).toFixed(2);

for (const store of stores) {
  for (const target of targets) {
    const dir = path.join(os.tmpdir(), `tenure-bench-scim-${process.pid}-${store}-${target}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    try {
      const floors: Record<string, BurstResult> = {};
      if (target === "ldap") {
        const slapd = await startSlapd();
        try {
          floors.ldapts = await ldapFloor(slapd, users, clients);
          floors.bareProvision = await bareProvisionFloor(store, slapd, {
            dir,
            postgresUrl: values.postgres,
            users,
            clients,
          });
        } finally {
          await slapd.stop();
        }
      } else {
        floors.bareInsert = await bareInsertFloor(store, {
          dir,
          postgresUrl: values.postgres,
          users,
          clients,
        });
        floors.scimmy = await scimmyFloor(users, clients);
      }
      // Several serve processes share one store: PostgreSQL only, and measured into OpenLDAP.
      const runs = instanceCounts.filter((n) => n === 1 || (store === "postgres" && target === "ldap"));
      for (const instances of runs) {
        const tenure = await tenureBurst(store, target, dir, instances);
        const ratios = Object.fromEntries(
          Object.entries(floors).map(([name, floor]) => [
            `vs${name[0]!.toUpperCase()}${name.slice(1)}`,
            ratio(tenure.result, floor),
          ]),
        );
        console.log(
          JSON.stringify({
            name: "scim-burst",
            store,
            target,
            instances,
            users,
            clients,
            seconds: tenure.result.seconds,
            pushesPerSecond: tenure.result.perSecond,
            // With serve processes of their own, this process's CPU is only the clients'.
            ...(instances === 1 ? { cpuMsPerPush: tenure.result.cpuMsPerRequest } : {}),
            answers: tenure.result.answers,
            ...tenure.counted,
            operationsNotSucceeded: tenure.operationsNotSucceeded,
            lost: tenure.lost,
            floors,
            ratios,
            goals:
              target === "ldap"
                ? { vsLdapts: 0.8, ...(store === "postgres" ? { pushesPerSecond: 500 } : {}) }
                : { vsBareInsert: 0.5, vsScimmy: 1 },
            load: os.loadavg().map((l) => +l.toFixed(2)),
          }),
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
