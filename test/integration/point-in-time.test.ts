import { writeFile } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { takeAccessCheckpoint } from "../../src/audit/access-checkpoints.js";
import { accessAt, whoHad } from "../../src/audit/access-history.js";
import { journaledOf } from "../../src/audit/access-replay.js";
import type { JournaledAccount } from "../../src/audit/account-journal-types.js";
import { queryEvents } from "../../src/audit/ledger.js";
import { accountsAt, compareText } from "../../src/audit/point-in-time.js";
import { connectorPool } from "../../src/engine/provision.js";
import { reconcileSystem } from "../../src/engine/reconcile.js";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { accountRepository } from "../../src/store/account-repository.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

/*
 * Issue 18, item 1: who had what at T is replayed from the ledger and equals what the accounts table
 * held at T. The writers are the real ones: sync → plan → apply through the `sql` connector on an
 * SQLite application database, reconcile reading it back, and changes made in the application behind
 * Tenure's back.
 */

const APP_SQL = `
create table users (id integer primary key autoincrement, login text not null unique, mail text, active integer not null);
create table memberships (user_id integer not null, grp text not null, primary key (user_id, grp));`;

const YAML = `
database: "sqlite::memory:"
sources:
  hr: { type: csv, path: ./hr.csv, correlation: { fallback: email } }
systems:
  app:
    connector: sql
    drift: report
    orphans: report
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    correlation: { account: email, identity: email }
    config:
      url: sqlite:./app.db
      users: { table: users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }
      memberships: { table: memberships, user: user_id, group: grp }
entitlements:
  app:
    readers: {}
    payments: { privileged: true }
    extra: {}
roles:
  staff:
    when: "true"
    grants: [{ system: app, entitlements: [readers] }]
  finance:
    when: 'department == "Fin"'
    grants: [{ system: app, entitlements: [payments] }]
`;

interface Person {
  key: string;
  given: string;
  family: string;
  dept: "Eng" | "Fin";
  left: boolean;
}

const PEOPLE: Person[] = [
  { key: "E1", given: "Ada", family: "Lovelace", dept: "Eng", left: false },
  { key: "E2", given: "Grace", family: "Hopper", dept: "Fin", left: false },
  { key: "E3", given: "Alan", family: "Turing", dept: "Eng", left: false },
];

function hrRow(p: Person): string {
  const email = `${p.given.toLowerCase()}@example.test`;
  return p.left
    ? `${p.key},${p.given},${p.family},${email},${p.dept},Staff,,employee,terminated,2026-01-05,,2026-02-01`
    : `${p.key},${p.given},${p.family},${email},${p.dept},Staff,,employee,active,2026-01-05,,`;
}

/** One Tenure deployment and its application, driven step by step, each step one hour after the last. */
class World {
  people = PEOPLE.map((p) => ({ ...p }));
  hour = 0;
  snapshots: Array<{ at: Date; accounts: JournaledAccount[] }> = [];

  constructor(
    readonly dir: string,
    readonly store: TestStore,
    readonly config: TenureConfig,
    readonly app: BetterSqlite3.Database,
  ) {}

  static async open(dir: string, store: TestStore): Promise<World> {
    const app = new BetterSqlite3(path.join(dir, "app.db"));
    app.exec(APP_SQL);
    // There before Tenure: nobody's account.
    app.prepare("insert into users (login, mail, active) values ('ghost', 'ghost@example.test', 1)").run();
    await writeFile(path.join(dir, "tenure.yaml"), YAML);
    const config = await loadConfig(path.join(dir, "tenure.yaml"));
    return new World(dir, store, config, app);
  }

  next(): Date {
    this.hour++;
    return new Date(Date.UTC(2026, 2, 1, this.hour));
  }

  async sync(): Promise<Date> {
    const now = this.next();
    await writeHrCsv(this.dir, this.people.map(hrRow));
    const run = await runSync(this.store, this.config, { now, actor: "test" });
    expect(run.provisioned?.applied?.summary.dead ?? 0).toBe(0);
    return this.snapshot(now);
  }

