/**
 * Mass-change protection over a whole run (issue 10, point 2): a run stopped at the identity level or
 * at the provisioning level writes no identity, source record, assignment or operation — only one
 * `mass-change.stopped` audit event and its notification — and a confirmation applies exactly the plan
 * that was shown, named by its plan hash.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { MassChangeError, PlanChangedError } from "../../src/shared/errors.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { createAppDatabase, readApp } from "../fixtures/app-database.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { expectOnlyTheStop, storeSnapshot } from "../helpers/store-snapshot.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

function yaml(appFile: string, deployFile: string): string {
  const sql = (file: string) =>
    `{ url: "sqlite:${file}", users: { table: app_users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }, memberships: { table: app_user_groups, user: user_id, group: group_name } }`;
  return `
database: sqlite:./unused.db
sources:
  hr: { type: csv, path: ./hr.csv }
lifecycle:
  massChangeThreshold: { percent: 40, minimum: 2 }
systems:
  app:
    connector: sql
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config: ${sql(appFile)}
  deploy:
    connector: sql
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config: ${sql(deployFile)}
entitlements:
  app: { readers: { displayName: Readers } }
  deploy: { deployers: { displayName: Deployers } }
roles:
  staff: { when: "true", grants: [{ system: app, entitlements: [readers] }] }
  engineer: { when: "department == 'Eng'", grants: [{ system: deploy, entitlements: [deployers] }] }
notify:
  webhooks:
    secops: { url: "http://127.0.0.1:9/unused" }
  routes:
    mass-change.stopped: [{ webhook: secops }]
`;
}

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const row = (k: string, dept: string, leaves?: string) =>
  `${k},P${k},Person,${k.toLowerCase()}@example.test,${dept},Staff,,employee,${leaves ? "terminated" : "active"},2026-01-05,,${leaves ?? ""}`;
const ENGINEERS = ["E1", "E2", "E3", "E4"];
const OPS = ["E5", "E6", "E7", "E8", "E9", "E10"];
const everyone = (leavers: readonly string[], day: string) => [
  ...ENGINEERS.map((k) => row(k, "Eng", leavers.includes(k) ? day : undefined)),
  ...OPS.map((k) => row(k, "Ops")),
];
const at = (day: string) => new Date(`${day}T09:00:00Z`);

describe.each(await storeFactories())(
  "mass-change protection of a whole run on a %s store",
  (_kind, makeStore) => {
    let store: TestStore;
    let dir: string;
    let disposeDir: () => Promise<void>;
    let appFile: string;
    let deployFile: string;
    let config: TenureConfig;

    beforeEach(async () => {
      ({ dir, dispose: disposeDir } = await tempDir("tenure-mass-change-"));
      appFile = path.join(dir, "app.db");
      deployFile = path.join(dir, "deploy.db");
      createAppDatabase(appFile);
      createAppDatabase(deployFile);
      await writeFile(path.join(dir, "tenure.yaml"), yaml(appFile, deployFile));
      config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
      store = await makeStore();
      await writeHrCsv(dir, everyone([], "2026-03-01"));
      await runSync(store, config, { now: at("2026-03-01"), actor: "test" });
      expect(readApp(deployFile).users).toHaveLength(4);
    });
    afterEach(async () => {
      await store.dispose();
      await disposeDir();
    });

    const states = async () =>
      Object.fromEntries((await identityRepository.list(store.db)).map((i) => [i.sourceKey, i.state]));

    it("a sync stopped at the provisioning level writes no identity, record or operation: one mass-change.stopped", async () => {
      // Three of ten people leave: 30% of the identities (under 40%), but 3 of deploy's 4 accounts.
      await writeHrCsv(dir, everyone(["E1", "E2", "E3"], "2026-03-02"));
      const shown = await runSync(store, config, { now: at("2026-03-02"), actor: "test", dryRun: true });
      expect(shown.massChange.exceeded).toEqual([
        { kind: "system", name: "deploy", disable: 3, delete: 0, total: 4 },
      ]);
      const before = await storeSnapshot(store.db);
      const apps = { app: readApp(appFile), deploy: readApp(deployFile) };

      const err = await runSync(store, config, { now: at("2026-03-02"), actor: "cli:alice" }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MassChangeError);
      const stop = err as MassChangeError;
      expect(stop.exitCode).toBe(3);
      expect(stop.counts).toEqual({ "system:deploy": { disable: 3, delete: 0, total: 4 } });
      // The dry run showed the very plan the real run stopped.
      expect(stop.planHash).toBe(shown.massChange.planHash);
      expect(stop.message).toContain(`tenure sync --confirm-mass-change ${stop.planHash}`);
      const event = await expectOnlyTheStop(store.db, before, stop.planHash);
      expect(event).toMatchObject({
        actor: "cli:alice",
        details: {
          run: "sync of source hr",
          exceeded: [{ kind: "system", name: "deploy", disable: 3, delete: 0, total: 4 }],
        },
      });
      expect(await states()).toMatchObject({ E1: "active", E2: "active", E3: "active" });
      expect({ app: readApp(appFile), deploy: readApp(deployFile) }).toEqual(apps);
      const notes = await notificationRepository.list(store.db, { event: "mass-change.stopped" });
      expect(notes).toHaveLength(1);
      // The same plan stopped again (the scheduler's next run): the run is recorded, nobody is alerted twice.
      await expect(runSync(store, config, { now: at("2026-03-02"), actor: "scheduler" })).rejects.toThrow(
        MassChangeError,
      );
      const stops = await queryEvents(store.db, { action: "mass-change.stopped" });
      expect(stops.map((e) => e.subject)).toEqual([`plan:${stop.planHash}`, `plan:${stop.planHash}`]);
      expect(await notificationRepository.list(store.db, { event: "mass-change.stopped" })).toHaveLength(1);

      // Confirmed with its hash: exactly that plan is applied, and the audit says who confirmed which plan.
      const run = await runSync(store, config, {
        now: at("2026-03-02"),
        actor: "cli:bob",
        confirmMassChange: stop.planHash,
      });
      expect(run.massChange.planHash).toBe(stop.planHash);
      expect(await states()).toMatchObject({
        E1: "terminated",
        E2: "terminated",
        E3: "terminated",
        E4: "active",
      });
      expect(readApp(deployFile).users.map((u) => [u.login, u.active])).toEqual([
        ["pe1.person", 0],
        ["pe2.person", 0],
        ["pe3.person", 0],
        ["pe4.person", 1],
      ]);
      const [confirmed] = await queryEvents(store.db, { action: "operation.mass_change_confirmed" });
      expect(confirmed).toMatchObject({
        actor: "cli:bob",
        subject: "system:deploy",
        details: { planHash: stop.planHash, confirmedBy: "cli:bob" },
      });
      expect((await verifyLedger(store.db)).ok).toBe(true);
    });

    it("a confirmation of a plan that has changed since is refused with the new hash, changing nothing", async () => {
      await writeHrCsv(dir, everyone(["E1", "E2", "E3"], "2026-03-02"));
      const stop = (await runSync(store, config, { now: at("2026-03-02"), actor: "test" }).catch(
        (e: unknown) => e,
      )) as MassChangeError;
      expect(stop).toBeInstanceOf(MassChangeError);

      // The HR export changes after the stop was shown: a fourth engineer leaves too.
      await writeHrCsv(dir, everyone(["E1", "E2", "E3", "E4"], "2026-03-02"));
      const before = await storeSnapshot(store.db);
      const apps = readApp(deployFile);
      const err = await runSync(store, config, {
        now: at("2026-03-02"),
        actor: "test",
        confirmMassChange: stop.planHash,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PlanChangedError);
      const changed = err as PlanChangedError;
      expect(changed.exitCode).toBe(1);
      expect(changed.httpStatus).toBe(409);
      expect(changed.planHash).not.toBe(stop.planHash);
      expect(changed.message).toContain(`confirmed ${stop.planHash}`);
      expect(changed.message).toContain(`the plan computed now is ${changed.planHash}`);
      expect(await storeSnapshot(store.db)).toEqual(before);
      expect(readApp(deployFile)).toEqual(apps);
      expect(await states()).toMatchObject({ E1: "active", E4: "active" });
    });

    it("a sync stopped at the identity level writes nothing either, and counts the source in the same event", async () => {
      // Five of ten identities terminated: past 40% of the source, of app's accounts and of deploy's.
      await writeHrCsv(dir, [
        ...ENGINEERS.map((k) => row(k, "Eng", "2026-03-02")),
        row("E5", "Ops", "2026-03-02"),
        ...OPS.slice(1).map((k) => row(k, "Ops")),
      ]);
      const before = await storeSnapshot(store.db);
      const err = (await runSync(store, config, { now: at("2026-03-02"), actor: "test" }).catch(
        (e: unknown) => e,
      )) as MassChangeError;
      expect(err).toBeInstanceOf(MassChangeError);
      expect(err.counts).toEqual({
        "source:hr": { disable: 5, delete: 0, total: 10 },
        "system:app": { disable: 5, delete: 0, total: 10 },
        "system:deploy": { disable: 4, delete: 0, total: 4 },
      });
      await expectOnlyTheStop(store.db, before, err.planHash);
      expect(Object.values(await states()).every((s) => s === "active")).toBe(true);
    });
  },
);
