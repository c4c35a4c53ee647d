import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { MassChangeError, PlanChangedError } from "../../src/shared/errors.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { nhiAccountHoldRepository } from "../../src/store/nhi-account-hold-repository.js";
import { nhiRepository } from "../../src/store/nhi-repository.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { syncNhiInventory } from "../../src/workflows/nhi-inventory.js";
import { nhiOwnerSuccession } from "../../src/workflows/nhi-succession.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import {
  asSuperuser,
  pgLogsIn as clusterLetsIn,
  findPostgresBin,
  type PostgresCluster,
  startPostgresCluster,
} from "../helpers/postgres-cluster.js";
import { testPerson } from "../helpers/test-person.js";
import { tempDir } from "../helpers/workspace.js";

/**
 * Issue 17: an NHI removed from the inventory file is disabled ("removed from inventory"), its login
 * switched off through the account hold (workflows/nhi-disable.ts), audited; declared again, it is enabled
 * and its login works again. A PostgreSQL cluster that checks passwords holds the login role.
 */

const pgInstalled = (await findPostgresBin()) !== undefined;
if (process.env.CI === "true" && !pgInstalled)
  throw new Error("PostgreSQL (initdb) is required under CI=true");

const T0 = new Date("2026-12-01T09:00:00Z");
const at = (hours: number) => new Date(T0.getTime() + hours * 3_600_000);
const run = `r${randomBytes(3).toString("hex")}_`;
let cluster: PostgresCluster | undefined;

const person = (key: string) => testPerson(key, { at: T0 });

