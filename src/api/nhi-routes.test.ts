import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { syncNhiInventory } from "../workflows/nhi-inventory.js";

/** Non-human identities through the API on SQLite and PostgreSQL: the inventory with findings, who may see and act. */
const MORE = `nhi:
  policy:
    maxCredentialAge: { api_key: 90d }
    allowedScopes: { oauth_app: [read:user] }
  inventory:
    - { name: deploy-key, type: api_key, owner: E1, created: 2025-06-01, purpose: deploys the app }
    - { name: ci-app, type: oauth_app, owner: E1, created: 2026-02-01, scopes: [read:user, admin:org] }
    - { name: stray-token, type: api_key, created: 2026-02-01 }
    - { name: idle-app, type: oauth_app, owner: E1, created: 2025-06-01, lastUsed: 2025-10-01, scopes: [read:user] }
`;

describe.each(await storeFactories())("non-human identities through the API on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  let grace = "";

  beforeAll(async () => {
    f = await apiFixture(makeStore, { moreYaml: MORE });
    await syncNhiInventory(f.store, f.config, { now: f.clock.now, actor: "test" });
    grace = (
      await f.tokens.create({
        name: "p-E2",
        role: "requester",
        expiresAt: null,
        actor: "test",
        identity: "E2",
      })
    ).token;
  });
  afterAll(() => f.dispose());

  it("lists every NHI with its owner and findings, for admins, auditors and reviewers", async () => {
    const res = await f.app.inject({ method: "GET", url: "/api/nhi", headers: bearer(f.tokenFor.auditor) });
    expect(res.statusCode, res.body).toBe(200);
    const byName = new Map(
      (
        res.json().nhis as Array<{ name: string; owner: string | null; findings: Array<{ code: string }> }>
      ).map((n) => [n.name, n]),
    );
    expect([...byName.keys()].sort()).toEqual(["ci-app", "deploy-key", "idle-app", "stray-token"]);
    expect(byName.get("deploy-key")!.owner).toBe("E1");
    expect(byName.get("deploy-key")!.findings.map((x) => x.code)).toEqual(["credential_age"]);
    expect(byName.get("ci-app")!.findings.map((x) => x.code)).toEqual(["scope_disallowed"]);
    expect(byName.get("stray-token")!.findings.map((x) => x.code)).toEqual(["owner_missing"]);
    expect(byName.get("idle-app")!.findings.map((x) => x.code)).toEqual(["unused"]);
    const one = await f.app.inject({
      method: "GET",
      url: "/api/nhi/ci-app",
      headers: bearer(f.tokenFor.reviewer),
    });
    expect(one.json()).toMatchObject({
      name: "ci-app",
      type: "oauth_app",
      scopes: ["read:user", "admin:org"],
    });
    expect(
      (await f.app.inject({ method: "GET", url: "/api/nhi", headers: bearer(f.tokenFor.requester) }))
        .statusCode,
    ).toBe(403);
  });

  it("refuses ownership to anyone ownership is not passing to, and a rotation without a sink", async () => {
    const refused = await f.app.inject({
      method: "POST",
      url: "/api/nhi/deploy-key/confirm",
      headers: bearer(grace),
    });
    expect(refused.statusCode).toBeGreaterThanOrEqual(400);
    expect(refused.statusCode).toBeLessThan(500);
    // Every path under /api/nhi/{name} is an NHI's: an NHI called "mass-change" is confirmed like any
    // other (the confirmation of held disables lives at /api/nhi-mass-change/confirm).
    const named = await f.app.inject({
      method: "POST",
      url: "/api/nhi/mass-change/confirm",
      headers: bearer(grace),
    });
    expect(named.statusCode, named.body).toBe(404);
    expect(named.json().error.message).toContain("mass-change");
    const rotate = await f.app.inject({
      method: "POST",
      url: "/api/nhi/deploy-key/rotate",
      headers: bearer(f.tokenFor.admin),
    });
    expect(rotate.statusCode).toBe(422);
    expect(rotate.json().error.message).toContain("nhi.rotation is not configured");
    const reviewerRotates = await f.app.inject({
      method: "POST",
      url: "/api/nhi/deploy-key/rotate",
      headers: bearer(f.tokenFor.reviewer),
    });
    expect(reviewerRotates.statusCode).toBe(403);
  });

  it("reports each NHI's risks mapped to the OWASP NHI Top 10", async () => {
    const res = await f.app.inject({
      method: "GET",
      url: "/api/reports/nhi-risks",
      headers: bearer(f.tokenFor.auditor),
    });
    expect(res.statusCode, res.body).toBe(200);
    const rows = res.json().rows as Array<{ nhi: string; risk: string; owasp: string }>;
    expect(rows.map((r) => `${r.nhi} ${r.risk} ${r.owasp}`).sort()).toEqual([
      "ci-app scope_disallowed NHI5:2025 Overprivileged NHI",
      "deploy-key credential_age NHI7:2025 Long-Lived Secrets",
      "idle-app unused NHI1:2025 Improper Offboarding",
      "stray-token owner_missing NHI1:2025 Improper Offboarding",
    ]);
    expect(res.json().summary).toMatchObject({ nhis: 4, withRisk: 4 });
  });

  it("assigns an owner for admins only; a person who is not active is refused and nothing changes", async () => {
    const post = (token: string, payload: Record<string, unknown>) =>
      f.app.inject({ method: "POST", url: "/api/nhi/stray-token/owner", headers: bearer(token), payload });
    expect((await post(f.tokenFor.reviewer, { owner: "E2" })).statusCode).toBe(403);
    expect((await post(grace, { owner: "E2" })).statusCode).toBe(403);
    const nobody = await post(f.tokenFor.admin, { owner: "E99" });
    expect(nobody.statusCode).toBe(422);
    expect(nobody.json().error.message).toContain("owner E99 is not an identity Tenure knows");
    const service = await post(f.tokenFor.admin, { owner: "ci-app" });
    expect(service.statusCode).toBe(422);
    expect(service.json().error.message).toContain("is a non-human identity");
    const unchanged = await f.app.inject({
      method: "GET",
      url: "/api/nhi/stray-token",
      headers: bearer(f.tokenFor.admin),
    });
    expect(unchanged.json()).toMatchObject({ owner: null, ownerAssignment: null });

    const done = await post(f.tokenFor.admin, { owner: "grace@example.test", coOwners: ["E1"] });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toEqual({
      name: "stray-token",
      owner: "E2",
      coOwners: ["E1"],
      previousOwner: null,
      previousCoOwners: [],
      changed: true,
      accounts: [],
    });
    const shown = await f.app.inject({
      method: "GET",
      url: "/api/nhi/stray-token",
      headers: bearer(f.tokenFor.auditor),
    });
    expect(shown.json()).toMatchObject({
      owner: "E2",
      ownerKey: null,
      coOwners: ["E1"],
      ownerAssignment: { coOwnerKeys: ["E1"] },
      findings: [],
    });
    expect((await post(f.tokenFor.admin, { owner: "E2" })).statusCode).toBe(200);
    expect((await post(f.tokenFor.admin, {})).statusCode).toBe(400);
    expect(
      (
        await f.app.inject({
          method: "POST",
          url: "/api/nhi/nothing-here/owner",
          headers: bearer(f.tokenFor.admin),
          payload: { owner: "E2" },
        })
      ).statusCode,
    ).toBe(404);
  });
});
