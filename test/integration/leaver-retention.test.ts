import { writeFile } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { openStore, type Store } from "../../src/store/database.js";
import { runCli } from "../helpers/cli.js";
import { freshPostgresUrl, postgresAvailable } from "../helpers/databases.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

/**
 * Issue 10, point 1: retention counts from the HR termination date, not from the day Tenure first saw
 * it. A first import of people who left before today: no account and no membership for them; an
 * account a target already has (found by reconcile) is disabled, and deleted once deleteAfterDays,
 * counted from the HR date, has passed — and `plan --at` shows the same. The store is SQLite or
 * PostgreSQL; the target is a `sql` system on SQLite application tables.
 */

const APP_SQL = `
create table users (id integer primary key autoincrement, login text not null unique, mail text, active integer not null);
create table memberships (user_id integer not null, grp text not null, primary key (user_id, grp));`;

function yaml(database: string): string {
  return `
database: "${database}"
sources:
  hr: { type: csv, path: ./hr.csv }
lifecycle:
  deleteAfterDays: 30
systems:
  app:
    connector: sql
    drift: enforce
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
const ADA = "E1,Ada,Lovelace,ada@example.test,Eng,SRE,,employee,active,2025-01-05,,";
// Both left on 10 February; Tenure first sees them on 1 March. Retention ends on 12 March (10 Feb + 30).
const ALAN = "E3,Alan,Turing,alan@example.test,Eng,Dev,E1,employee,terminated,2025-01-05,,2026-02-10";
const GRACE = "E2,Grace,Hopper,grace@example.test,Eng,Dev,E1,employee,terminated,2025-01-05,,2026-02-10";

type StoreKind = "sqlite" | "postgres";
const kinds: StoreKind[] = (await postgresAvailable()) ? ["sqlite", "postgres"] : ["sqlite"];

describe.each(kinds)("a first import of leavers, with the store on %s", (kind) => {
  let dir: string;
  let disposeDir: () => Promise<void>;
  let dropSchema: (() => Promise<void>) | undefined;
  let app: BetterSqlite3.Database;
  let config: TenureConfig;
  let store: Store;

  beforeEach(async () => {
    ({ dir, dispose: disposeDir } = await tempDir("tenure-retention-"));
    app = new BetterSqlite3(path.join(dir, "app.db"));
    app.exec(APP_SQL);
    // Alan's account was in the application before Tenure, with a privileged group; Grace has none.
    app.prepare("insert into users (login, mail, active) values ('aturing', 'alan@example.test', 1)").run();
    app.prepare("insert into memberships (user_id, grp) values (1, 'readers'), (1, 'admins')").run();
    let database = "sqlite:./tenure.db";
    if (kind === "postgres") {
      const fresh = await freshPostgresUrl();
      database = fresh.url;
      dropSchema = fresh.drop;
    }
    await writeFile(path.join(dir, "tenure.yaml"), yaml(database));
    config = await loadConfig(path.join(dir, "tenure.yaml"));
    store = await openStore(config.database, { baseDir: dir });
  });
  afterEach(async () => {
    app.close();
    await store.close();
    await dropSchema?.();
    dropSchema = undefined;
    await disposeDir();
  });

  const at = (day: string) => new Date(`${day}T09:00:00Z`);
  const users = () =>
    app.prepare("select login, active from users order by login").all() as {
      login: string;
      active: number;
    }[];
  const groupsOf = (login: string) =>
    (
      app
        .prepare(
          "select grp from memberships m join users u on u.id = m.user_id where u.login = ? order by grp",
        )
        .all(login) as { grp: string }[]
    ).map((r) => r.grp);
  const identityOf = (key: string) =>
    store.db.selectFrom("identities").selectAll().where("source_key", "=", key).executeTakeFirstOrThrow();
  const eventsOf = async (subject: string) =>
    (
      await store.db
        .selectFrom("audit_events")
        .select(["action", "details"])
        .where("subject", "=", subject)
        .where("action", "like", "identity.%")
        .orderBy("seq")
        .execute()
    ).map((e) => ({ action: e.action, details: JSON.parse(e.details) as Record<string, unknown> }));
  async function planAt(day: string): Promise<string[]> {
    const out = await runCli(["--config", path.join(dir, "tenure.yaml"), "--json", "plan", "--at", day]);
    expect(out.code, out.stderr).toBe(0);
    const ops = (
      JSON.parse(out.stdout) as {
        operations: { kind: string; username: string; entitlement: string | null }[];
      }
    ).operations;
    return ops.map((o) => `${o.kind} ${o.username}${o.entitlement ? ` ${o.entitlement}` : ""}`);
  }

  it("creates nothing for a leaver, disables the account reconcile found, and deletes it at HR date + retention", async () => {
    await writeHrCsv(dir, [ADA, ALAN, GRACE]);
    const first = await runSync(store, config, { now: at("2026-03-01"), actor: "test" });
    expect(first.provisioned?.applied?.summary.dead).toBe(0);

    // Grace: no account, no membership, in the target and in the store; Alan's is disabled, admins gone.
    expect(users()).toEqual([
      { login: "ada.lovelace", active: 1 },
      { login: "aturing", active: 0 },
    ]);
    expect(groupsOf("aturing")).toEqual(["readers"]);
    const grace = await identityOf("E2");
    expect(grace.state).toBe("terminated");
    expect(
      await store.db.selectFrom("accounts").selectAll().where("identity_id", "=", grace.id).execute(),
    ).toEqual([]);
    expect(
      await store.db.selectFrom("operations").select("kind").where("identity_id", "=", grace.id).execute(),
    ).toEqual([]);

    // The audit names the HR date and the day Tenure observed it.
    const alan = await identityOf("E3");
    expect((await eventsOf(alan.id))[0]).toMatchObject({
      action: "identity.created",
      details: { state: "terminated", hrDate: "2026-02-10", observedDate: "2026-03-01" },
    });

    // plan --at: nothing on 11 March; on 12 March (10 Feb + 30 days) Alan's account is deleted.
    expect(await planAt("2026-03-11")).toEqual([]);
    expect(await planAt("2026-03-12")).toEqual(["revoke aturing readers", "delete aturing"]);

    await runSync(store, config, { now: at("2026-03-11"), actor: "test" });
    expect(users().map((u) => u.login)).toEqual(["ada.lovelace", "aturing"]);
    expect((await identityOf("E3")).state).toBe("terminated");

    await runSync(store, config, { now: at("2026-03-12"), actor: "test" });
    expect(users().map((u) => u.login)).toEqual(["ada.lovelace"]);
    expect((await identityOf("E3")).state).toBe("deleted");
    expect((await identityOf("E2")).state).toBe("deleted");
    expect((await eventsOf(alan.id)).at(-1)).toMatchObject({
      action: "identity.state_changed",
      details: { from: "terminated", to: "deleted", hrDate: "2026-02-10", observedDate: "2026-03-12" },
    });
    // Grace never had anything anywhere.
    expect(
      await store.db.selectFrom("operations").select("kind").where("identity_id", "=", grace.id).execute(),
    ).toEqual([]);
  });
});
