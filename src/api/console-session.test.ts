/**
 * The console's side of the API on a real store (SQLite and PostgreSQL): sessions in an http-only
 * cookie, the CSRF token on every change, sign-out, one-time links, a leaver's session ending, the
 * dashboard, the plan preview of a candidate configuration and the console's pages.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer, makeDeadOperation } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { storeSnapshot } from "../../test/helpers/store-snapshot.js";
import { appendEvent, queryEvents } from "../audit/ledger.js";
import type { LifecycleState } from "../domain/identity-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { createSessionService } from "./auth/session-service.js";

type Cookie = { name: string; value: string; httpOnly?: boolean; sameSite?: string; path?: string };

describe.each(await storeFactories())("console sessions on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture(makeStore);
  });
  afterAll(() => f.dispose());

  /** Runs `fn` while the identity `key` is in `state`, then puts its state back. */
  async function whileIn<T>(key: string, state: LifecycleState, fn: () => Promise<T>): Promise<T> {
    const identity = (await identityRepository.resolve(f.store.db, key))!;
    const set = (to: LifecycleState) =>
      f.store.db.updateTable("identities").set({ state: to }).where("id", "=", identity.id).execute();
    await set(state);
    try {
      return await fn();
    } finally {
      await set(identity.state);
    }
  }

  const sessions = () => createSessionService({ db: f.store.db, now: () => f.clock.now, sessionHours: 8 });

  async function signIn(token: string) {
    const res = await f.app.inject({ method: "POST", url: "/api/session", payload: { token } });
    expect(res.statusCode, res.body).toBe(200);
    const cookie = (res.cookies as Cookie[]).find((c) => c.name === "tenure_session")!;
    return {
      res,
      cookie,
      csrf: res.json().csrfToken as string,
      headers: { cookie: `tenure_session=${cookie.value}` },
    };
  }

  it("signs in with a token: an http-only SameSite=Lax cookie, the role's permissions, the role's routes", async () => {
    const { res, cookie, headers } = await signIn(f.tokenFor.auditor);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    expect(res.json()).toMatchObject({ name: "t-auditor", role: "auditor", via: "token", identity: null });
    expect(res.json().permissions).toContain("identities:read");
    expect(res.json().permissions).not.toContain("operations:retry");
    // The cookie is never the token, and the answer holds neither.
    expect(cookie.value).not.toContain(f.tokenFor.auditor);
    expect(res.body).not.toContain(cookie.value);
    expect((await f.app.inject({ url: "/api/session", headers })).json().name).toBe("t-auditor");
    expect((await f.app.inject({ url: "/api/identities", headers })).statusCode).toBe(200);
    const dead = await makeDeadOperation(f);
    const refused = await f.app.inject({
      method: "POST",
      url: `/api/operations/${dead.id}/retry`,
      headers: { ...headers, "x-csrf-token": res.json().csrfToken },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toContain("session's role auditor");
  });

  it("refuses a change without the session's CSRF token and changes nothing; with it, does it", async () => {
    const { headers, csrf } = await signIn(f.tokenFor.admin);
    const dead = await makeDeadOperation(f);
    const before = await storeSnapshot(f.store.db);
    // The right token with its last character changed (to one it is not: it may well be an "A").
    const altered = `${csrf.slice(0, -1)}${csrf.endsWith("A") ? "B" : "A"}`;
    for (const sent of [undefined, "", "x".repeat(43), altered]) {
      const res = await f.app.inject({
        method: "POST",
        url: `/api/operations/${dead.id}/retry`,
        headers: sent === undefined ? headers : { ...headers, "x-csrf-token": sent },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toContain("x-csrf-token");
    }
    expect(await storeSnapshot(f.store.db)).toEqual(before);
    const ok = await f.app.inject({
      method: "POST",
      url: `/api/operations/${dead.id}/retry`,
      headers: { ...headers, "x-csrf-token": csrf },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await operationRepository.findByIdPrefix(f.store.db, dead.id))[0]?.state).toBe("pending");
    const retried = await queryEvents(f.store.db, { action: "operation.retried", limit: 1000 });
    expect(retried.at(-1)?.actor).toBe("token:t-admin");
  });

  it("refuses a bad token with 401 and starts no session", async () => {
    const before = await queryEvents(f.store.db, { action: "session.started", limit: 1000 });
    const res = await f.app.inject({
      method: "POST",
      url: "/api/session",
      payload: { token: f.revokedToken },
    });
    expect(res.statusCode).toBe(401);
    expect(res.cookies).toEqual([]);
    expect(await queryEvents(f.store.db, { action: "session.started", limit: 1000 })).toHaveLength(
      before.length,
    );
  });

  it("signs out: the session ends (audited once) and its cookie opens nothing any more", async () => {
    const { headers, csrf } = await signIn(f.tokenFor.admin);
    const out = await f.app.inject({
      method: "DELETE",
      url: "/api/session",
      headers: { ...headers, "x-csrf-token": csrf },
    });
    expect(out.statusCode).toBe(204);
    expect((out.cookies as Cookie[]).find((c) => c.name === "tenure_session")?.value).toBe("");
    expect((await f.app.inject({ url: "/api/identities", headers })).statusCode).toBe(401);
    await f.app.inject({
      method: "DELETE",
      url: "/api/session",
      headers: { ...headers, "x-csrf-token": csrf },
    });
    const ended = await queryEvents(f.store.db, { action: "session.ended", limit: 1000 });
    expect(ended.filter((e) => e.actor === "token:t-admin")).toHaveLength(1);
  });

  it("a sign-out from another site (no CSRF token) ends nothing", async () => {
    const { headers } = await signIn(f.tokenFor.admin);
    const res = await f.app.inject({ method: "DELETE", url: "/api/session", headers });
    expect(res.statusCode).toBe(403);
    expect((await f.app.inject({ url: "/api/identities", headers })).statusCode).toBe(200);
  });

  it("a session expires with time", async () => {
    const { headers } = await signIn(f.tokenFor.auditor);
    const start = f.clock.now;
    try {
      f.clock.now = new Date(start.getTime() + 8 * 3_600_000 + 1000);
      expect((await f.app.inject({ url: "/api/identities", headers })).statusCode).toBe(401);
    } finally {
      f.clock.now = start;
    }
  });

  it("a one-time link signs in once, then never again; an unknown code signs in nobody", async () => {
    const { code } = await sessions().createLink({ name: "demo", role: "admin", minutes: 10, actor: "test" });
    const first = await f.app.inject({ url: `/auth/link/${code}` });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe("/");
    const cookie = (first.cookies as Cookie[]).find((c) => c.name === "tenure_session")!;
    const me = await f.app.inject({
      url: "/api/session",
      headers: { cookie: `tenure_session=${cookie.value}` },
    });
    expect(me.json()).toMatchObject({ name: "demo", role: "admin", via: "link" });
    const again = await f.app.inject({ url: `/auth/link/${code}` });
    expect(again.statusCode).toBe(404);
    expect(again.cookies).toEqual([]);
    expect((await f.app.inject({ url: `/auth/link/${"B".repeat(43)}` })).statusCode).toBe(404);
  });

  it("a session bound to an identity ends when that identity is terminated or deleted", async () => {
    const grace = (await identityRepository.resolve(f.store.db, "E2"))!;
    const { secret } = await sessions().start({
      name: "Grace Hopper",
      role: "auditor",
      identityId: grace.id,
      via: "oidc",
      actor: "oidc:grace@example.test",
    });
    const headers = { cookie: `tenure_session=${secret}` };
    const me = await f.app.inject({ url: "/api/session", headers });
    expect(me.json().identity).toEqual({ id: grace.id, sourceKey: "E2", displayName: "Grace Hopper" });
    for (const gone of ["terminated", "deleted"] as const) {
      await whileIn("E2", gone, async () => {
        expect((await f.app.inject({ url: "/api/session", headers })).statusCode, gone).toBe(401);
      });
    }
    expect((await f.app.inject({ url: "/api/session", headers })).statusCode).toBe(200);
  });

  it("a token bound to an identity signs in as that person, and stops working when they leave", async () => {
    await expect(
      f.tokens.create({
        name: "t-nobody",
        role: "auditor",
        expiresAt: null,
        actor: "test",
        identity: "E999",
      }),
    ).rejects.toMatchObject({ code: "invalid_input" });
    const { token, record } = await f.tokens.create({
      name: `t-grace-${Date.now()}`,
      role: "auditor",
      expiresAt: null,
      actor: "test",
      identity: "grace@example.test",
    });
    const grace = (await identityRepository.resolve(f.store.db, "E2"))!;
    expect(record.identityId).toBe(grace.id);
    const { res } = await signIn(token);
    expect(res.json().identity).toEqual({ id: grace.id, sourceKey: "E2", displayName: "Grace Hopper" });
    const created = await queryEvents(f.store.db, { action: "token.created", limit: 1000 });
    expect(created.at(-1)?.details).toMatchObject({ identity: grace.id });
    expect(JSON.stringify(created)).not.toContain(token);
    for (const gone of ["terminated", "deleted"] as const) {
      await whileIn("E2", gone, async () => {
        const refused = await f.app.inject({ url: "/api/identities", headers: bearer(token) });
        expect(refused.statusCode, gone).toBe(401);
        expect(refused.json().error.message).toContain("identity has left");
      });
    }
  });

  it("GET /api/dashboard counts identities by state and names the leavers who still hold an enabled account", async () => {
    const get = async () =>
      (await f.app.inject({ url: "/api/dashboard", headers: bearer(f.tokenFor.auditor) })).json();
    const before = await get();
    expect(before.identities.total).toBe(4);
    expect(before.leavers.withEnabledAccounts).toBe(0);
    expect(before.systems.map((s: { name: string }) => s.name)).toEqual(["app"]);
    await whileIn("E1", "terminated", async () => {
      const after = await get();
      expect(after.leavers.withEnabledAccounts).toBe(1);
      expect(after.leavers.items[0]).toMatchObject({ sourceKey: "E1", accounts: [{ system: "app" }] });
      expect(after.identities.byState.terminated).toBe((before.identities.byState.terminated ?? 0) + 1);
    });
    expect(
      (await f.app.inject({ url: "/api/dashboard", headers: bearer(f.tokenFor.requester) })).statusCode,
    ).toBe(403);
  });

  it("GET /api/dashboard shows a mass-change stop until its plan is confirmed", async () => {
    const get = async () =>
      (await f.app.inject({ url: "/api/dashboard", headers: bearer(f.tokenFor.auditor) })).json();
    const planHash = "ab".repeat(32);
    const exceeded = [{ kind: "system", name: "app", disable: 3, delete: 0, total: 4 }];
    await appendEvent(f.store.db, {
      time: f.clock.now.toISOString(),
      actor: "token:t-hr-source",
      action: "mass-change.stopped",
      subject: `plan:${planHash}`,
      details: { run: "push to source hr", planHash, exceeded },
    });
    expect((await get()).massChangeStops).toEqual([
      expect.objectContaining({ run: "push to source hr", planHash, actor: "token:t-hr-source", exceeded }),
    ]);
    await appendEvent(f.store.db, {
      time: f.clock.now.toISOString(),
      actor: "token:t-admin",
      action: "operation.mass_change_confirmed",
      subject: "system:app",
      details: { system: "app", disable: 3, delete: 0, total: 4, confirmedBy: "token:t-admin", planHash },
    });
    expect((await get()).massChangeStops).toEqual([]);
  });

  it("GET /api/dashboard lets go of an HR push's stop once the push is confirmed (sync.mass_change_confirmed alone)", async () => {
    const get = async () =>
      (await f.app.inject({ url: "/api/dashboard", headers: bearer(f.tokenFor.auditor) })).json();
    const planHash = "cd".repeat(32);
    // Only the source's terminations exceeded the threshold: no system's operations were held.
    const exceeded = [{ kind: "source", name: "hr", disable: 3, delete: 0, total: 4 }];
    await appendEvent(f.store.db, {
      time: f.clock.now.toISOString(),
      actor: "token:t-hr-source",
      action: "mass-change.stopped",
      subject: `plan:${planHash}`,
      details: { run: "push to source hr", planHash, exceeded },
    });
    expect((await get()).massChangeStops).toEqual([expect.objectContaining({ planHash })]);
    await appendEvent(f.store.db, {
      time: f.clock.now.toISOString(),
      actor: "token:t-hr-source",
      action: "sync.mass_change_confirmed",
      subject: "source:hr",
      details: { terminated: 3, confirmedBy: "token:t-hr-source", planHash },
    });
    expect((await get()).massChangeStops).toEqual([]);
  });

  it("POST /api/plan/preview shows a candidate's blast radius and refuses a bad one at its line, changing nothing", async () => {
    const current = await readFile(path.join(f.dir, "tenure.yaml"), "utf8");
    const post = (config: string) =>
      f.app.inject({
        method: "POST",
        url: "/api/plan/preview",
        headers: bearer(f.tokenFor.auditor),
        payload: { config },
      });
    const before = await storeSnapshot(f.store.db);
    // Everyone in Sales becomes a deployer too.
    const candidate = current.replace(
      `when: "department == 'Engineering'"`,
      `when: "department in ['Engineering', 'Sales']"`,
    );
    expect(candidate).not.toBe(current);
    const res = await post(candidate);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().blastRadius.identities).toBeGreaterThanOrEqual(2);
    expect(res.json().blastRadius.bySystem).toEqual([
      { system: "app", byKind: { grant: res.json().blastRadius.operations } },
    ]);
    const same = await post(current);
    expect(same.json().blastRadius).toEqual({ identities: 0, operations: 0, bySystem: [] });
    const broken = await post(current.replace("includes: [staff]", "includes: [staf]"));
    expect(broken.statusCode).toBe(422);
    expect(broken.json().error.details[0].message).toMatch(/^candidate\.yaml:\d+:\d+: roles/);
    const secretive = await post(`${current}\n# \${env:HOME}\n`);
    expect(secretive.statusCode).toBe(422);
    expect(secretive.body).not.toContain(process.env.HOME ?? "/root");
    expect(await storeSnapshot(f.store.db)).toEqual(before);
  });

  it("answers a console path with the console's page, and an unknown API path with a JSON 404", async () => {
    const page = await f.app.inject({ url: "/identities/E1" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    const api = await f.app.inject({ url: "/api/nothing-here" });
    expect(api.statusCode).toBe(404);
    expect(api.json().error.code).toBe("not_found");
    expect((await f.app.inject({ method: "POST", url: "/identities" })).statusCode).toBe(404);
  });
});