beforeAll(async () => {
  if (pgInstalled) cluster = await startPostgresCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

let storeNumber = 0;

describe.skipIf(!pgInstalled).each(await storeFactories())(
  "an NHI removed from the inventory, in the %s store",
  (_kind, makeStore) => {
    const prefix = `${run}${++storeNumber}_`;
    const GONE = `${prefix}svc_gone`;
    const KEPT = `${prefix}svc_kept`;
    const GONE_PW = `pw-${randomBytes(9).toString("hex")}`;
    const KEPT_PW = `pw-${randomBytes(9).toString("hex")}`;
    const actor = "test";
    let store: TestStore;
    let dir: string;
    let dispose: () => Promise<void>;

    /** tenure.yaml naming an inventory file that declares `names`. */
    const configWith = async (names: string[]): Promise<TenureConfig> => {
      await writeFile(
        path.join(dir, "inventory.json"),
        `[\n${names.map((n) => `  { "name": "${n}", "type": "service_account", "system": "warehouse", "owner": "E1" }`).join(",\n")}\n]\n`,
      );
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
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
nhi:
  inventoryFiles: [./inventory.json]
`,
      );
      return loadConfig(path.join(dir, "tenure.yaml"), { env: { WAREHOUSE_URL: cluster!.url() } });
    };
    const logsIn = (role: string, password: string) => clusterLetsIn(cluster!, role, password);

    beforeAll(async () => {
      ({ dir, dispose } = await tempDir("tenure-nhi-removed-"));
      await asSuperuser(cluster!, `CREATE ROLE ${pg.escapeIdentifier(GONE)} LOGIN PASSWORD '${GONE_PW}'`);
      await asSuperuser(cluster!, `CREATE ROLE ${pg.escapeIdentifier(KEPT)} LOGIN PASSWORD '${KEPT_PW}'`);
      store = await makeStore();
      await identityRepository.upsertMany(store.db, [person("E1")]);
      const both = await configWith([GONE, KEPT]);
      expect((await syncNhiInventory(store, both, { now: T0, actor })).created).toEqual([GONE, KEPT]);
    }, 60_000);
    afterAll(async () => {
      await store?.dispose();
      await dispose?.();
    });

    it("disables an NHI no longer declared: its login is refused, held, audited", async () => {
      expect(await logsIn(GONE, GONE_PW)).toBe(true);
      const one = await configWith([KEPT]);
      const sync = await syncNhiInventory(store, one, { now: at(1), actor });
      expect(sync).toMatchObject({ removed: [GONE], created: [], updated: [], unchanged: 1 });
      expect(await logsIn(GONE, GONE_PW)).toBe(false);
      expect(await logsIn(KEPT, KEPT_PW)).toBe(true);

      const nhi = (await nhiRepository.findByName(store.db, GONE))!;
      expect(nhi).toMatchObject({
        removedAt: at(1).toISOString(),
        disabledAt: at(1).toISOString(),
        disabledReason: "removed from inventory",
      });
      expect(await nhiAccountHoldRepository.find(store.db, nhi.id)).toMatchObject({
        state: "held",
        system: "warehouse",
        username: GONE,
        reason: "removed from inventory",
        wasEnabled: null,
      });
      const actions = (await queryEvents(store.db, { subject: nhi.id, limit: 100 })).map((e) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining([
          "nhi.removed",
          "nhi.disabled",
          "nhi.account_disable_queued",
          "operation.queued",
          "operation.succeeded",
        ]),
      );
      const [disabled] = await queryEvents(store.db, { subject: nhi.id, action: "nhi.disabled" });
      expect(disabled?.details).toMatchObject({
        name: GONE,
        reason: "removed from inventory",
        previous: "id-E1",
      });
      const [queued] = await queryEvents(store.db, { subject: nhi.id, action: "nhi.account_disable_queued" });
      const op = (await operationRepository.find(store.db, String(queued?.details.operationId)))!;
      expect(op).toMatchObject({ kind: "disable", username: GONE, identityId: nhi.id, state: "succeeded" });

      // The owner is told, once.
      const told = (await notificationRepository.list(store.db)).filter((n) => n.event === "nhi.removed");
      expect(told).toEqual([expect.objectContaining({ recipient: "e1@example.test" })]);
      expect(told[0]?.subject).toBe(`${GONE} is disabled: removed from inventory`);

      // Nothing more on the next sync, nor from succession's sweep.
      const again = await syncNhiInventory(store, one, { now: at(2), actor });
      expect(again).toMatchObject({ removed: [], updated: [], unchanged: 1 });
      expect((await nhiOwnerSuccession(store, one, { now: at(2), actor })).accounts).toEqual([]);
      expect((await queryEvents(store.db, { subject: nhi.id, limit: 100 })).length).toBe(actions.length);
      expect(
        (await notificationRepository.list(store.db)).filter((n) => n.event === "nhi.removed"),
      ).toHaveLength(1);
    });

    it("enables an NHI declared again: live, enabled, its login works again", async () => {
      const both = await configWith([GONE, KEPT]);
      const sync = await syncNhiInventory(store, both, { now: at(3), actor });
      expect(sync).toMatchObject({ updated: [GONE], removed: [], unchanged: 1 });
      const nhi = (await nhiRepository.findByName(store.db, GONE))!;
      expect(nhi).toMatchObject({ removedAt: null, disabledAt: null, disabledReason: null });
      // Its account is settled with the rest: `nhi sync` and the `nhi` job run succession after the sync.
      const tick = await nhiOwnerSuccession(store, both, { now: at(3), actor });
      expect(tick.accounts).toEqual([expect.objectContaining({ name: GONE, outcome: "enable-queued" })]);
      expect(await logsIn(GONE, GONE_PW)).toBe(true);
      expect(await nhiAccountHoldRepository.find(store.db, nhi.id)).toBeUndefined();
      expect((await identityRepository.findById(store.db, nhi.id))?.state).toBe("active");
    });

    it("leaves an NHI disabled for another reason disabled when it is declared again", async () => {
      const one = await configWith([KEPT]);
      await syncNhiInventory(store, one, { now: at(4), actor });
      const gone = (await nhiRepository.findByName(store.db, GONE))!;
      // Disabled by succession before it left the inventory, say: its reason is not the removal's.
      expect(
        await nhiRepository.update(store.db, {
          ...gone,
          disabledReason: "ownership was not confirmed",
          version: gone.version + 1,
        }),
      ).toBe(true);
      await syncNhiInventory(store, await configWith([GONE, KEPT]), { now: at(5), actor });
      expect(await nhiRepository.findByName(store.db, GONE)).toMatchObject({
        removedAt: null,
        disabledReason: "ownership was not confirmed",
      });
    });
  },
);

/**
 * Mass-change protection over removals: the `inventoryFiles` line deleted from tenure.yaml would disable
 * every NHI's credential at once. Ten login roles: the sync holds every removal (logins still work, nothing
 * in the store or the ledger but the stop), a stale hash is refused with nothing changed, the confirmed hash
 * disables them all.
 */
describe.skipIf(!pgInstalled).each(await storeFactories())(
  "an inventory emptied at once, in the %s store",
  (_kind, makeStore) => {
    const prefix = `${run}m${++storeNumber}_`;
    const ROLES = Array.from({ length: 10 }, (_, i) => `${prefix}svc_${i}`);
    const PW = `pw-${randomBytes(9).toString("hex")}`;
    const actor = "test";
    let store: TestStore;
    let dir: string;
    let dispose: () => Promise<void>;

    /** tenure.yaml with the inventory file, or (`false`) with its `inventoryFiles` line deleted. */
    const config = async (withInventory: boolean): Promise<TenureConfig> => {
      await writeFile(
        path.join(dir, "inventory.json"),
        `[\n${ROLES.map((n) => `  { "name": "${n}", "type": "service_account", "system": "warehouse", "owner": "E1" }`).join(",\n")}\n]\n`,
      );
      await writeFile(
        path.join(dir, "tenure.yaml"),
        `lifecycle:
  massChangeThreshold: { percent: 20, minimum: 2 }
systems:
  warehouse:
    connector: postgres
    config:
      url: \${env:WAREHOUSE_URL}
      usernamePrefix: "${prefix}"
      passwordSink: { file: ./connector-passwords.jsonl }
      timeoutMs: 5000
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
nhi:
${withInventory ? "  inventoryFiles: [./inventory.json]" : "  inventory: []"}
`,
      );
      return loadConfig(path.join(dir, "tenure.yaml"), { env: { WAREHOUSE_URL: cluster!.url() } });
    };
    const everyLoginWorks = async () => {
      for (const role of ROLES) if (!(await clusterLetsIn(cluster!, role, PW))) return false;
      return true;
    };
    const snapshot = async () => ({
      nhis: (await nhiRepository.list(store.db)).map((n) => [n.name, n.version, n.removedAt, n.disabledAt]),
      events: (await queryEvents(store.db, { limit: 1000 })).length,
      operations: (await operationRepository.list(store.db, {})).length,
    });

    beforeAll(async () => {
      ({ dir, dispose } = await tempDir("tenure-nhi-mass-removed-"));
      for (const role of ROLES)
        await asSuperuser(cluster!, `CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD '${PW}'`);
      store = await makeStore();
      await identityRepository.upsertMany(store.db, [person("E1")]);
      expect((await syncNhiInventory(store, await config(true), { now: T0, actor })).created).toHaveLength(
        10,
      );
    }, 60_000);
    afterAll(async () => {
      await store?.dispose();
      await dispose?.();
    });

    it("holds every removal: the logins work, the NHIs stay live, only the stop is recorded", async () => {
      const before = await snapshot();
      const sync = await syncNhiInventory(store, await config(false), { now: at(1), actor });
      expect(sync.massChangeStopped).toBeInstanceOf(MassChangeError);
      expect(sync.removed).toEqual([]);
      expect(await everyLoginWorks()).toBe(true);
      const after = await snapshot();
      expect(after.nhis).toEqual(before.nhis);
      expect(after.operations).toBe(before.operations);
      expect(after.events).toBe(before.events + 1);
      const [stop] = await queryEvents(store.db, { action: "mass-change.stopped" });
      expect(stop?.details).toMatchObject({
        run: "NHI inventory sync",
        planHash: sync.massChangeStopped!.planHash,
      });
      for (const role of ROLES) {
        const nhi = (await nhiRepository.findByName(store.db, role))!;
        expect(await nhiAccountHoldRepository.find(store.db, nhi.id)).toBeUndefined();
      }
    });

    it("refuses a stale hash with nothing changed; the confirmed hash disables every login", async () => {
      const emptied = await config(false);
      const { planHash } = (await syncNhiInventory(store, emptied, { now: at(2), actor })).massChangeStopped!;
      const before = await snapshot();
      await expect(
        syncNhiInventory(store, emptied, { now: at(2), actor, confirmMassChange: "f".repeat(64) }),
      ).rejects.toBeInstanceOf(PlanChangedError);
      expect(await snapshot()).toEqual(before);
      expect(await everyLoginWorks()).toBe(true);

      const done = await syncNhiInventory(store, emptied, { now: at(3), actor, confirmMassChange: planHash });
      expect(done.removed.sort()).toEqual([...ROLES].sort());
      for (const role of ROLES) expect(await clusterLetsIn(cluster!, role, PW)).toBe(false);
      expect(await queryEvents(store.db, { action: "nhi.mass_change_confirmed" })).toHaveLength(1);
    });
  },
);
