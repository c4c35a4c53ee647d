import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { queryEvents } from "../audit/ledger.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { syncNhiInventory } from "../workflows/nhi-inventory.js";
import { nhiOwnerSuccession } from "../workflows/nhi-succession.js";

/**
 * Issue 17: NHI disables held by mass-change protection are confirmed through the API as through the CLI
 * (`POST /api/nhi-mass-change/confirm { planHash }`, admin only): a stale hash is refused with 409
 * `plan_changed` and nothing changed in the store or the ledger; the right one disables exactly the held
 * NHIs, audited `nhi.mass_change_confirmed` with the token's name.
 */
// Ada (E1, no manager) owns three keys and leaves: nobody to pass them to. 3 of 4 > 25% and > 1.
const MORE = `nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
    - { name: ada-key-1, type: api_key, owner: E1, created: 2026-02-01 }
    - { name: ada-key-2, type: api_key, owner: E1, created: 2026-02-01 }
    - { name: ada-key-3, type: api_key, owner: E1, created: 2026-02-01 }
    - { name: grace-key, type: api_key, owner: E2, created: 2026-02-01 }
`;

describe.each(await storeFactories())(
  "confirming held NHI disables through the API on %s",
  (_kind, makeStore) => {
    let f: ApiFixture;
    let planHash = "";

    beforeAll(async () => {
      f = await apiFixture(makeStore, { moreYaml: MORE });
      await syncNhiInventory(f.store, f.config, { now: f.clock.now, actor: "test" });
      const ada = (await identityRepository.resolve(f.store.db, "E1"))!;
      await identityRepository.upsertMany(f.store.db, [
        { ...ada, state: "terminated", stateSince: f.clock.now.toISOString() },
      ]);
      const tick = await nhiOwnerSuccession(f.store, f.config, { now: f.clock.now, actor: "scheduler" });
      expect(tick.massChangeStopped?.counts).toEqual({ "system:nhi": { disable: 3, delete: 0, total: 4 } });
      planHash = tick.massChangeStopped!.planHash;
    });
    afterAll(() => f.dispose());

    const snapshot = async () => ({
      nhis: (await nhiRepository.list(f.store.db, { live: true })).map((n) => [
        n.name,
        n.version,
        n.disabledAt,
      ]),
      events: (await queryEvents(f.store.db, {})).length,
    });
    const confirm = (hash: string, token = f.tokenFor.admin) =>
      f.app.inject({
        method: "POST",
        url: "/api/nhi-mass-change/confirm",
        headers: bearer(token),
        payload: { planHash: hash },
      });

    it("previews the held disables in the API's plan answer, as `tenure plan` does", async () => {
      const res = await f.app.inject({
        method: "GET",
        url: "/api/plan",
        headers: bearer(f.tokenFor.auditor),
      });
      expect(res.statusCode, res.body).toBe(200);
      const disables = res.json().nhiDisables as Array<{ name: string; accountAction: string; why: string }>;
      expect(disables.map((d) => d.name)).toEqual(["ada-key-1", "ada-key-2", "ada-key-3"]);
      expect(disables[0]).toMatchObject({
        accountAction: "unenforced",
        why: expect.stringContaining("the owner E1 left on"),
      });
      // Only that system's NHIs with system=: these name none.
      const app = await f.app.inject({
        method: "GET",
        url: "/api/plan?system=app",
        headers: bearer(f.tokenFor.auditor),
      });
      expect(app.json().nhiDisables).toEqual([]);
    });

    it("refuses a stale hash and a role that may not confirm, changing nothing", async () => {
      const before = await snapshot();
      const stale = await confirm("0".repeat(64));
      expect(stale.statusCode, stale.body).toBe(409);
      expect(stale.json().error).toMatchObject({ code: "plan_changed", planHash });
      for (const role of ["auditor", "reviewer", "requester"] as const) {
        expect((await confirm(planHash, f.tokenFor[role])).statusCode).toBe(403);
      }
      const bad = await confirm("not-a-hash");
      expect(bad.statusCode).toBe(400);
      expect(await snapshot()).toEqual(before);
    });

    it("disables exactly the held NHIs on the right hash, audited with the token's name", async () => {
      const res = await confirm(planHash);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().disabled.sort()).toEqual(["ada-key-1", "ada-key-2", "ada-key-3"]);
      expect((await nhiRepository.findByName(f.store.db, "grace-key"))?.disabledAt).toBeNull();
      const confirmed = await queryEvents(f.store.db, { action: "nhi.mass_change_confirmed" });
      expect(confirmed).toHaveLength(1);
      expect(confirmed[0]).toMatchObject({
        actor: "token:t-admin",
        subject: `plan:${planHash}`,
        details: { disable: 3, total: 4, confirmedBy: "token:t-admin", planHash },
      });
      // Confirmed once: the same hash again is a plan no longer due, refused with nothing changed.
      const before = await snapshot();
      const again = await confirm(planHash);
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe("plan_changed");
      expect(await snapshot()).toEqual(before);
    });
  },
);
