/**
 * Issue 17: mass-change protection counts NHI disables (docs/nhi.md "Mass-change protection"). A leaver owned
 * many service accounts and nobody can take them over: the tick that would disable them all at once holds the
 * disables (recorded and alerted once per stop, `mass-change.stopped`), while the rest of the tick — ownership
 * of another leaver's NHI passing on — goes ahead; an admin confirms exactly that plan and they are disabled;
 * a confirmation of another plan is refused and disables nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StoreFactory, storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { testPerson } from "../../test/helpers/test-person.js";
import { queryEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { validateConfigText } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { MassChangeError, PlanChangedError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { nhiOwnerSuccession } from "./nhi-succession.js";

const T0 = new Date("2026-06-01T09:00:00Z");
const T1 = new Date("2026-06-03T09:00:00Z");
const actor = "test";

// E9 owns six keys and has no manager; E3's key passes to E1; E1 keeps fourteen. 6 of 21 > 10% and > 2.
const inventory = [
  ...Array.from({ length: 6 }, (_, i) => `    - { name: leaver-key-${i}, type: api_key, owner: E9 }`),
  "    - { name: e3-key, type: api_key, owner: E3 }",
  ...Array.from({ length: 14 }, (_, i) => `    - { name: kept-key-${i}, type: api_key, owner: E1 }`),
].join("\n");
const YAML = `
lifecycle:
  massChangeThreshold: { percent: 10, minimum: 2 }
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
${inventory}
`;

const person = (key: string, manager: string | null, state: Identity["state"] = "active") =>
  testPerson(key, { manager, state, at: T0, terminationDate: "2026-06-02" });

describe.each(await storeFactories())(
  "NHI disables under mass-change protection on %s",
  (_kind, makeStore: StoreFactory) => {
    let store: TestStore;
    let config: TenureConfig;
    beforeAll(async () => {
      const { config: c, errors } = await validateConfigText(YAML, {
        path: "/tmp/nhi-mass/tenure.yaml",
        env: {},
      });
      expect(errors).toEqual([]);
      config = c!;
      store = await makeStore();
      await identityRepository.upsertMany(store.db, [
        person("E1", null),
        person("E3", "E1"),
        person("E9", null),
      ]);
      await syncNhiInventory(store, config, { now: T0, actor });
      await identityRepository.upsertMany(store.db, [
        person("E9", null, "terminated"),
        person("E3", "E1", "terminated"),
      ]);
    });
    afterAll(() => store.dispose());

    const disabled = async () =>
      (await nhiRepository.list(store.db, { live: true }))
        .filter((n) => n.disabledAt !== null)
        .map((n) => n.name);

    it("holds the disables past the threshold, records and alerts the stop, and does the rest", async () => {
      const tick = await nhiOwnerSuccession(store, config, { now: T1, actor });
      expect(tick.massChangeStopped).toBeInstanceOf(MassChangeError);
      expect(tick.massChangeStopped!.counts).toEqual({ "system:nhi": { disable: 6, delete: 0, total: 21 } });
      expect(tick.disabled).toEqual([]);
      expect(await disabled()).toEqual([]);
      // The rest of the tick went ahead: E3's key passes to E1.
      expect(tick.pending).toEqual([{ name: "e3-key", to: "id-E1" }]);
      const [stop] = await queryEvents(store.db, { action: "mass-change.stopped" });
      expect(stop?.details).toMatchObject({
        run: "NHI owner succession",
        planHash: tick.massChangeStopped!.planHash,
      });
      // The next tick finds the same plan: the same hash, held again.
      const again = await nhiOwnerSuccession(store, config, { now: T1, actor });
      expect(again.massChangeStopped?.planHash).toBe(tick.massChangeStopped!.planHash);
      expect(await disabled()).toEqual([]);
    });

    it("refuses a confirmation of another plan, then disables exactly the confirmed one", async () => {
      const { planHash } = (await nhiOwnerSuccession(store, config, { now: T1, actor })).massChangeStopped!;
      await expect(
        nhiOwnerSuccession(store, config, { now: T1, actor, confirmMassChange: "0".repeat(64) }),
      ).rejects.toBeInstanceOf(PlanChangedError);
      expect(await disabled()).toEqual([]);
      const done = await nhiOwnerSuccession(store, config, {
        now: T1,
        actor: "cli:admin",
        confirmMassChange: planHash,
      });
      expect(done.massChangeStopped).toBeUndefined();
      expect(done.disabled.sort()).toEqual(Array.from({ length: 6 }, (_, i) => `leaver-key-${i}`));
      const [confirmed] = await queryEvents(store.db, { action: "nhi.mass_change_confirmed" });
      expect(confirmed?.details).toMatchObject({ disable: 6, total: 21, confirmedBy: "cli:admin", planHash });
    });
  },
);

/**
 * Removal disables pass the same gate (workflows/nhi-mass-change.ts): an inventory emptied — the
 * `inventoryFiles` line deleted, a truncated file — disables nothing until an admin confirms that plan.
 */
