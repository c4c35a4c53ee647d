/**
 * Separation of duties through the REST API on SQLite and PostgreSQL, with a real `sql` application
 * database as the target: the rules, a scan (admin only), the violation with its lineage, an exception
 * refused to the holder and to someone who does not own the rule and granted to the owner, its
 * revocation, and the auditors' CSV with formula cells escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { queryEvents } from "../audit/ledger.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { sodExceptionRepository } from "../store/sod-repository.js";

const MORE = `
  sign-off:
    grants: [{ system: app, entitlements: [readers] }]
sod:
  rules:
    deploy-and-read:
      description: Deploys what they also sign off
      severity: high
      owner: grace@example.test
      sideA: { entitlements: ["app:deployers"] }
      sideB: { roles: [sign-off] }
      mitigations: [{ control: Weekly deploy review }]
`;

describe.each(await storeFactories())("separation of duties through the API on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const token: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    f = await apiFixture(makeStore, { moreYaml: MORE });
    for (const key of ["E1", "E2", "E4"]) {
      ids[key] = (await identityRepository.resolve(f.store.db, key))!.id;
      token[key] = (
        await f.tokens.create({
          name: `rev-${key}`,
          role: "reviewer",
          expiresAt: null,
          actor: "test",
          identity: key,
        })
      ).token;
    }
  });
  afterAll(() => f.dispose());

  const call = (method: "GET" | "POST", url: string, who: string, payload?: object) =>
    f.app.inject({
      method,
      url,
      headers: bearer(token[who] ?? f.tokenFor[who as keyof typeof f.tokenFor]),
      ...(payload ? { payload } : {}),
    });
  const ledger = async () => (await queryEvents(f.store.db, { limit: 100_000 })).length;

  it("lists the rules, scans (admin only), and shows the violation with why each side is held", async () => {
    const rules = await call("GET", "/api/sod/rules", "auditor");
    expect(rules.statusCode).toBe(200);
    expect(rules.json().rules).toEqual([
      expect.objectContaining({
        name: "deploy-and-read",
        severity: "high",
        sideA: ["app:deployers"],
        sideB: ["role sign-off"],
        location: expect.stringMatching(/^tenure\.yaml:\d+$/),
      }),
    ]);
    // Ada signs off what she deploys: an admin gave her the role for a month.
    await assignmentRepository.insert(
      f.store.db,
      {
        id: "signoff-e1",
        identityId: ids.E1!,
        target: { role: "sign-off" },
        employment: 1,
        validFrom: "2026-03-01T00:00:00.000Z",
        validUntil: "2026-04-01T00:00:00.000Z",
        reason: "cover",
        approvedBy: "admin",
        revokedAt: null,
      },
      "2026-03-01T00:00:00.000Z",
    );
    expect((await call("POST", "/api/sod/scan", "E2", {})).statusCode).toBe(403);
    const scan = await call("POST", "/api/sod/scan", "admin", {});
    expect(scan.statusCode).toBe(200);
    expect(scan.json()).toMatchObject({
      opened: 1,
      open: 1,
      scan: { kind: "full", bySeverity: { high: 1 } },
    });

    expect((await call("GET", "/api/sod/violations", "requester")).statusCode).toBe(403);
    const list = await call("GET", "/api/sod/violations?severity=high", "auditor");
    const [v] = list.json().violations;
    expect(v).toMatchObject({
      holder: { id: ids.E1, name: "Ada Lovelace", employeeId: "E1" },
      rule: "deploy-and-read",
      status: "open",
      description: "Deploys what they also sign off",
    });
    const why = Object.fromEntries(v.sides.map((s: { label: string; why: string[] }) => [s.label, s.why]));
    expect(why["app:deployers"]).toContainEqual(
      expect.stringMatching(/^birthright role engineer \(department == 'Engineering' at tenure\.yaml:\d+\)$/),
    );
    expect(why["role sign-off"]).toEqual([
      "role sign-off by assignment signoff-e1 (an administrator's) until 2026-04-01T00:00:00.000Z",
    ]);
    expect((await call("GET", `/api/sod/violations/${v.id}`, "E2")).json().id).toBe(v.id);
    expect((await call("GET", "/api/sod/violations/nope", "E2")).statusCode).toBe(404);
  });

  it("refuses an exception to the holder and to a non-owner, changing nothing; the owner accepts and revokes", async () => {
    const [v] = (await call("GET", "/api/sod/violations", "auditor")).json().violations;
    const body = { justification: '=HYPERLINK("http://evil")', expiresAt: "2026-03-09T10:00:00Z" };
    const before = await ledger();
    const self = await call("POST", `/api/sod/violations/${v.id}/exception`, "E1", body);
    expect(self.statusCode).toBe(403);
    expect(self.json()).toMatchObject({ error: { code: "self_exception" } });
    const other = await call("POST", `/api/sod/violations/${v.id}/exception`, "E4", body);
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ error: { code: "not_rule_owner" } });
    expect((await call("POST", `/api/sod/violations/${v.id}/exception`, "admin", body)).statusCode).toBe(422);
    expect(await ledger()).toBe(before);
    expect(await sodExceptionRepository.list(f.store.db, { now: f.clock.now.toISOString() })).toEqual([]);

    const ok = await call("POST", `/api/sod/violations/${v.id}/exception`, "E2", body);
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({
      state: "in force",
      control: "Weekly deploy review",
      approver: { id: ids.E2, name: "Grace Hopper" },
      expiresAt: "2026-03-09T10:00:00.000Z",
    });
    expect((await call("GET", "/api/sod/violations", "auditor")).json().violations[0].status).toBe(
      "excepted",
    );

    const csv = await call("GET", "/api/sod/reports/exceptions?format=csv", "auditor");
    expect(csv.statusCode).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split("\n");
    expect(lines[0]).toMatch(/^exception,employeeId,holder,rule,control,justification,approver/);
    expect(lines[1]).toContain("Ada Lovelace");
    expect(lines[1]).toContain("Grace Hopper");
    // A spreadsheet would run the justification as a formula: it is escaped.
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    const json = await call("GET", "/api/sod/reports/violations", "auditor");
    expect(json.json().rows[0]).toMatchObject({
      holder: "Ada Lovelace",
      status: "excepted",
      exceptionApprover: "Grace Hopper",
    });

    const revoked = await call("POST", `/api/sod/exceptions/${ok.json().id}/revoke`, "E4", {});
    expect(revoked.statusCode).toBe(403);
    const byOwner = await call("POST", `/api/sod/exceptions/${ok.json().id}/revoke`, "E2", {});
    expect(byOwner.statusCode).toBe(200);
    expect(byOwner.json().state).toBe("revoked");
    expect((await call("GET", "/api/sod/violations", "auditor")).json().violations[0].status).toBe("open");
    const actions = (await queryEvents(f.store.db, { limit: 100_000 })).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(["sod.exception_approved", "sod.exception_revoked", "sod.exception_ended"]),
    );
  });
});
