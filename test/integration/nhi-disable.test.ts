import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "ldapts";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import type { Identity } from "../../src/domain/identity-types.js";
import { connectorPool } from "../../src/engine/connector-pool.js";
import { computeProvisionPlan } from "../../src/engine/provision.js";
import { reconcileSystems } from "../../src/engine/reconcile.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { accountRepository } from "../../src/store/account-repository.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { nhiAccountHoldRepository } from "../../src/store/nhi-account-hold-repository.js";
import { nhiRepository } from "../../src/store/nhi-repository.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { syncNhiInventory } from "../../src/workflows/nhi-inventory.js";
import { assignNhiOwner } from "../../src/workflows/nhi-owner.js";
import { nhiOwnerSuccession } from "../../src/workflows/nhi-succession.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import {
  asSuperuser,
  pgLogsIn as clusterLetsIn,
  findPostgresBin,
  type PostgresCluster,
  startPostgresCluster,
} from "../helpers/postgres-cluster.js";
import { ADMIN_DN, findSlapd, type Slapd, SUFFIX, startSlapd } from "../helpers/slapd.js";
import { testPerson } from "../helpers/test-person.js";
import { tempDir } from "../helpers/workspace.js";

/**
 * Issue 17, item 3: "disabled by policy" means the credential stops working. A PostgreSQL cluster that
 * checks passwords holds the NHIs' login roles; an OpenLDAP slapd with ppolicy holds a service account.
 * The owner leaves; succession passes ownership to their manager, who does not confirm in time (or there
 * is nobody to pass to); the NHI is disabled — and a login (a bind) with its unchanged, valid password is
 * now refused. The store shows the hold and the durable operation, the ledger every step; the next plan
 * does not enable the account again; an owner assigned enables it (the same password works again); an
 * account enabled again outside Tenure is disabled again.
 */

const pgInstalled = (await findPostgresBin()) !== undefined;
const slapdInstalled = (await findSlapd()) !== undefined;
if (process.env.CI === "true" && (!pgInstalled || !slapdInstalled)) {
  throw new Error("PostgreSQL (initdb) and slapd are required under CI=true");
}
if (!pgInstalled)
  console.warn("skipping the NHI disable tests: PostgreSQL is not installed (apt-get install -y postgresql)");

const DAY = 86_400_000;
const T0 = new Date("2026-12-01T09:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const run = `d${randomBytes(3).toString("hex")}_`;
const ident = pg.escapeIdentifier;

let cluster: PostgresCluster | undefined;
let slapd: Slapd | undefined;

/** Runs one statement as the cluster's superuser. */
const superuser = (text: string) => asSuperuser(cluster!, text);
/** Whether the cluster lets `role` in with `password`. */
const pgLogsIn = (role: string, password: string) => clusterLetsIn(cluster!, role, password);

const userDn = (uid: string) => `uid=${uid},ou=people,${SUFFIX}`;

/** Whether slapd accepts a bind as `uid` with `password` (false on invalidCredentials, 49). */
async function ldapBinds(uid: string, password: string): Promise<boolean> {
  const client = new Client({ url: slapd!.url, timeout: 3000, connectTimeout: 3000 });
  try {
    await client.bind(userDn(uid), password);
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 49) return false;
    throw err;
  } finally {
    await client.unbind().catch(() => {});
  }
}

function ssha(secret: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash("sha1").update(secret).update(salt).digest(), salt]).toString("base64")}`;
}

const person = (key: string, manager: string | null, state: Identity["state"] = "active") =>
  testPerson(key, { manager, state, at: T0, department: "Finance" });

beforeAll(async () => {
  await Promise.all([
    (async () => {
      if (pgInstalled) cluster = await startPostgresCluster();
    })(),
    (async () => {
      if (slapdInstalled) slapd = await startSlapd();
    })(),
  ]);
});

afterAll(async () => {
  await cluster?.stop();
  await slapd?.stop();
});

let storeNumber = 0;

describe.skipIf(!pgInstalled).each(await storeFactories())(
  "a disabled NHI's credential stops working, recorded in the %s store",
  (_kind, makeStore) => {
    const prefix = `${run}${++storeNumber}_`;
    const BILLING = `${prefix}svc_billing`;
    const REPORT = `${prefix}svc_report`;
    const LDAP_UID = `${prefix}svc_ldap`;
    const BILLING_PW = `pw-${randomBytes(9).toString("hex")}`;
    const REPORT_PW = `pw-${randomBytes(9).toString("hex")}`;
    const LDAP_PW = `pw-${randomBytes(9).toString("hex")}`;
    const actor = "test";
    let store: TestStore;
    let config: TenureConfig;
    let dispose: () => Promise<void>;

    const nhiNamed = async (name: string) => (await nhiRepository.findByName(store.db, name))!;
    const actions = async (subject: string) =>
      (await queryEvents(store.db, { subject, limit: 1000 })).map((e) => e.action);
    const reconcile = async (systems: string[], now: Date) => {
      const pool = connectorPool(config);
      try {
        const done = await reconcileSystems(store, config, systems, pool, { now: () => now, actor });
        expect(done.failed).toBe(0);
      } finally {
        await pool.closeAll();
      }
    };

    beforeAll(async () => {
      let dir: string;
      ({ dir, dispose } = await tempDir("tenure-nhi-disable-"));
      await superuser(`CREATE ROLE ${ident(BILLING)} LOGIN PASSWORD '${BILLING_PW}'`);
      await superuser(`CREATE ROLE ${ident(REPORT)} LOGIN PASSWORD '${REPORT_PW}'`);
      const ldap = slapd !== undefined;
      if (ldap) {
        const admin = await slapd!.admin();
        try {
          await admin.add(userDn(LDAP_UID), {
            objectClass: ["inetOrgPerson"],
            uid: LDAP_UID,
            cn: LDAP_UID,
            sn: LDAP_UID,
            userPassword: ssha(LDAP_PW),
          });
        } finally {
          await admin.unbind();
        }
      }
      await writeFile(
        path.join(dir, "tenure.yaml"),
        `systems:
  warehouse:
    connector: postgres
    config:
      url: \${env:WAREHOUSE_URL}
      usernamePrefix: "${prefix}"
      passwordSink: { file: ./connector-passwords.jsonl }
      timeoutMs: 5000
