import { writeFile } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectorPool } from "../../src/engine/provision.js";
import { reconcileSystem } from "../../src/engine/reconcile.js";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import type { Store } from "../../src/store/database.js";
import { storeFactories } from "../helpers/databases.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const APP_SQL = `
create table users (id integer primary key autoincrement, login text not null unique, mail text, active integer not null);
create table memberships (user_id integer not null, grp text not null, primary key (user_id, grp));`;

function yaml(database: string, drift: string, orphans: string): string {
  return `
database: "${database}"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  app:
    connector: sql
    drift: ${drift}
    orphans: ${orphans}
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    correlation: { account: email, identity: email }
    config:
      url: sqlite:./app.db
      users: { table: users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }
      memberships: { table: memberships, user: user_id, group: grp }
entitlements:
  app:
    readers: {}
    admins: { privileged: true }
roles:
  staff:
    when: "true"
    grants: [{ system: app, entitlements: [readers] }]
`;
}

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const PEOPLE = [
  "E1,Ada,Lovelace,ada@example.test,Eng,SRE,,employee,active,2026-01-05,,",
  "E2,Grace,Hopper,grace@example.test,Eng,Dev,E1,employee,active,2026-01-05,,",
  "E3,Alan,Turing,alan@example.test,Eng,Dev,E1,employee,active,2026-01-05,,",
];

describe.each(await storeFactories())("reconcile with the store on %s", (_kind, makeStore) => {
  let dir: string;
  let dispose: () => Promise<void>;
  let app: BetterSqlite3.Database;
  let testStore: Awaited<ReturnType<typeof makeStore>>;

  beforeEach(async () => {
    ({ dir, dispose } = await tempDir("tenure-reconcile-"));
    app = new BetterSqlite3(path.join(dir, "app.db"));
    app.exec(APP_SQL);
    // An account that was there before Tenure: Alan's, found by email, and one that belongs to nobody.
    app.prepare("insert into users (login, mail, active) values ('aturing', 'alan@example.test', 1)").run();
    app.prepare("insert into users (login, mail, active) values ('ghost', 'ghost@example.test', 1)").run();
    testStore = await makeStore();
  });
  afterEach(async () => {
    app.close();
    await testStore.dispose();
    await dispose();
  });

  async function setup(drift: string, orphans: string): Promise<{ config: TenureConfig; store: Store }> {
    await writeFile(path.join(dir, "tenure.yaml"), yaml("sqlite::memory:", drift, orphans));
    await writeHrCsv(dir, PEOPLE);
    const config = { ...(await loadConfig(path.join(dir, "tenure.yaml"))) } as TenureConfig;
    return { config, store: testStore };
  }

  async function reconcile(config: TenureConfig, store: Store, day: string) {
    const pool = connectorPool(config);
    try {
      return await reconcileSystem(store, config.policy, "app", pool.get("app"), {
        now: new Date(`${day}T08:00:00Z`),
        actor: "test",
      });
    } finally {
      await pool.closeAll();
    }
  }

  const at = (day: string) => new Date(`${day}T09:00:00Z`);
  const groupsOf = (login: string) =>
    (
      app
        .prepare(
          "select grp from memberships m join users u on u.id = m.user_id where u.login = ? order by grp",
        )
        .all(login) as { grp: string }[]
    ).map((r) => r.grp);

  it("reads a system before first writing to it, adopts by correlation, and under drift: enforce reverts out-of-band changes", async () => {
    const { config, store } = await setup("enforce", "disable");
    // The first provisioning run reads the system first (nobody has reconciled it yet).
    await runSync(store, config, { now: at("2026-03-01"), actor: "test" });
    const first = await store.db.selectFrom("reconcile_runs").selectAll().execute();
    expect(first).toHaveLength(1);
    expect(JSON.parse(first[0]!.summary)).toMatchObject({ adopted: 1, orphans: 1 });

    const second = await reconcile(config, store, "2026-03-02");
    // Alan's existing account was adopted (by email), not duplicated; the ghost is an orphan.
    expect(second.adopted).toEqual([]);
    expect(second.orphans.map((o) => o.username)).toEqual(["ghost"]);
    const logins = (app.prepare("select login from users order by login").all() as { login: string }[]).map(
      (r) => r.login,
    );
    expect(logins).toEqual(["ada.lovelace", "aturing", "ghost", "grace.hopper"]);
    expect(groupsOf("aturing")).toEqual(["readers"]);
    // orphans: disable — the ghost was disabled by the apply.
    expect(app.prepare("select active from users where login = 'ghost'").get()).toEqual({ active: 0 });

    // Out of band: someone makes Grace an admin and removes Ada's readers.
    const grace = app.prepare("select id from users where login = 'grace.hopper'").get() as { id: number };
    const ada = app.prepare("select id from users where login = 'ada.lovelace'").get() as { id: number };
    app.prepare("insert into memberships (user_id, grp) values (?, 'admins')").run(grace.id);
    app.prepare("delete from memberships where user_id = ? and grp = 'readers'").run(ada.id);
    const drift = await reconcile(config, store, "2026-03-03");
    expect(drift.unmanagedEntitlements).toEqual([{ username: "grace.hopper", entitlement: "admins" }]);
    expect(drift.missingEntitlements).toEqual([{ username: "ada.lovelace", entitlement: "readers" }]);

    const run = await runSync(store, config, { now: at("2026-03-03"), actor: "test" });
    expect(
      run.provisioned?.plan.operations.filter((o) => o.drift).map((o) => `${o.kind} ${o.username}`),
    ).toEqual(expect.arrayContaining(["revoke grace.hopper", "grant ada.lovelace"]));
    expect(groupsOf("grace.hopper")).toEqual(["readers"]);
    expect(groupsOf("ada.lovelace")).toEqual(["readers"]);
  });

  it("under drift: report and orphans: report, reports and changes nothing out of band", async () => {
    const { config, store } = await setup("report", "report");
    await runSync(store, config, { now: at("2026-03-01"), actor: "test" });
    const grace = app.prepare("select id from users where login = 'grace.hopper'").get() as { id: number };
    app.prepare("insert into memberships (user_id, grp) values (?, 'admins')").run(grace.id);
    const report = await reconcile(config, store, "2026-03-02");
    expect(report.unmanagedEntitlements).toEqual([{ username: "grace.hopper", entitlement: "admins" }]);
    const run = await runSync(store, config, { now: at("2026-03-02"), actor: "test" });
    expect(run.provisioned?.plan.operations).toEqual([]);
    expect(groupsOf("grace.hopper")).toEqual(["admins", "readers"]);
    expect(app.prepare("select active from users where login = 'ghost'").get()).toEqual({ active: 1 });
  });
});
