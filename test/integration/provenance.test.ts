import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityRepository } from "../../src/store/identity-repository.js";
import { explainAccess } from "../../src/workflows/provenance.js";
import { type ApiFixture, apiFixture, bearer, FIXTURE_NOW } from "../helpers/api-fixture.js";
import { storeFactories } from "../helpers/databases.js";

/**
 * "Why did X have Y on date T" over a real lifecycle on SQLite and PostgreSQL: Ada holds app:deployers
 * by the engineer role's rule (its text quoted from the configuration in force, at its line); Grace
 * holds it for two hours by a request her manager approved; before the grants, and after Grace's
 * access ended, neither held it.
 */
const MORE = `
  deploy-request:
    grants: [{ system: app, entitlements: [deployers] }]
    requestable: { defaultDuration: 2h, maxDuration: 1d, approval: [manager] }
`;

describe.each(await storeFactories())("provenance on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const token: Record<string, string> = {};
  let requestId = "";
  const at = (minutes: number) => new Date(FIXTURE_NOW.getTime() + minutes * 60_000);

  beforeAll(async () => {
    f = await apiFixture(makeStore, { moreYaml: MORE });
    for (const key of ["E1", "E2"]) {
      token[key] = (
        await f.tokens.create({
          name: `p-${key}`,
          role: "requester",
          expiresAt: null,
          actor: "test",
          identity: key,
        })
      ).token;
    }
    f.clock.now = at(10);
    const asked = await f.app.inject({
      method: "POST",
      url: "/api/requests",
      headers: bearer(token.E2!),
      payload: {
        items: [{ kind: "role", role: "deploy-request" }],
        justification: "release train",
        duration: "2h",
      },
    });
    expect(asked.statusCode, asked.body).toBe(201);
    requestId = asked.json().request.id;
    f.clock.now = at(20);
    const approved = await f.app.inject({
      method: "POST",
      url: `/api/requests/${requestId}/approve`,
      headers: bearer(token.E1!),
      payload: { comment: "ok" },
    });
    expect(approved.json().provisioning.succeeded, approved.body).toBe(1);
    // The access clock ends it after two hours: the next run revokes it.
    f.clock.now = at(20 + 130);
    const run = await f.app.inject({
      method: "POST",
      url: "/api/sync",
      headers: bearer(f.tokenFor.admin),
      payload: {},
    });
    expect(run.statusCode, run.body).toBeLessThan(300);
  }, 120_000);
  afterAll(() => f?.dispose());

  it("a rule: the HR record, the rule as written then at its line, the role, the confirmed grant", async () => {
    const why = await explainAccess(f.store, f.config, {
      identity: "E1",
      access: "app:deployers",
      at: at(5),
    });
    expect(why.held).toBe(true);
    expect(why.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(why.steps.map((s) => s.kind)).toEqual(["hr-record", "rule", "role", "grant", "account"]);
    const rule = why.steps[1]!;
    expect(rule.text).toMatch(
      /rule "department == 'Engineering'" at .*tenure\.yaml:\d+ matched department="Engineering"/,
    );
    const line = Number(/tenure\.yaml:(\d+)/.exec(rule.text)![1]);
    expect(rule.source![0]).toEqual({
      line,
      text: expect.stringContaining("when: \"department == 'Engineering'\""),
    });
    expect(why.steps[2]!.text).toBe("role engineer");
    expect(why.steps[3]).toMatchObject({ kind: "grant", seq: expect.any(Number) });
    expect(why.steps[3]!.text).toContain("app confirmed deployers granted to account ada.lovelace");
  });

  it("a request: the assignment, the request with its justification, the manager's approval", async () => {
    const grace = (await identityRepository.resolve(f.store.db, "E2"))!;
    const why = await explainAccess(f.store, f.config, {
      identity: grace.id,
      access: "app:deployers",
      at: at(60),
    });
    expect(why.held).toBe(true);
    const kinds = why.steps.map((s) => s.kind);
    expect(kinds).toEqual(expect.arrayContaining(["assignment", "request", "approval", "grant"]));
    expect(why.steps.find((s) => s.kind === "request")!.text).toContain(`request ${requestId}`);
    expect(why.steps.find((s) => s.kind === "request")!.text).toContain("release train");
    const ada = (await identityRepository.resolve(f.store.db, "E1"))!;
    expect(
      why.steps
        .filter((s) => s.kind === "approval")
        .map((s) => s.text)
        .join("\n"),
    ).toContain(ada.id);
    // Before the approval, and after the access ended, Grace did not hold it.
    expect(
      (await explainAccess(f.store, f.config, { identity: "E2", access: "app:deployers", at: at(15) })).held,
    ).toBe(false);
    const after = await explainAccess(f.store, f.config, {
      identity: "E2",
      access: "app:deployers",
      at: at(200),
    });
    expect(after.held).toBe(false);
    expect(after.steps.map((s) => s.kind)).toEqual(["revoke", "not-held"]);
  });

  it("serves the answer to auditors over the API and refuses a bad access", async () => {
    const ok = await f.app.inject({
      method: "GET",
      url: `/api/audit/why?identity=E1&access=app:deployers&at=${at(5).toISOString()}`,
      headers: bearer(f.tokenFor.auditor),
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().held).toBe(true);
    const bad = await f.app.inject({
      method: "GET",
      url: "/api/audit/why?identity=E1&access=deployers",
      headers: bearer(f.tokenFor.auditor),
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.message).toContain("expected SYSTEM:ENTITLEMENT");
  });
});