  async reconcile(): Promise<Date> {
    const now = this.next();
    const pool = connectorPool(this.config);
    try {
      await reconcileSystem(this.store, this.config.policy, "app", pool.get("app"), { now, actor: "test" });
    } finally {
      await pool.closeAll();
    }
    return this.snapshot(now);
  }

  async checkpoint(): Promise<Date> {
    const now = this.next();
    await takeAccessCheckpoint(this.store.db, { now, actor: "test" });
    return this.snapshot(now);
  }

  /** A change made in the application behind Tenure's back (read at the next reconcile). */
  outOfBand(change: OutOfBand, pick: number): void {
    const users = this.app.prepare("select id, login from users order by id").all() as Array<{
      id: number;
      login: string;
    }>;
    const user = users[pick % Math.max(1, users.length)];
    if (change === "orphan") {
      this.app
        .prepare("insert or ignore into users (login, mail, active) values (?, ?, 1)")
        .run(`orphan${pick}`, `orphan${pick}@example.test`);
      return;
    }
    if (user === undefined) return;
    switch (change) {
      case "add-extra":
        this.app.prepare("insert or ignore into memberships values (?, 'extra')").run(user.id);
        break;
      case "remove-groups":
        this.app.prepare("delete from memberships where user_id = ?").run(user.id);
        break;
      case "disable":
        this.app.prepare("update users set active = 0 where id = ?").run(user.id);
        break;
      case "enable":
        this.app.prepare("update users set active = 1 where id = ?").run(user.id);
        break;
      case "rename":
        this.app.prepare("update or ignore users set login = ? where id = ?").run(`${user.login}-r`, user.id);
        break;
      case "delete":
        this.app.prepare("delete from memberships where user_id = ?").run(user.id);
        this.app.prepare("delete from users where id = ?").run(user.id);
        break;
    }
  }

  async snapshot(at: Date): Promise<Date> {
    const rows = await accountRepository.journalRows(this.store.db, "all");
    const accounts = rows
      .map((r) => ({
        system: r.system,
        username: r.username,
        nativeId: r.nativeId,
        identityId: r.identityId,
        enabled: r.enabled,
        entitlements: JSON.parse(r.entitlementsJson) as string[],
        vanished: r.vanished,
      }))
      .sort(byKey);
    this.snapshots.push({ at, accounts });
    return at;
  }

  async close(): Promise<void> {
    this.app.close();
  }
}

type OutOfBand = "add-extra" | "remove-groups" | "disable" | "enable" | "rename" | "delete" | "orphan";

const byKey = (x: JournaledAccount, y: JournaledAccount) =>
  compareText(x.system, y.system) || compareText(x.username, y.username);

async function replayed(world: World, at: Date, useCheckpoints: boolean): Promise<JournaledAccount[]> {
  const { accounts } = await accountsAt(world.store.db, at, { useCheckpoints });
  return accounts.map(journaledOf).sort(byKey);
}

type Step =
  | { kind: "sync" }
  | { kind: "reconcile" }
  | { kind: "checkpoint" }
  | { kind: "hr"; person: number; change: "move" | "leave" | "return" }
  | { kind: "oob"; change: OutOfBand; pick: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: "sync" }),
  fc.constant<Step>({ kind: "reconcile" }),
  fc.constant<Step>({ kind: "checkpoint" }),
  fc.record({
    kind: fc.constant("hr" as const),
    person: fc.nat({ max: 2 }),
    change: fc.constantFrom("move" as const, "leave" as const, "return" as const),
  }),
  fc.record({
    kind: fc.constant("oob" as const),
    change: fc.constantFrom<OutOfBand>(
      "add-extra",
      "remove-groups",
      "disable",
      "enable",
      "rename",
      "delete",
      "orphan",
    ),
    pick: fc.nat({ max: 6 }),
  }),
);

async function run(world: World, step: Step): Promise<void> {
  switch (step.kind) {
    case "sync":
      await world.sync();
      return;
    case "reconcile":
      await world.reconcile();
      return;
    case "checkpoint":
      await world.checkpoint();
      return;
    case "hr": {
      const p = world.people[step.person]!;
      if (step.change === "move") p.dept = p.dept === "Eng" ? "Fin" : "Eng";
      else p.left = step.change === "leave";
      await world.sync();
      return;
    }
    case "oob":
      world.outOfBand(step.change, step.pick);
      await world.reconcile();
      return;
  }
}

