/**
 * Access requests through the REST API on SQLite and PostgreSQL, with a real `sql` application
 * database as the target: the catalogue, a request for oneself decided by the manager and provisioned,
 * who may see and decide what, early revocation with its read-back receipt, and the workflow webhook —
 * signed open and close, and every unsigned, badly signed, stale or replayed delivery refused.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { queryEvents } from "../audit/ledger.js";
import { accountRepository } from "../store/account-repository.js";
import { identityRepository } from "../store/identity-repository.js";

const SECRET = "s3cret-for-incidents-0123456789";

const MORE = `
  deploy-request:
    grants: [{ system: app, entitlements: [deployers] }]
    requestable:
      defaultDuration: 4h
      maxDuration: 1d
      approval: [manager]
  break-fix:
    elevation: true
    grants: [{ system: app, entitlements: [deployers] }]
    requestable: { maxDuration: 2h, approval: [manager] }
requests:
  workflows:
    incidents: { secret: "${SECRET}", role: break-fix, maxDuration: 2h }
`;

describe.each(await storeFactories())("access requests through the API on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const token: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    f = await apiFixture(makeStore, { moreYaml: MORE });
    for (const key of ["E1", "E2", "E4"]) {
      const identity = await identityRepository.resolve(f.store.db, key);
      ids[key] = identity!.id;
      token[key] = (
        await f.tokens.create({
          name: `person-${key}`,
          role: "requester",
          expiresAt: null,
          actor: "test",
          identity: key,
        })
      ).token;
    }
  });
  afterAll(() => f.dispose());

  const call = (method: "GET" | "POST", url: string, who: string, payload?: object) =>
    f.app.inject({ method, url, headers: bearer(token[who] ?? who), ...(payload ? { payload } : {}) });
  const deployersOf = async (key: string) =>
    (await accountRepository.list(f.store.db, { identityId: ids[key]! }))
      .filter((a) => a.system === "app")
      .flatMap((a) => a.entitlements)
      .includes("deployers");

  it("lists what a person may ask for, with the steps and whether they are eligible", async () => {
    const res = await call("GET", "/api/requestable", "E2");
    expect(res.statusCode).toBe(200);
    const items = res.json().items;
    expect(items).toContainEqual(
      expect.objectContaining({
        item: { kind: "role", role: "deploy-request" },
        elevation: false,
        maxDurationMs: 86_400_000,
        approval: ["manager"],
        eligible: true,
      }),
    );
    expect(items.map((i: { label: string }) => i.label)).not.toContain("role staff");
  });

  it("asks, is decided by the manager only, is provisioned, and is ended early with a receipt", async () => {
    const asked = await call("POST", "/api/requests", "E2", {
      items: [{ kind: "role", role: "deploy-request" }],
      justification: "release train",
      duration: "2h",
    });
    expect(asked.statusCode).toBe(201);
    const request = asked.json().request;
    expect(request).toMatchObject({ state: "pending", requester: { id: ids.E2 }, durationMs: 7_200_000 });
    expect(request.steps[0].approvers).toEqual([{ id: ids.E1, name: "Ada Lovelace" }]);

    // The requester may not decide; someone unrelated may neither decide nor see it.
    const self = await call("POST", `/api/requests/${request.id}/approve`, "E2", {});
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe("self_approval");
    expect((await call("GET", `/api/requests/${request.id}`, "E4")).statusCode).toBe(404);
    expect((await call("POST", `/api/requests/${request.id}/approve`, "E4", {})).json().error.code).toBe(
      "not_an_approver",
    );

    // The manager may decide; the requester sees it but may not.
    expect((await call("GET", `/api/requests/${request.id}`, "E1")).json()).toMatchObject({
      mayDecide: true,
      standingInFor: null,
    });
    expect((await call("GET", `/api/requests/${request.id}`, "E2")).json()).toMatchObject({
      mayDecide: false,
    });
    // Ada delegates to Cy for an hour: Cy sees it in the inbox and on its page, and may decide for Ada.
    const delegated = await call("POST", "/api/delegations", "E1", {
      to: "E4",
      until: new Date(f.clock.now.getTime() + 3_600_000).toISOString(),
    });
    expect(delegated.statusCode).toBe(201);
    expect((await call("GET", `/api/requests/${request.id}`, "E4")).json()).toMatchObject({
      mayDecide: true,
      standingInFor: { id: ids.E1, name: "Ada Lovelace" },
    });
    expect(
      (await call("GET", "/api/requests?view=waiting", "E4")).json().items.map((r: { id: string }) => r.id),
    ).toEqual([request.id]);
    expect(
      (await call("POST", "/api/delegations", "E1", { to: "E1", until: "2026-03-03T00:00:00Z" })).json().error
        .code,
    ).toBe("self_delegation");

    const inbox = (await call("GET", "/api/requests?view=waiting", "E1")).json();
    expect(inbox.items.map((r: { id: string }) => r.id)).toEqual([request.id]);
    expect((await call("GET", "/api/requests?view=all", "E1")).statusCode).toBe(403);
    expect((await call("GET", "/api/requests?view=all", f.tokenFor.auditor)).json().items).toHaveLength(1);

    const approved = await call("POST", `/api/requests/${request.id}/approve`, "E1", { comment: "ok" });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({
      request: { state: "approved", decisions: [{ by: { id: ids.E1 }, verdict: "approve", comment: "ok" }] },
      provisioning: { succeeded: 1, failed: 0, error: null },
    });
    expect(await deployersOf("E2")).toBe(true);
    expect(approved.json().request.grants[0]).toMatchObject({
      target: "role deploy-request",
      validFrom: f.clock.now.toISOString(),
      validUntil: new Date(f.clock.now.getTime() + 7_200_000).toISOString(),
    });

    const revoked = await call("POST", `/api/requests/${request.id}/revoke`, "E2", { reason: "done early" });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().ended[0]).toMatchObject({
      confirmed: true,
      checks: expect.arrayContaining([
        { system: "app", username: "grace.hopper", entitlement: "deployers", outcome: "gone" },
      ]),
    });
    expect(await deployersOf("E2")).toBe(false);
    const actions = (await queryEvents(f.store.db, { limit: 10_000 })).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "request.submitted",
        "request.approved",
        "assignment.granted",
        "assignment.revoked",
        "assignment.ended",
      ]),
    );
  });

  it("tells a token that acts for nobody that requests are a person's", async () => {
    const res = await call("POST", "/api/requests", f.tokenFor.admin, {
      items: [{ kind: "role", role: "deploy-request" }],
      justification: "x",
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe("no_identity");
  });

  describe("the workflow webhook", () => {
    const url = "/api/workflows/incidents/events";
    const send = (body: object, options: { at?: Date; secret?: string; signature?: string | null } = {}) => {
      const raw = JSON.stringify(body);
      const timestamp = String(Math.floor((options.at ?? f.clock.now).getTime() / 1000));
      const signature = `sha256=${createHmac("sha256", options.secret ?? SECRET)
        .update(`${timestamp}.${raw}`)
        .digest("hex")}`;
      return f.app.inject({
        method: "POST",
        url,
        headers: {
          "content-type": "application/json",
          ...(options.signature === null
            ? {}
            : { "x-tenure-timestamp": timestamp, "x-tenure-signature": options.signature ?? signature }),
        },
        payload: raw,
      });
    };
    const open = {
      id: "evt-1",
      type: "open",
      incident: "INC-7",
      responders: ["ada@example.test", "nobody@example.test"],
    };

    it("refuses unsigned, badly signed and stale events, changing nothing", async () => {
      const before = (await queryEvents(f.store.db, { limit: 10_000 })).length;
      expect((await send(open, { signature: null })).json().error.code).toBe("unsigned");
      expect((await send(open, { secret: "another-secret-of-some-length" })).statusCode).toBe(401);
      expect((await send({ ...open, incident: "INC-8" }, { signature: await signed(open) })).statusCode).toBe(
        401,
      );
      const stale = await send(open, { at: new Date(f.clock.now.getTime() - 10 * 60_000) });
      expect(stale.statusCode).toBe(409);
      expect(stale.json().error.code).toBe("stale_event");
      expect(
        (await f.app.inject({ method: "POST", url: "/api/workflows/incidnts/events", payload: {} })).json()
          .error.message,
      ).toContain('did you mean "incidents"');
      expect((await queryEvents(f.store.db, { limit: 10_000 })).length).toBe(before);
      expect(await deployersOf("E1")).toBe(true); // Ada is an engineer: birthright deployers
    });

    async function signed(body: object): Promise<string> {
      const timestamp = String(Math.floor(f.clock.now.getTime() / 1000));
      return `sha256=${createHmac("sha256", SECRET)
        .update(`${timestamp}.${JSON.stringify(body)}`)
        .digest("hex")}`;
    }

    it("elevates the responders on open, refuses the replay, and revokes on close", async () => {
      const opened = await send(open);
      expect(opened.statusCode).toBe(200);
      expect(opened.json()).toMatchObject({
        event: { id: "evt-1", kind: "open", incident: "INC-7" },
        granted: [{ identity: ids.E1, until: new Date(f.clock.now.getTime() + 7_200_000).toISOString() }],
        refused: [{ responder: "nobody@example.test", reason: "no such identity" }],
      });
      const request = opened.json().granted[0].request;
      const view = (await call("GET", `/api/requests/${request}`, "E1")).json().request;
      expect(view).toMatchObject({
        kind: "workflow",
        autoApproved: true,
        ticket: "INC-7",
        state: "approved",
      });

      const replay = await send(open);
      expect(replay.statusCode).toBe(409);
      expect(replay.json().error.code).toBe("replayed_event");

      const closed = await send({ id: "evt-2", type: "close", incident: "INC-7" });
      expect(closed.json()).toMatchObject({ event: { kind: "close" }, revoked: 1 });
      const after = (await call("GET", `/api/requests/${request}`, "E1")).json().request;
      expect(after.grants[0].revokedAt).toBe(f.clock.now.toISOString());
      expect(after.grants[0].endedAt).toBe(f.clock.now.toISOString());
      // Ada keeps deployers through her birthright role: the receipt says kept, not gone.
      expect(await deployersOf("E1")).toBe(true);
    });
  });
});
