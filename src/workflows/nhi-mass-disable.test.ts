/**
 * Issue 17: mass-change protection counts NHI disables (docs/nhi.md "Mass-change protection"). A leaver owned
 * many service accounts and nobody can take them over: the tick that would disable them all at once holds the
 * disables (recorded and alerted once per stop, `mass-change.stopped`), while the rest of the tick — ownership
 * of another leaver's NHI passing on — goes ahead; an admin confirms exactly that plan and they are disabled;
 * a confirmation of another plan is refused and disables nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StoreFactory, storeFactories, type TestStore } from "../../test/helpers/databases.js";
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

function person(key: string, manager: string | null, state: Identity["state"] = "active"): Identity {
  return {
    id: `id-${key}`,
    kind: "human",
    source: "hr",
    sourceKey: key,
    state,
    attributes: {
      employeeId: key,
      givenName: key,
      familyName: "Test",
      displayName: `${key} Test`,
      email: `${key.toLowerCase()}@example.test`,
      department: null,
      title: null,
      location: null,
      costCenter: null,
      managerId: manager,
      employmentType: "employee",
      status: state === "terminated" ? "terminated" : "active",
      startDate: null,
      endDate: null,
      terminationDate: state === "terminated" ? "2026-06-02" : null,
    },
    employment: 1,
    stateSince: T0.toISOString(),
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

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