const TEN = Array.from({ length: 10 }, (_, i) => `svc-${i}`);
const inventoryYaml = (names: readonly string[]) => `
lifecycle:
  massChangeThreshold: { percent: 20, minimum: 2 }
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
nhi:
  inventory:
${names.map((n) => `    - { name: ${n}, type: service_account, owner: E1 }`).join("\n")}
`;

describe.each(await storeFactories())(
  "NHIs removed from the inventory under mass-change protection on %s",
  (_kind, makeStore: StoreFactory) => {
    let store: TestStore;
    const configOf = async (names: readonly string[]) => {
      const { config, errors } = await validateConfigText(inventoryYaml(names), {
        path: "/tmp/nhi-mass-removal/tenure.yaml",
        env: {},
      });
      expect(errors).toEqual([]);
      return config!;
    };
    beforeAll(async () => {
      store = await makeStore();
      await identityRepository.upsertMany(store.db, [person("E1", null)]);
      expect((await syncNhiInventory(store, await configOf(TEN), { now: T0, actor })).created).toHaveLength(
        10,
      );
    });
    afterAll(() => store.dispose());

    const snapshot = async () => ({
      nhis: (await nhiRepository.list(store.db)).map((n) => [n.name, n.version, n.removedAt, n.disabledAt]),
      events: (await queryEvents(store.db, { limit: 1000 })).length,
    });

    it("holds every removal past the threshold, records the stop once, and does the rest", async () => {
      const before = await snapshot();
      const sync = await syncNhiInventory(store, await configOf(["new-key"]), { now: T1, actor });
      expect(sync.massChangeStopped).toBeInstanceOf(MassChangeError);
      expect(sync.massChangeStopped!.counts).toEqual({ "system:nhi": { disable: 10, delete: 0, total: 10 } });
      expect(sync.massChangeStopped!.message).toContain(
        `tenure nhi sync --confirm-mass-change ${sync.massChangeStopped!.planHash}`,
      );
      expect(sync.removed).toEqual([]);
      // The rest of the sync went ahead.
      expect(sync.created).toEqual(["new-key"]);
      const live = await nhiRepository.list(store.db, { live: true });
      expect(live.filter((n) => TEN.includes(n.name) && n.disabledAt === null)).toHaveLength(10);
      for (const name of TEN) {
        const nhi = (await nhiRepository.findByName(store.db, name))!;
        expect((await identityRepository.findById(store.db, nhi.id))?.state).toBe("active");
      }
      // In the ledger: the creation and the stop, nothing of the removals.
      expect(await queryEvents(store.db, { action: "nhi.removed" })).toEqual([]);
      expect(await queryEvents(store.db, { action: "nhi.disabled" })).toEqual([]);
      const stops = await queryEvents(store.db, { action: "mass-change.stopped" });
      expect(stops).toHaveLength(1);
      expect(stops[0]?.details).toMatchObject({
        run: "NHI inventory sync",
        planHash: sync.massChangeStopped!.planHash,
      });
      expect((await queryEvents(store.db, { limit: 1000 })).length).toBe(before.events + 2);
    });

    it("refuses a stale hash with nothing changed, then disables exactly the confirmed removals", async () => {
      const config = await configOf(["new-key"]);
      const { planHash } = (await syncNhiInventory(store, config, { now: T1, actor })).massChangeStopped!;
      const before = await snapshot();
      await expect(
        syncNhiInventory(store, config, { now: T1, actor, confirmMassChange: "0".repeat(64) }),
      ).rejects.toBeInstanceOf(PlanChangedError);
      expect(await snapshot()).toEqual(before);

      const done = await syncNhiInventory(store, config, {
        now: T1,
        actor: "cli:admin",
        confirmMassChange: planHash,
      });
      expect(done.massChangeStopped).toBeUndefined();
      expect(done.massChangeConfirmed).toBe(true);
      expect(done.removed.sort()).toEqual([...TEN].sort());
      for (const name of TEN) {
        expect(await nhiRepository.findByName(store.db, name)).toMatchObject({
          disabledReason: "removed from inventory",
          removedAt: T1.toISOString(),
        });
      }
      const [confirmed] = await queryEvents(store.db, { action: "nhi.mass_change_confirmed" });
      expect(confirmed?.details).toMatchObject({
        run: "NHI inventory sync",
        disable: 10,
        total: 11,
        confirmedBy: "cli:admin",
        planHash,
      });
      // The same hash again is stale: those removals are done.
      await expect(
        syncNhiInventory(store, config, { now: T1, actor, confirmMassChange: planHash }),
      ).rejects.toBeInstanceOf(PlanChangedError);
    });
  },
);
