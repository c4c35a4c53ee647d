/**
 * Non-human identities over a real store (SQLite and PostgreSQL): the inventory synced (created, idempotent,
 * removed and marked, discovered from orphan accounts), and owner succession driven through its states —
 * the owner leaves, ownership passes to their manager who is told and must confirm; a stranger's
 * confirmation is refused; an unconfirmed succession disables the NHI at the deadline; with nobody to pass
 * to, `otherwise: keep` leaves it ownerless; expiry warnings go once per window. Every step is audited.
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
import { nhiAccountHoldRepository } from "../store/nhi-account-hold-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { notificationRepository } from "../store/notification-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { taskRepository } from "../store/task-repository.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { confirmNhiOwnership, nhiOwnerSuccession } from "./nhi-succession.js";

const DAY = 86_400_000;
const T0 = new Date("2026-06-01T09:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const actor = "test";

function yaml(
  inventory: string,
  leave = "{ passTo: manager, confirmWithin: 7d, otherwise: disable }",
): string {
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
    expiryWarnings: [30d, 7d]
    onOwnerLeave: ${leave}
  inventory:
${inventory}
  discover:
    - { system: appdb, usernameLike: "svc_%" }
`;
}

async function configOf(text: string): Promise<TenureConfig> {
  const { config, errors } = await validateConfigText(text, { path: "/tmp/nhi-test/tenure.yaml", env: {} });
  expect(errors).toEqual([]);
  return config!;
}

const person = (key: string, manager: string | null, state: Identity["state"] = "active") =>
  testPerson(key, { manager, state, at: T0, department: "Finance", terminationDate: "2026-06-02" });

describe.each(await storeFactories())("non-human identities on %s", (_kind, makeStore: StoreFactory) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await makeStore();
    await identityRepository.upsertMany(store.db, [
      person("E1", null),
      person("E2", "E1"),
      person("E3", "E1"),
      person("E4", null),
    ]);
  });
  afterAll(() => store.dispose());

  const events = async (action: string) => (await queryEvents(store.db, { action })).map((e) => e.details);
  const outbox = async (event: string) =>
    (await notificationRepository.list(store.db)).filter((n) => n.event === event);

  it("syncs the inventory once, marks a removed NHI and discovers orphan accounts", async () => {
    const orphan = (username: string): Account => ({
      system: "appdb",
      nativeId: null,
      username,
      identityId: null,
      enabled: true,
      attributes: {},
      entitlements: [],
      managedEntitlements: [],
      managed: false,
      lastSeenAt: T0.toISOString(),
      lastUsedAt: null,
    });
    await accountRepository.upsertMany(store.db, [orphan("svc_report"), orphan("alice")], T0.toISOString());
    const two = await configOf(
      yaml(`    - { name: billing-export, type: service_account, system: appdb, owner: E2, expires: 2026-06-20 }
    - { name: old-key, type: api_key, owner: E4 }`),
    );
    const first = await syncNhiInventory(store, two, { now: T0, actor });
    expect(first).toMatchObject({
      created: ["billing-export", "old-key"],
      discovered: ["svc_report@appdb"],
      removed: [],
    });
    const again = await syncNhiInventory(store, two, { now: at(0.1), actor });
    expect(again).toEqual({ created: [], updated: [], removed: [], discovered: [], unchanged: 2 });

    const billing = (await nhiRepository.findByName(store.db, "billing-export"))!;
    expect(billing.ownerId).toBe("id-E2");
    const identity = (await identityRepository.findById(store.db, billing.id))!;
    expect(identity).toMatchObject({
      kind: "service",
      source: "nhi",
      sourceKey: "billing-export",
      state: "active",
    });
    expect(identity.attributes.managerId).toBe("E2");
    expect((await nhiRepository.findByName(store.db, "svc_report@appdb"))?.ownerId).toBeNull();

    const one = await configOf(
      yaml(
        `    - { name: billing-export, type: service_account, system: appdb, owner: E2, expires: 2026-06-20 }`,
      ),
    );
    expect((await syncNhiInventory(store, one, { now: at(0.2), actor })).removed).toEqual(["old-key"]);
    const removed = (await nhiRepository.findByName(store.db, "old-key"))!;
    expect(removed.removedAt).not.toBeNull();
    expect((await identityRepository.findById(store.db, removed.id))?.state).toBe("terminated");
    expect(await events("nhi.removed")).toEqual([expect.objectContaining({ name: "old-key" })]);
    expect((await events("nhi.created")).length).toBe(2);
    expect((await events("nhi.discovered")).length).toBe(1);
  });

  it("passes ownership to the leaver's manager, who alone may confirm", async () => {
    const config = await configOf(
      yaml(
        `    - { name: billing-export, type: service_account, system: appdb, owner: E2, expires: 2026-06-20 }`,
      ),
    );
    await identityRepository.upsertMany(store.db, [person("E2", "E1", "terminated")]);
    const tick = await nhiOwnerSuccession(store, config, { now: at(1), actor });
    expect(tick.pending).toEqual([{ name: "billing-export", to: "id-E1" }]);
    const pending = (await nhiRepository.findByName(store.db, "billing-export"))!;
    expect(pending.pendingDeadline).toBe(at(8).toISOString());
    expect((await outbox("nhi.owner-pending")).map((n) => n.recipient)).toEqual(["e1@example.test"]);
    // A second tick sends nothing again.
    expect((await nhiOwnerSuccession(store, config, { now: at(2), actor })).pending).toEqual([]);
    expect(await outbox("nhi.owner-pending")).toHaveLength(1);

    await expect(
      confirmNhiOwnership(store, config, "billing-export", "id-E3", { now: at(2), actor }),
    ).rejects.toThrow(/only the pending owner may confirm/);
    const confirmed = await confirmNhiOwnership(store, config, "billing-export", "id-E1", {
      now: at(3),
      actor,
    });
    expect(confirmed).toMatchObject({ ownerId: "id-E1", pendingOwnerId: null });
    expect((await identityRepository.findById(store.db, confirmed.id))?.attributes.managerId).toBe("E1");
    expect(await events("nhi.owner_pending")).toEqual([
      expect.objectContaining({ from: "id-E2", to: "id-E1", reason: "owner-left" }),
    ]);
    expect(await events("nhi.owner_confirmed")).toEqual([
      expect.objectContaining({ owner: "id-E1", previous: "id-E2" }),
    ]);
    // Confirmed: the inventory's stale owner E2 does not take it back on the next sync.
    await syncNhiInventory(store, config, { now: at(3), actor });
    expect((await nhiRepository.findByName(store.db, "billing-export"))?.ownerId).toBe("id-E1");
  });

  it("disables an NHI whose successor does not confirm by the deadline, and tells them", async () => {
    const config = await configOf(
      yaml(
        `    - { name: billing-export, type: service_account, system: appdb, owner: E3, expires: 2026-06-20 }`,
      ),
    );
    // Naming a new owner in the inventory starts over with them.
    expect((await syncNhiInventory(store, config, { now: at(4), actor })).updated).toEqual([
      "billing-export",
    ]);
    await identityRepository.upsertMany(store.db, [person("E3", "E1", "terminated")]);
    expect((await nhiOwnerSuccession(store, config, { now: at(4), actor })).pending).toHaveLength(1);
    expect((await nhiOwnerSuccession(store, config, { now: at(10), actor })).disabled).toEqual([]);
    const disabling = await nhiOwnerSuccession(store, config, { now: at(11), actor });
    expect(disabling.disabled).toEqual(["billing-export"]);
    const nhi = (await nhiRepository.findByName(store.db, "billing-export"))!;
    // Its account's disable is queued in the transaction that disables it (the ledger has them side by
    // side), and applied at once: appdb is a manual system, so a person gets the task.
    expect(disabling.accounts).toEqual([
      expect.objectContaining({
        name: "billing-export",
        system: "appdb",
        username: "billing-export",
        outcome: "disable-queued",
        detail: null,
      }),
    ]);
    const trail = (await queryEvents(store.db, { subject: nhi.id })).map((e) => e.action);
    const disabledAt = trail.indexOf("nhi.disabled");
    expect(trail.slice(disabledAt, disabledAt + 3)).toEqual([
      "nhi.disabled",
      "operation.queued",
      "nhi.account_disable_queued",
    ]);
    const op = (await operationRepository.find(store.db, disabling.accounts[0]!.operationId!))!;
    expect(op).toMatchObject({ kind: "disable", identityId: nhi.id, state: "awaiting" });
    expect(await taskRepository.list(store.db, {})).toEqual([
      expect.objectContaining({ operationId: op.id, kind: "disable", username: "billing-export" }),
    ]);
    // Another tick queues nothing more.
    expect((await nhiOwnerSuccession(store, config, { now: at(11.5), actor })).accounts).toEqual([]);
    expect(nhi.disabledReason).toMatch(/not confirmed by/);
    expect((await identityRepository.findById(store.db, nhi.id))?.state).toBe("suspended");
    // old-key was disabled too, when it left the inventory.
    expect(await events("nhi.disabled")).toEqual([
      expect.objectContaining({ name: "old-key", reason: "removed from inventory" }),
      expect.objectContaining({ name: "billing-export" }),
    ]);
    expect((await outbox("nhi.ownerless")).map((n) => n.recipient)).toEqual(["e1@example.test"]);
  });

  it("keeps an NHI ownerless when nobody can take it and policy says keep", async () => {
    const config = await configOf(
      yaml(
        `    - { name: billing-export, type: service_account, system: appdb, owner: E3, expires: 2026-06-20 }
    - { name: lonely, type: agent, owner: E4 }`,
        "{ passTo: manager, otherwise: keep }",
      ),
    );
    await syncNhiInventory(store, config, { now: at(12), actor });
    await identityRepository.upsertMany(store.db, [person("E4", null, "terminated")]);
    const tick = await nhiOwnerSuccession(store, config, { now: at(12), actor });
    expect(tick.ownerless).toEqual(["lonely"]);
    const lonely = (await nhiRepository.findByName(store.db, "lonely"))!;
    expect(lonely).toMatchObject({ ownerId: null, disabledAt: null });
    expect(lonely.ownerlessReason).toMatch(/nobody to pass ownership to/);
    expect(await events("nhi.ownerless")).toEqual([expect.objectContaining({ name: "lonely" })]);
  });

  it("warns of expiry once per window", async () => {
    await identityRepository.upsertMany(store.db, [person("E2", "E1")]);
    const config = await configOf(
      yaml(`    - { name: expiring, type: api_key, owner: E2, expires: 2026-07-20 }`),
    );
    await syncNhiInventory(store, config, { now: at(20), actor });
    // 2026-06-21: 29 days left → the 30d window; again the same day → nothing; 2026-07-15 → 7d.
    expect((await nhiOwnerSuccession(store, config, { now: at(20), actor })).warned).toEqual([
      { name: "expiring", within: "30d" },
    ]);
    expect((await nhiOwnerSuccession(store, config, { now: at(21), actor })).warned).toEqual([]);
    expect((await nhiOwnerSuccession(store, config, { now: at(44), actor })).warned).toEqual([
      { name: "expiring", within: "7d" },
    ]);
    const sent = (await outbox("nhi.expiring")).filter((n) => n.payload.name === "expiring");
    expect(sent.map((n) => [n.recipient, n.payload.within])).toEqual([
      ["e2@example.test", "30d"],
      ["e2@example.test", "7d"],
    ]);
  });

  it("enables the account again when the inventory names a new owner for a disabled NHI", async () => {
    await identityRepository.upsertMany(store.db, [person("E5", null)]);
    const owned = (owner: string) =>
      configOf(yaml(`    - { name: nightly-job, type: service_account, system: appdb, owner: ${owner} }`));
    await syncNhiInventory(store, await owned("E5"), { now: at(50), actor });
    await identityRepository.upsertMany(store.db, [person("E5", null, "terminated")]);
    const disabled = await nhiOwnerSuccession(store, await owned("E5"), { now: at(51), actor });
    expect(disabled.accounts).toEqual([
      expect.objectContaining({ name: "nightly-job", outcome: "disable-queued" }),
    ]);
    const nhi = (await nhiRepository.findByName(store.db, "nightly-job"))!;
    expect(await nhiAccountHoldRepository.find(store.db, nhi.id)).toMatchObject({ state: "held" });

    // The sync (which resets succession) and the succession after it, as `tenure nhi sync` runs them.
    await syncNhiInventory(store, await owned("E1"), { now: at(52), actor });
    const enabled = await nhiOwnerSuccession(store, await owned("E1"), { now: at(52), actor });
    expect(enabled.accounts).toEqual([
      expect.objectContaining({
        name: "nightly-job",
        outcome: "enable-queued",
        operationId: expect.any(String),
      }),
    ]);
    expect(await nhiAccountHoldRepository.find(store.db, nhi.id)).toBeUndefined();
    const op = (await operationRepository.find(store.db, enabled.accounts[0]!.operationId!))!;
    expect(op).toMatchObject({
      kind: "enable",
      system: "appdb",
      username: "nightly-job",
      identityId: nhi.id,
    });
    expect(await events("nhi.account_enable_queued")).toEqual([
      expect.objectContaining({ name: "nightly-job", operationId: op.id }),
    ]);
  });
});
