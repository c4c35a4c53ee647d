/**
 * A burst of SCIM pushes: N Users POSTed to Tenure's SCIM server (`tenure serve`'s own, in this
 * process) by 32 concurrent clients, as an identity provider's first load does. Each push is ingested
 * and the person provisioned into a real OpenLDAP before the answer (one account, one group). Then
 * everything is counted where it landed — the answers, the SCIM resources, the identities and the
 * directory entries — and any difference is reported as lost. Prints one JSON line.
 *   node --import tsx bench/scim-burst.bench.ts [--users 10000] [--clients 32] [--postgres URL] [--store sqlite|postgres]
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { SUFFIX, startSlapd } from "../test/helpers/slapd.js";
import { startBenchServer } from "./bench-server.js";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "10000" },
    clients: { type: "string", default: "32" },
    postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/test" },
    store: { type: "string", default: "sqlite" },
  },
});
const users = Number(values.users);
const clients = Number(values.clients);
const dir = path.join(os.tmpdir(), `tenure-bench-scim-${process.pid}`);
const schema = `bench_scim_${process.pid}`;

await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const slapd = await startSlapd();
try {
  const admin = await slapd.admin();
  await admin.add(`cn=everyone,ou=groups,${SUFFIX}`, {
    objectClass: "groupOfNames",
    cn: "everyone",
    member: slapd.adminDn,
  });
  await admin.unbind();
  const database = values.store === "postgres" ? `${values.postgres}?schema=${schema}` : "sqlite:./tenure.db";
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: ${database}
sources:
  idp: { type: push, key: employeeId, timeZone: UTC }
server:
  scim: { source: idp, key: externalId }
lifecycle:
  massChangeThreshold: { percent: 100, minimum: 1000000 }
systems:
  directory:
    connector: ldap
    account: { username: "u{employeeId}" }
    config:
      url: ${slapd.url}
      bindDn: ${slapd.adminDn}
      bindPassword: ${slapd.adminPassword}
      users: { base: "ou=people,${SUFFIX}", attributes: { displayName: displayName, email: mail } }
      groups: { base: "ou=groups,${SUFFIX}" }
entitlements:
  directory:
    everyone: { displayName: Everyone }
roles:
  staff:
    when: "true"
    grants: [ { system: directory, entitlements: [everyone] } ]
`,
  );
  const { server, store, token, close } = await startBenchServer(path.join(dir, "tenure.yaml"));
  try {
    const statuses = new Map<number, number>();
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = next++; i < users; i = next++) {
          const response = await fetch(`${server.url}/scim/v2/Users`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
            body: JSON.stringify({
              schemas: [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
              ],
              externalId: String(100000 + i),
              userName: `person${i}@example.test`,
              name: { givenName: "Person", familyName: `Number${i}` },
              displayName: `Person ${i}`,
              emails: [{ value: `person${i}@example.test`, type: "work", primary: true }],
              active: true,
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "Sales" },
            }),
          });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const resources = await store.db
      .selectFrom("scim_resources")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const identities = await store.db
      .selectFrom("identities")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const open = await store.db
      .selectFrom("operations")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("state", "not in", ["succeeded"])
      .executeTakeFirstOrThrow();
    const reader = await slapd.admin();
    const { searchEntries } = await reader.search(`ou=people,${SUFFIX}`, {
      filter: "(uid=*)",
      attributes: ["uid"],
      paged: { pageSize: 1000 },
    });
    await reader.unbind();
    const created = statuses.get(201) ?? 0;
    console.log(
      JSON.stringify({
        name: "scim-burst",
        store: values.store,
        users,
        clients,
        seconds: +seconds.toFixed(1),
        pushesPerSecond: Math.round(users / seconds),
        answers: Object.fromEntries(statuses),
        scimResources: Number(resources.n),
        identities: Number(identities.n),
        directoryEntries: searchEntries.length,
        operationsNotSucceeded: Number(open.n),
        lost: users - Math.min(created, Number(resources.n), Number(identities.n), searchEntries.length),
      }),
    );
  } finally {
    await close(values.store === "postgres" ? schema : undefined);
  }
} finally {
  await slapd.stop();
  await rm(dir, { recursive: true, force: true });
}