${
  ldap
    ? `  dir:
    connector: ldap
    config:
      url: ${slapd!.url}
      bindDn: "${ADMIN_DN}"
      bindPassword: \${env:LDAP_PASSWORD}
      users: { base: "ou=people,${SUFFIX}" }
      groups: { base: "ou=groups,${SUFFIX}" }
      timeoutMs: 5000
`
    : ""
}nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
    - { name: ${BILLING}, type: service_account, system: warehouse, owner: E2, purpose: nightly billing export }
${ldap ? `    - { name: ${LDAP_UID}, type: service_account, system: dir, owner: E4, purpose: directory sync }\n` : ""}  discover:
    - { system: warehouse, usernameLike: "${prefix}svc_report%" }
`,
      );
      config = await loadConfig(path.join(dir, "tenure.yaml"), {
        env: { WAREHOUSE_URL: cluster!.url(), LDAP_PASSWORD: slapd?.adminPassword ?? "" },
      });
      store = await makeStore();
      // E1 manages E2; E3 and E4 have no manager and there is no fallback: nobody to pass to.
      await identityRepository.upsertMany(store.db, [
        person("E1", null),
        person("E2", "E1"),
        person("E3", null),
        person("E4", null),
      ]);
      await reconcile(ldap ? ["warehouse", "dir"] : ["warehouse"], T0);
      await syncNhiInventory(store, config, { now: T0, actor });
      // The discovered login gets an owner by hand.
      await assignNhiOwner(store, config, `${REPORT}@warehouse`, { owner: "E3" }, { now: T0, actor });
    }, 60_000);
    afterAll(async () => {
      await store?.dispose();
      await dispose?.();
    });

    it("disables the discovered login at once when its owner leaves with nobody to pass to", async () => {
      expect(await pgLogsIn(REPORT, REPORT_PW)).toBe(true);
      await identityRepository.upsertMany(store.db, [
        person("E2", "E1", "terminated"),
        person("E3", null, "terminated"),
      ]);
      const tick = await nhiOwnerSuccession(store, config, { now: at(1), actor });
      expect(tick.pending).toEqual([{ name: BILLING, to: "id-E1" }]);
      expect(tick.disabled).toEqual([`${REPORT}@warehouse`]);
      expect(tick.accounts).toEqual([
        expect.objectContaining({
          name: `${REPORT}@warehouse`,
          system: "warehouse",
          // The discovered account's username, not the NHI's name.
          username: REPORT,
          outcome: "disable-queued",
          operationId: expect.any(String),
        }),
      ]);
      expect(await pgLogsIn(REPORT, REPORT_PW)).toBe(false);
      // The other NHI, still pending, keeps working.
      expect(await pgLogsIn(BILLING, BILLING_PW)).toBe(true);
    });

    it("disables the declared login when the successor does not confirm by the deadline", async () => {
      expect((await nhiOwnerSuccession(store, config, { now: at(7), actor })).disabled).toEqual([]);
      expect(await pgLogsIn(BILLING, BILLING_PW)).toBe(true);

      const tick = await nhiOwnerSuccession(store, config, { now: at(9), actor });
      expect(tick.disabled).toEqual([BILLING]);
      const [outcome] = tick.accounts;
      expect(tick.accounts).toHaveLength(1);
      expect(outcome).toMatchObject({ name: BILLING, username: BILLING, outcome: "disable-queued" });
      // Its password is unchanged and valid; the role may no longer log in.
      expect(await pgLogsIn(BILLING, BILLING_PW)).toBe(false);

      // The store: the NHI disabled, its hold, the durable operation (succeeded), the account row.
      const nhi = await nhiNamed(BILLING);
      expect(nhi.disabledReason).toMatch(/not confirmed by/);
      expect(await nhiAccountHoldRepository.find(store.db, nhi.id)).toMatchObject({
        state: "held",
        system: "warehouse",
        username: BILLING,
        wasEnabled: true,
      });
      const op = (await operationRepository.find(store.db, outcome!.operationId!))!;
      expect(op).toMatchObject({
        system: "warehouse",
        kind: "disable",
        username: BILLING,
        identityId: nhi.id,
        state: "succeeded",
        drift: false,
      });
      expect(op.lineage).toEqual([
        expect.objectContaining({ kind: "lifecycle", policy: "nhi.policy.onOwnerLeave" }),
      ]);
      expect(op.reason).toContain(`NHI ${BILLING}`);
      expect(await accountRepository.find(store.db, "warehouse", BILLING)).toMatchObject({
        enabled: false,
        identityId: null,
      });

      // The ledger: each step, filed under the NHI.
      expect(await actions(nhi.id)).toEqual(
        expect.arrayContaining([
          "nhi.owner_pending",
          "nhi.disabled",
          "nhi.account_disable_queued",
          "operation.queued",
          "operation.succeeded",
        ]),
      );
      const [queued] = await queryEvents(store.db, { subject: nhi.id, action: "nhi.account_disable_queued" });
      expect(queued?.details).toMatchObject({
        name: BILLING,
        system: "warehouse",
        username: BILLING,
        operationId: op.id,
        reason: nhi.disabledReason,
      });
      const recorded = await queryEvents(store.db, { action: "account.recorded" });
      expect(recorded.some((e) => e.details.username === BILLING && e.details.enabled === false)).toBe(true);
    });

    it("is not enabled again by the next plan, nor by another tick, even after a reconcile", async () => {
      await reconcile(["warehouse"], at(9.5));
      expect(await accountRepository.find(store.db, "warehouse", BILLING)).toMatchObject({ enabled: false });
      const plan = await computeProvisionPlan(store, config, { now: at(10) });
      expect(plan.operations.filter((o) => o.username === BILLING || o.username === REPORT)).toEqual([]);
      const before = (await operationRepository.list(store.db, { limit: 1000 })).length;
      expect((await nhiOwnerSuccession(store, config, { now: at(10), actor })).accounts).toEqual([]);
      expect((await operationRepository.list(store.db, { limit: 1000 })).length).toBe(before);
      expect(await pgLogsIn(BILLING, BILLING_PW)).toBe(false);
    });

    it("disables again a login enabled outside Tenure while its NHI is disabled", async () => {
      await superuser(`ALTER ROLE ${ident(REPORT)} LOGIN`);
      expect(await pgLogsIn(REPORT, REPORT_PW)).toBe(true);
      await reconcile(["warehouse"], at(11));
      const tick = await nhiOwnerSuccession(store, config, { now: at(11), actor });
      expect(tick.accounts).toEqual([
        expect.objectContaining({ username: REPORT, outcome: "disable-requeued" }),
      ]);
      expect(await pgLogsIn(REPORT, REPORT_PW)).toBe(false);
    });

    it("enables the login again as soon as the NHI gets an owner again, without the nhi job", async () => {
      const nhi = await nhiNamed(BILLING);
      expect(await pgLogsIn(BILLING, BILLING_PW)).toBe(false);
      const done = await assignNhiOwner(store, config, BILLING, { owner: "E1" }, { now: at(12), actor });
      expect(done.accounts).toEqual([
        expect.objectContaining({ name: BILLING, outcome: "enable-queued", operationId: expect.any(String) }),
      ]);
      // The same password, valid all along, works again: right after the assignment, no job run.
      expect(await pgLogsIn(BILLING, BILLING_PW)).toBe(true);
      // The next tick finds nothing left to settle.
      expect((await nhiOwnerSuccession(store, config, { now: at(12), actor })).accounts).toEqual([]);
      expect(await nhiAccountHoldRepository.find(store.db, nhi.id)).toBeUndefined();
      expect(await actions(nhi.id)).toEqual(
        expect.arrayContaining(["nhi.owner_assigned", "nhi.account_enable_queued"]),
      );
      const enable = (await operationRepository.find(store.db, done.accounts[0]!.operationId!))!;
      expect(enable).toMatchObject({ kind: "enable", identityId: nhi.id, state: "succeeded" });
      // The other NHI is still disabled, and so is its login.
      expect(await pgLogsIn(REPORT, REPORT_PW)).toBe(false);
    });

    it.skipIf(!slapdInstalled)("locks an LDAP service account: its bind is refused", async () => {
      expect(await ldapBinds(LDAP_UID, LDAP_PW)).toBe(true);
      await identityRepository.upsertMany(store.db, [person("E4", null, "terminated")]);
      const tick = await nhiOwnerSuccession(store, config, { now: at(13), actor });
      expect(tick.disabled).toEqual([LDAP_UID]);
      expect(tick.accounts).toEqual([
        expect.objectContaining({ name: LDAP_UID, system: "dir", outcome: "disable-queued" }),
      ]);
      expect(await ldapBinds(LDAP_UID, LDAP_PW)).toBe(false);
      const op = (await operationRepository.find(store.db, tick.accounts[0]!.operationId!))!;
      expect(op).toMatchObject({ system: "dir", kind: "disable", state: "succeeded" });
    });
  },
);
