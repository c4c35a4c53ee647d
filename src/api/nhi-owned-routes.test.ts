import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiAccountHoldRepository } from "../store/nhi-account-hold-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { syncNhiInventory } from "../workflows/nhi-inventory.js";

/**
 * Issue 17: owners see their NHIs without `nhi:read` (GET /api/me/nhi, owner-scoped as review items are
 * reviewer-scoped), and an NHI's view carries its account hold and the "cannot be disabled" finding.
 */
const MORE = `nhi:
  inventory:
    - { name: grace-key, type: api_key, owner: E2, created: 2026-02-01 }
    - { name: shared-key, type: api_key, owner: E1, coOwners: [E2], created: 2026-02-01 }
    - { name: passing-key, type: api_key, owner: E1, created: 2026-02-01 }
    - { name: ada-key, type: api_key, owner: E1, created: 2026-02-01 }
    - { name: gone-key, type: api_key, owner: E3, created: 2026-02-01 }
`;

describe.each(await storeFactories())(
  "NHIs their owners see, and account holds, on %s",
  (_kind, makeStore) => {
    let f: ApiFixture;
    let grace = "";
    let nobody = "";

    beforeAll(async () => {
      f = await apiFixture(makeStore, { moreYaml: MORE });
      const now = f.clock.now;
      await syncNhiInventory(f.store, f.config, { now, actor: "test" });
      const e2 = (await identityRepository.resolve(f.store.db, "E2"))!;
      // Ownership of passing-key is passing to E2, to confirm; gone-key is disabled, its credential not.
      const passing = (await nhiRepository.findByName(f.store.db, "passing-key"))!;
      await nhiRepository.update(f.store.db, {
        ...passing,
        pendingOwnerId: e2.id,
        pendingSince: now.toISOString(),
        pendingDeadline: new Date(now.getTime() + 7 * 86_400_000).toISOString(),
        version: passing.version + 1,
      });
      const gone = (await nhiRepository.findByName(f.store.db, "gone-key"))!;
      await nhiRepository.update(f.store.db, {
        ...gone,
        disabledAt: now.toISOString(),
        disabledReason: "the owner left and there is nobody to pass ownership to",
        version: gone.version + 1,
      });
      await nhiAccountHoldRepository.insert(f.store.db, {
        nhiId: gone.id,
        system: null,
        username: null,
        state: "unenforced",
        why: "it names no system: Tenure knows no account to disable; switch the credential off where it lives",
        wasEnabled: null,
        heldAt: now.toISOString(),
        reason: "the owner left and there is nobody to pass ownership to",
      });
      const token = (name: string, identity?: string) =>
        f.tokens.create({
          name,
          role: "requester",
          expiresAt: null,
          actor: "test",
          ...(identity ? { identity } : {}),
        });
      grace = (await token("owner-E2", "E2")).token;
      nobody = (await token("nobody-requester")).token;
    });
    afterAll(() => f.dispose());

    it("lets an owner, co-owner or pending owner read that one NHI, and answers 404 alike for any other", async () => {
      const get = (name: string, token: string) =>
        f.app.inject({ method: "GET", url: `/api/nhi/${name}`, headers: bearer(token) });
      // Grace (a requester, no nhi:read) owns grace-key, co-owns shared-key, must confirm passing-key.
      for (const name of ["grace-key", "shared-key", "passing-key"]) {
        const res = await get(name, grace);
        expect(res.statusCode, `${name}: ${res.body}`).toBe(200);
        expect(res.json().name).toBe(name);
      }
      expect((await get("passing-key", grace)).json()).toMatchObject({ status: "pending" });
      // Someone else's NHI, a disabled one of someone else, and one that does not exist: the same 404.
      const missing = await get("no-such-key", grace);
      expect(missing.statusCode).toBe(404);
      for (const name of ["ada-key", "gone-key"]) {
        const res = await get(name, grace);
        expect(res.statusCode, name).toBe(404);
        expect(res.json().error.code).toBe("not_found");
        expect(res.json().error.message).toBe(`no NHI is called "${name}"`);
      }
      // A token of nobody owns nothing; an auditor (nhi:read) reads any.
      expect((await get("grace-key", nobody)).statusCode).toBe(404);
      expect((await get("ada-key", f.tokenFor.auditor)).statusCode).toBe(200);
    });

    it("shows a requester the NHIs they own, co-own or must confirm, and no other", async () => {
      expect(
        (await f.app.inject({ method: "GET", url: "/api/nhi", headers: bearer(grace) })).statusCode,
      ).toBe(403);
      const res = await f.app.inject({ method: "GET", url: "/api/me/nhi", headers: bearer(grace) });
      expect(res.statusCode, res.body).toBe(200);
      const nhis = res.json().nhis as Array<{ name: string; status: string; pendingOwnerId: string | null }>;
      expect(nhis.map((n) => n.name).sort()).toEqual(["grace-key", "passing-key", "shared-key"]);
      expect(nhis.find((n) => n.name === "passing-key")).toMatchObject({ status: "pending" });
      // The pending owner confirms from there.
      const confirmed = await f.app.inject({
        method: "POST",
        url: "/api/nhi/passing-key/confirm",
        headers: bearer(grace),
      });
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      // A token of nobody owns nothing.
      const none = await f.app.inject({ method: "GET", url: "/api/me/nhi", headers: bearer(nobody) });
      expect(none.statusCode).toBe(200);
      expect(none.json()).toEqual({ nhis: [] });
      // An auditor reads every NHI through /api/nhi: this route is for owners.
      expect(
        (await f.app.inject({ method: "GET", url: "/api/me/nhi", headers: bearer(f.tokenFor.auditor) }))
          .statusCode,
      ).toBe(403);
    });

    it("shows a disabled NHI's account hold and the finding that its credential cannot be disabled", async () => {
      const one = await f.app.inject({
        method: "GET",
        url: "/api/nhi/gone-key",
        headers: bearer(f.tokenFor.auditor),
      });
      expect(one.statusCode, one.body).toBe(200);
      expect(one.json()).toMatchObject({
        status: "disabled",
        accountHold: { state: "unenforced", system: null, why: expect.stringContaining("names no system") },
      });
      expect(one.json().findings).toContainEqual(
        expect.objectContaining({ code: "disable_unenforced", severity: "high" }),
      );
      const all = await f.app.inject({ method: "GET", url: "/api/nhi", headers: bearer(f.tokenFor.auditor) });
      const byName = new Map((all.json().nhis as Array<{ name: string }>).map((n) => [n.name, n]));
      expect(byName.get("gone-key")).toMatchObject({ accountHold: { state: "unenforced" } });
      expect(byName.get("ada-key")).toMatchObject({ accountHold: null });
    });
  },
);
