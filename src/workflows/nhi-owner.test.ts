/**
 * Owners assigned by hand, and last use, over a real store (SQLite and PostgreSQL): an unknown, terminated
 * or non-human owner is refused and nothing changes (store, ledger, outbox); an assignment clears a
 * pending succession, is audited with the previous and new owners, tells the new owner, moves reviews to
 * them (the identity's managerId), and holds over an unchanged inventory until the inventory's owner of
 * the NHI changes. The inventory's last use (and a discovered account's) reaches the findings; an
 * unknown last use never makes an NHI unused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StoreFactory, storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { testPerson } from "../../test/helpers/test-person.js";
import { queryEvents } from "../audit/ledger.js";
import type { Account } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { validateConfigText } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { notificationRepository } from "../store/notification-repository.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { assignNhiOwner } from "./nhi-owner.js";
import { confirmNhiOwnership, nhiOwnerSuccession } from "./nhi-succession.js";
import { listNhiViews } from "./nhi-view.js";

const DAY = 86_400_000;
const T0 = new Date("2026-06-01T09:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const actor = "cli:admin";

function yaml(owner: string, coOwners = "[]"): string {
  return `
systems:
  appdb:
    connector: manual
    owner: dba@example.test
    account: { username: "{employeeId}" }
    config: { fulfiller: dba@example.test }
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
nhi:
  policy:
    unusedAfter: { oauth_app: 90d, service_account: 60d }
  inventory:
    - { name: billing-export, type: service_account, system: appdb, owner: ${owner}, coOwners: ${coOwners} }
    - name: gh-app
      type: oauth_app
      owner: E1
      lastUsed: 2026-05-20
      scopes: [read:user, repo]
      scopeLastUsed: { read:user: 2026-05-30, repo: 2026-01-10 }
    - { name: quiet-app, type: oauth_app, owner: E1, lastUsed: 2026-01-01, scopes: [read:user] }
    - { name: unknown-use, type: oauth_app, owner: E1, scopes: [read:user] }
  discover:
    - { system: appdb, usernameLike: "svc_%" }
`;
}

async function configOf(text: string): Promise<TenureConfig> {
  const { config, errors } = await validateConfigText(text, { path: "/tmp/nhi-owner/tenure.yaml", env: {} });
  expect(errors).toEqual([]);
  return config!;
}

const person = (key: string, manager: string | null, state: Identity["state"] = "active") =>
  testPerson(key, { manager, state, at: T0, department: "Finance", terminationDate: "2026-06-02" });

describe.each(await storeFactories())("NHI owners and last use on %s", (_kind, makeStore: StoreFactory) => {
  let store: TestStore;
  let config: TenureConfig;
  beforeAll(async () => {
    store = await makeStore();
    await identityRepository.upsertMany(store.db, [
      person("E1", null),
      person("E2", "E1"),
      person("E3", "E1"),
      person("E4", null),
      person("E9", null, "terminated"),
    ]);
    const orphan: Account = {
      system: "appdb",
      nativeId: null,
      username: "svc_report",
      identityId: null,
      enabled: true,
      attributes: {},
      entitlements: [],
      managedEntitlements: [],
      managed: false,
      lastSeenAt: T0.toISOString(),
      lastUsedAt: "2026-02-01T00:00:00Z",
    };
    await accountRepository.upsertMany(store.db, [orphan], T0.toISOString());
    config = await configOf(yaml("E2"));
    await syncNhiInventory(store, config, { now: T0, actor: "test" });
  });
  afterAll(() => store.dispose());

  const events = async (action: string) => (await queryEvents(store.db, { action })).map((e) => e.details);
  const outbox = async (event: string) =>
    (await notificationRepository.list(store.db)).filter((n) => n.event === event);
  const findings = async (name: string) =>
    (await listNhiViews(store, config, T0, { name }))[0]!.findings.map((f) => f.code);

  it("flags unused NHIs and grants only where last use is known", async () => {
    expect(await findings("gh-app")).toEqual(["unused_grant"]);
    expect(await findings("quiet-app")).toEqual(["unused"]);
    expect(await findings("unknown-use")).toEqual([]);
    // A discovered NHI takes its account's last use (February: past the 60d of service_account).
    const discovered = (await listNhiViews(store, config, T0, { name: "svc_report@appdb" }))[0]!;
    expect(discovered.lastUsedAt).toBe("2026-02-01T00:00:00Z");
    expect(discovered.findings.map((f) => f.code)).toEqual(["owner_missing", "unused"]);
    // Reconcile reads a newer use: the next sync takes it, and the NHI is in use again.
    const account = (await accountRepository.find(store.db, "appdb", "svc_report"))!;
    await accountRepository.upsertMany(
      store.db,
      [{ ...account, lastUsedAt: "2026-05-31T00:00:00Z" }],
      T0.toISOString(),
    );
    const sync = await syncNhiInventory(store, config, { now: at(0.01), actor: "test" });
    expect(sync.updated).toEqual(["svc_report@appdb"]);
    expect(await findings("svc_report@appdb")).toEqual(["owner_missing"]);
  });

  it("refuses an unknown, terminated or non-human owner, changing nothing", async () => {
    const before = await nhiRepository.findByName(store.db, "billing-export");
    const ledger = (await queryEvents(store.db, {})).length;
    const notices = (await notificationRepository.list(store.db)).length;
    const refusals: [string, string[], RegExp][] = [
      ["E77", [], /owner E77 is not an identity Tenure knows; nothing was changed/],
      ["E9", [], /owner E9 \(E9\) is terminated: an owner must be an active person/],
      ["gh-app", [], /owner gh-app is a non-human identity: an owner must be a person/],
      ["E3", ["E9"], /co-owner E9 \(E9\) is terminated/],
      ["E3", ["E3"], /E3 is the owner: a co-owner must be someone else/],
    ];
    for (const [owner, coOwners, message] of refusals) {
      await expect(
        assignNhiOwner(store, config, "billing-export", { owner, coOwners }, { now: at(0.1), actor }),
      ).rejects.toMatchObject({
        code: "nhi_owner_refused",
        httpStatus: 422,
        message: expect.stringMatching(message),
      });
    }
    await expect(
      assignNhiOwner(store, config, "no-such-nhi", { owner: "E3" }, { now: at(0.1), actor }),
    ).rejects.toMatchObject({ httpStatus: 404 });
    expect(await nhiRepository.findByName(store.db, "billing-export")).toEqual(before);
    expect((await queryEvents(store.db, {})).length).toBe(ledger);
    expect((await notificationRepository.list(store.db)).length).toBe(notices);
  });

  it("assigns an owner: clears a pending succession, audits, tells the new owner, moves reviews", async () => {
    // The owner leaves: ownership is pending to their manager E1.
    await identityRepository.upsertMany(store.db, [person("E2", "E1", "terminated")]);
    expect((await nhiOwnerSuccession(store, config, { now: at(1), actor: "test" })).pending).toEqual([
      { name: "billing-export", to: "id-E1" },
    ]);
    const done = await assignNhiOwner(
      store,
      config,
      "billing-export",
      { owner: "e3@example.test", coOwners: ["E4"] },
      { now: at(2), actor },
    );
    expect(done).toEqual({
      name: "billing-export",
      owner: "E3",
      coOwners: ["E4"],
      previousOwner: "E2",
      previousCoOwners: [],
      changed: true,
      accounts: [],
    });
    const nhi = (await nhiRepository.findByName(store.db, "billing-export"))!;
    expect(nhi).toMatchObject({
      ownerId: "id-E3",
      ownerKey: "E2",
      pendingOwnerId: null,
      pendingDeadline: null,
      ownerAssignment: { at: at(2).toISOString(), by: actor, coOwnerKeys: ["E4"] },
    });
    expect((await identityRepository.findById(store.db, nhi.id))?.attributes.managerId).toBe("E3");
    expect(await events("nhi.owner_assigned")).toEqual([
      expect.objectContaining({
        name: "billing-export",
        previous: { owner: "E2", coOwners: [] },
        owner: "E3",
        coOwners: ["E4"],
        pendingCleared: "id-E1",
      }),
    ]);
    const told = await outbox("nhi.owner-assigned");
    expect(told.map((n) => [n.recipient, n.subject])).toEqual([
      ["e3@example.test", "You now own billing-export (service_account)"],
    ]);
    const view = (await listNhiViews(store, config, at(2), { name: "billing-export" }))[0]!;
    expect(view).toMatchObject({ owner: "E3", coOwners: ["E4"], status: "active", findings: [] });
    // The same assignment again writes nothing.
    const again = await assignNhiOwner(
      store,
      config,
      "billing-export",
      { owner: "E3", coOwners: ["E4"] },
      { now: at(3), actor },
    );
    expect(again.changed).toBe(false);
    expect(await events("nhi.owner_assigned")).toHaveLength(1);
    // Succession leaves an owner who is here alone.
    expect((await nhiOwnerSuccession(store, config, { now: at(9), actor: "test" })).disabled).toEqual([]);
  });

  it("holds over an unchanged inventory; the inventory's next change of owner wins", async () => {
    await syncNhiInventory(store, config, { now: at(4), actor: "test" });
    expect((await nhiRepository.findByName(store.db, "billing-export"))?.ownerId).toBe("id-E3");
    // Only the inventory's co-owners change: its ownership applies again (E2, who left: succession's turn).
    await syncNhiInventory(store, await configOf(yaml("E2", "[E4]")), { now: at(5), actor: "test" });
    expect(await nhiRepository.findByName(store.db, "billing-export")).toMatchObject({
      ownerId: "id-E2",
      coOwnerKeys: ["E4"],
      ownerAssignment: null,
    });
    // Assigned again, then the inventory names another owner: the file wins.
    await assignNhiOwner(store, config, "billing-export", { owner: "E3" }, { now: at(6), actor });
    await syncNhiInventory(store, await configOf(yaml("E1", "[E4]")), { now: at(7), actor: "test" });
    const nhi = (await nhiRepository.findByName(store.db, "billing-export"))!;
    expect(nhi).toMatchObject({ ownerId: "id-E1", ownerKey: "E1", ownerAssignment: null });
    expect((await identityRepository.findById(store.db, nhi.id))?.attributes.managerId).toBe("E1");
  });

  it("stops showing an assignment once succession passes ownership on from the assigned owner", async () => {
    const current = await configOf(yaml("E1", "[E4]"));
    await assignNhiOwner(store, current, "billing-export", { owner: "E3" }, { now: at(8), actor });
    expect((await listNhiViews(store, current, at(8), { name: "billing-export" }))[0]).toMatchObject({
      owner: "E3",
      coOwners: [],
      ownerAssignment: { by: actor },
    });
    await identityRepository.upsertMany(store.db, [person("E3", "E1", "terminated")]);
    await nhiOwnerSuccession(store, current, { now: at(9), actor: "test" });
    await confirmNhiOwnership(store, current, "billing-export", "id-E1", { now: at(10), actor: "test" });
    expect((await listNhiViews(store, current, at(10), { name: "billing-export" }))[0]).toMatchObject({
      owner: "E1",
      coOwners: ["E4"],
      ownerAssignment: null,
    });
  });
});