describe.each(await storeFactories())("point in time, with the store on %s", (kind, makeStore) => {
  let dir: string;
  let disposeDir: () => Promise<void>;
  let store: TestStore;
  let world: World;

  beforeEach(async () => {
    ({ dir, dispose: disposeDir } = await tempDir("tenure-pit-"));
    store = await makeStore();
    world = await World.open(dir, store);
  });
  afterEach(async () => {
    await world.close();
    await store.dispose();
    await disposeDir();
  });

  it("replaying the ledger up to any T equals the accounts table at T, from genesis and from checkpoints", async () => {
    // The first run takes the fresh deployment beforeEach opened.
    let used = false;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 7 }), async (steps) => {
        // Each run starts from a fresh deployment.
        if (used) {
          await world.close();
          await store.dispose();
          await disposeDir();
          store = await makeStore();
          ({ dir, dispose: disposeDir } = await tempDir("tenure-pit-"));
          world = await World.open(dir, store);
        }
        used = true;
        await world.sync();
        for (const step of steps) await run(world, step);
        for (const { at, accounts } of world.snapshots) {
          expect(await replayed(world, at, false)).toEqual(accounts);
          expect(await replayed(world, at, true)).toEqual(accounts);
          // who-had reads only its entitlement's part of a checkpoint: the same rows, desires included.
          for (const entitlement of ["readers", "payments", "extra", undefined]) {
            const query = { system: "app", entitlement, at };
            const rows = async (useCheckpoints: boolean) =>
              (await whoHad(world.store.db, query, { useCheckpoints })).rows;
            expect(await rows(true)).toEqual(await rows(false));
          }
        }
      }),
      // PostgreSQL makes a fresh schema per run: fewer runs there, the same code paths.
      { numRuns: kind === "sqlite" ? 25 : 10, seed: 1812 },
    );
  }, 240_000);

  it("a grant then its revocation: who-had shows the holder, confirmed and desired with the rule's role, only in between", async () => {
    const before = await world.sync();
    world.people[0]!.dept = "Fin";
    const granted = await world.sync();
    world.people[0]!.dept = "Eng";
    const revoked = await world.sync();

    const during = await whoHad(store.db, { system: "app", entitlement: "payments", at: granted });
    const holders = during.rows.filter((r) => r.confirmed.held).map((r) => r.username);
    expect(holders).toEqual(expect.arrayContaining(["ada.lovelace", "grace.hopper"]));
    const ada = during.rows.find((r) => r.username === "ada.lovelace")!;
    expect(ada.confirmed.since).toBe(granted.toISOString());
    expect(ada.desired).toMatchObject({ wanted: true, source: "operation", kind: "grant" });
    expect(ada.desired.why).toContain("role finance");

    for (const at of [before, revoked]) {
      const answer = await whoHad(store.db, { system: "app", entitlement: "payments", at });
      expect(answer.rows.map((r) => r.username)).toEqual(["grace.hopper"]);
    }
  });

  it("a leaver's account shows disabled, confirmed, and not desired enabled; a rehire's old grants keep their first employment", async () => {
    await world.sync();
    world.people[0]!.left = true;
    const left = await world.sync();
    world.people[0]!.left = false;
    const back = await world.sync();

    const atLeave = await accessAt(store.db, { identity: "E1", at: left });
    const account = atLeave.rows.find((r) => r.entitlement === null)!;
    expect(account.confirmed).toMatchObject({ held: true, enabled: false });
    expect(account.desired).toMatchObject({ wanted: false, kind: "disable" });
    expect(atLeave.identity.state).toBe("terminated");

    const afterRehire = await accessAt(store.db, { identity: "E1", at: back });
    expect(afterRehire.identity.employment).toBe(2);
    const accountNow = afterRehire.rows.find((r) => r.entitlement === null)!;
    expect(accountNow.confirmed).toMatchObject({ held: true, enabled: true });
    // The account and its readers were first confirmed in employment 1: not shown as the new one's.
    expect(accountNow.employment).toBe(1);
    const readers = afterRehire.rows.find((r) => r.entitlement === "readers");
    expect(readers?.employment).toBe(1);
    expect(afterRehire.identity.employments.map((e) => e.employment)).toEqual([1, 2]);
  });

  it("a deletion and a rename in the target: removed from the day reconcile saw it, the new name carries the old", async () => {
    await world.sync();
    const seen = await world.reconcile();
    const ghost = world.app.prepare("select id from users where login = 'ghost'").get() as { id: number };
    world.app.prepare("update users set login = 'ghost2' where id = ?").run(ghost.id);
    const renamed = await world.reconcile();
    world.app.prepare("delete from users where id = ?").run(ghost.id);
    const deleted = await world.reconcile();

    const names = async (at: Date) =>
      (await accountsAt(store.db, at, { system: "app" })).accounts.map((a) => a.username);
    expect(await names(seen)).toContain("ghost");
    expect(await names(renamed)).toEqual(expect.arrayContaining(["ghost2"]));
    expect(await names(renamed)).not.toContain("ghost");
    expect(await names(deleted)).not.toContain("ghost2");
    const recorded = await queryEvents(store.db, {
      subject: "account:app/ghost2",
      action: "account.recorded",
    });
    expect(recorded[0]?.details).toMatchObject({ previousUsername: "ghost", cause: "reconcile" });
    const removed = await queryEvents(store.db, { subject: "account:app/ghost2", action: "account.removed" });
    expect(removed).toHaveLength(1);
  });

  it("a re-keyed identity is found by its old key at an old date, and not by it after", async () => {
    const early = await world.sync();
    world.people[2]!.key = "E3X";
    const later = await world.sync();
    const old = await accessAt(store.db, { identity: "E3", at: early });
    expect(old.identity.key).toBe("E3");
    expect(old.rows.some((r) => r.username === "alan.turing" && r.confirmed.held)).toBe(true);
    const now = await accessAt(store.db, { identity: "E3X", at: later });
    expect(now.identity.id).toBe(old.identity.id);
    await expect(accessAt(store.db, { identity: "E3", at: later })).rejects.toThrow(/no identity/);
  });

  it("an unchanged reconcile appends no account events, only its summary", async () => {
    await world.sync();
    await world.reconcile();
    const count = async (action: string) => (await queryEvents(store.db, { action, limit: 100_000 })).length;
    const recorded = await count("account.recorded");
    const completed = await count("reconcile.completed");
    await world.reconcile();
    expect(await count("account.recorded")).toBe(recorded);
    expect(await count("account.removed")).toBe(0);
    expect(await count("reconcile.completed")).toBe(completed + 1);
  });

  it("a checkpoint journals rows the ledger never saw, then answers as a replay from genesis does", async () => {
    await world.sync();
    // Written around the journal (as an account recorded before it existed would be).
    const [ada] = await accountRepository.list(store.db, { system: "app" });
    await accountRepository.upsertMany(
      store.db,
      [{ ...ada!, entitlements: ["legacy"] }],
      "2026-03-01T00:00:00Z",
    );
    const taken = await takeAccessCheckpoint(store.db, { now: world.next(), actor: "test" });
    expect(taken.caughtUp).toBe(1);
    const at = await world.snapshot(new Date(Date.UTC(2026, 2, 1, world.hour)));
    const fromCheckpoint = await accountsAt(store.db, at);
    expect(fromCheckpoint.source.checkpointSeq).toBe(taken.seq);
    expect(fromCheckpoint.source.events).toBe(0);
    expect(fromCheckpoint.accounts.map(journaledOf).sort(byKey)).toEqual(world.snapshots.at(-1)!.accounts);
    expect(await replayed(world, at, false)).toEqual(world.snapshots.at(-1)!.accounts);
  });

  it("a date before the ledger began is refused, saying when it began", async () => {
    await world.sync();
    await expect(whoHad(store.db, { system: "app", at: new Date("2025-01-01T00:00:00Z") })).rejects.toThrow(
      /before the ledger began \(its first event is at 2026-03-01T01:00:00.000Z\)/,
    );
  });
});
