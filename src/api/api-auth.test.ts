/**
 * Authentication and authorisation of the HTTP API: every registered route (discovered from the
 * server, so routes added later are covered without editing this file) called with no token, a bad,
 * an expired and a revoked token, and a token of every platform role — each answer checked against
 * the permission table. Plus the failed-authentication rate limit, the start-up check that every
 * route declares who may call it, and the token service (hashing, expiry, revocation, last use).
 */
import { createHash } from "node:crypto";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ApiFixture,
  apiFixture,
  bearer,
  FIXTURE_NOW,
  makeDeadOperation,
} from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { reviewCampaignRepository } from "../store/review-repository.js";
import { moverDefinition } from "../workflows/mover-review.js";
import { type Permission, PLATFORM_ROLES, roleAllows } from "./auth/platform-roles.js";
import { parseExpiry } from "./auth/token-service.js";
import type { RouteModule } from "./route-types.js";
import type { RouteEntry } from "./server.js";
import { buildServer } from "./server.js";

type Request = Omit<InjectOptions, "headers">;

/**
 * A request that succeeds for a caller allowed to make it, for the routes this file knows. Routes it
 * does not know (added later) get their path parameters filled with a placeholder: their answer is
 * then only checked not to be an authentication or authorisation refusal.
 */
/** An open review campaign (with no items), made once per fixture: for the campaign routes. */
async function reviewCampaign(f: ApiFixture): Promise<string> {
  const id = "matrix-campaign";
  if ((await reviewCampaignRepository.find(f.store.db, id)) === undefined) {
    await reviewCampaignRepository.insert(f.store.db, {
      id,
      definition: "mover",
      kind: "ad-hoc",
      status: "open",
      settings: moverDefinition(f.config),
      subjectIdentityId: null,
      startedAt: FIXTURE_NOW.toISOString(),
      startedBy: "test",
      deadline: new Date(FIXTURE_NOW.getTime() + 86_400_000).toISOString(),
      closedAt: null,
      closedBy: null,
      items: 0,
    });
  }
  return id;
}

async function requestFor(f: ApiFixture, route: RouteEntry): Promise<{ request: Request; known: boolean }> {
  const key = `${route.method} ${route.url}`;
  switch (key) {
    case "POST /api/operations/:id/retry": {
      const dead = await makeDeadOperation(f);
      return { request: { method: "POST", url: `/api/operations/${dead.id}/retry` }, known: true };
    }
    case "POST /api/sync":
      return { request: { method: "POST", url: "/api/sync", payload: { dryRun: true } }, known: true };
    case "POST /api/reconcile":
      return { request: { method: "POST", url: "/api/reconcile", payload: {} }, known: true };
    case "GET /api/audit/who-had":
      return { request: { method: "GET", url: "/api/audit/who-had?system=app" }, known: true };
    case "GET /api/audit/access":
      return { request: { method: "GET", url: "/api/audit/access?identity=E1" }, known: true };
    case "GET /api/nhi/:name":
      // No NHI in the fixture: a 404 for every role allowed to ask.
      return { request: { method: "GET", url: "/api/nhi/nobody" }, known: false };
    case "POST /api/nhi/:name/owner":
      // No NHI in the fixture: a 404 for admin (nhi:manage), a 403 for every other role.
      return {
        request: { method: "POST", url: "/api/nhi/nobody/owner", payload: { owner: "E1" } },
        known: false,
      };
    case "POST /api/nhi-mass-change/confirm":
      // No nhi.policy in the fixture: a 409 for admin (nothing is held), a 403 for every other role.
      return {
        request: { method: "POST", url: route.url, payload: { planHash: "0".repeat(64) } },
        known: false,
      };
    case "GET /api/audit/why":
      return {
        request: { method: "GET", url: "/api/audit/why?identity=E1&access=app:deployers" },
        known: true,
      };
    case "GET /api/reports/:name":
      return { request: { method: "GET", url: "/api/reports/leavers?format=html" }, known: true };
    case "GET /api/reviews/campaigns/:id":
    case "GET /api/reviews/campaigns/:id/report": {
      const id = await reviewCampaign(f);
      return { request: { method: "GET", url: route.url.replace(":id", id) }, known: true };
    }
  }
  const url = route.url
    .replace(":ref", "E1")
    .replace(":name", "app")
    .replace("/static/*", "/static/swagger-ui.css")
    .replace(/:[A-Za-z]+/g, "placeholder")
    .replace("*", "placeholder");
  const known = !/placeholder/.test(url) && route.method === "GET";
  return {
    request: { method: route.method as "GET", url, ...(route.method === "GET" ? {} : { payload: {} }) },
    known,
  };
}

describe.each(await storeFactories())("the API's authentication on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture(makeStore);
  });
  afterAll(() => f.dispose());

  it("answers every route × every role, no token, bad, expired and revoked tokens per the permission table", async () => {
    const routes = f.app.routeCatalogue();
    // The routes of this issue are all there (later modules add more).
    for (const must of ["GET /api/health", "GET /api/ready", "GET /api/identities", "POST /api/sync"]) {
      expect(routes.map((r) => `${r.method} ${r.url}`)).toContain(must);
    }
    let checked = 0;
    for (const route of routes) {
      const where = `${route.method} ${route.url}`;
      if (route.public) {
        const { request } = await requestFor(f, route);
        const res = await f.app.inject(request);
        expect([401, 403, 429], where).not.toContain(res.statusCode);
        expect(res.statusCode, where).toBeLessThan(500);
        checked++;
        continue;
      }
      const permission = route.permission as Permission;
      expect(permission, `${where} declares a permission`).toBeTruthy();
      for (const [label, headers] of [
        ["no token", {}],
        ["malformed header", { authorization: "Basic dXNlcjpwYXNz" }],
        ["bad token", bearer(`tnr_${"A".repeat(43)}`)],
        ["expired token", bearer(f.expiredToken)],
        ["revoked token", bearer(f.revokedToken)],
      ] as const) {
        const { request } = await requestFor(f, route);
        const res = await f.app.inject({ ...request, headers });
        expect(res.statusCode, `${where} with ${label}`).toBe(401);
        // Routes outside /api/ (SCIM) answer in their own protocol's error format.
        if (route.url.startsWith("/api/")) {
          expect(res.json().error.code, `${where} with ${label}`).toBe("unauthenticated");
        }
        checked++;
      }
      for (const role of PLATFORM_ROLES) {
        const { request, known } = await requestFor(f, route);
        const res = await f.app.inject({ ...request, headers: bearer(f.tokenFor[role]) });
        const what = `${where} as ${role}: ${res.body.slice(0, 300)}`;
        if (!roleAllows(role, permission)) {
          expect(res.statusCode, what).toBe(403);
          if (route.url.startsWith("/api/")) expect(res.json().error.code).toBe("forbidden");
        } else if (known) {
          expect(res.statusCode, what).toBeGreaterThanOrEqual(200);
          expect(res.statusCode, what).toBeLessThan(300);
        } else {
          expect([401, 403, 429], what).not.toContain(res.statusCode);
          expect(res.statusCode, what).toBeLessThan(500);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("gives the auditor every read and no change, and hr-source none of this issue's routes", async () => {
    const routes = f.app.routeCatalogue().filter((r) => !r.public);
    for (const r of routes) {
      const permission = r.permission as Permission;
      // Reading is what auditors do; nothing that changes anything is theirs. A POST that only reads
      // (a plan preview of a candidate configuration) says so by its permission.
      if (r.method !== "GET" && !permission.endsWith(":read"))
        expect(roleAllows("auditor", permission), `${r.method} ${r.url}`).toBe(false);
      if (permission.endsWith(":read"))
        expect(roleAllows("auditor", permission), `${r.method} ${r.url}`).toBe(true);
      expect(roleAllows("admin", permission)).toBe(true);
    }
    const res = await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor["hr-source"]) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain("identities:read");
  });

  it("records when a token was last used, at most once a minute", async () => {
    const last = async () => (await f.tokens.list()).find((t) => t.name === "t-auditor")?.lastUsedAt ?? null;
    f.clock.now = new Date(FIXTURE_NOW.getTime() + 3_600_000);
    await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor.auditor) });
    const first = await last();
    expect(first).toBe(f.clock.now.toISOString());
    f.clock.now = new Date(f.clock.now.getTime() + 30_000);
    await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor.auditor) });
    expect(await last()).toBe(first);
    f.clock.now = new Date(f.clock.now.getTime() + 31_000);
    await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor.auditor) });
    expect(await last()).toBe(f.clock.now.toISOString());
    f.clock.now = FIXTURE_NOW;
  });

  it("stores only the token's SHA-256 hash, and audits creation and revocation without the token", async () => {
    const created = await f.tokens.create({
      name: "hash-check",
      role: "auditor",
      expiresAt: null,
      actor: "tester",
    });
    expect(created.token).toMatch(/^tnr_[A-Za-z0-9_-]{43}$/);
    const row = await f.store.db
      .selectFrom("api_tokens")
      .selectAll()
      .where("id", "=", created.record.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(createHash("sha256").update(created.token).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(created.token.slice(10));
    expect(created.token.startsWith(row.prefix)).toBe(true);
    await f.tokens.revoke("hash-check", "tester");
    const events = await f.store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("subject", "=", `token:${created.record.id}`)
      .orderBy("seq")
      .execute();
    expect(events.map((e) => e.action)).toEqual(["token.created", "token.revoked"]);
    expect(events.every((e) => e.actor === "tester")).toBe(true);
    expect(JSON.stringify(events)).not.toContain(created.token.slice(10));
    // The name is free again once its token is revoked; a live name is not.
    await f.tokens.create({ name: "hash-check", role: "auditor", expiresAt: null, actor: "tester" });
    await expect(
      f.tokens.create({ name: "hash-check", role: "admin", expiresAt: null, actor: "tester" }),
    ).rejects.toMatchObject({ code: "token_name_taken", httpStatus: 409 });
    await expect(f.tokens.create({ name: "x", role: "root", expiresAt: null, actor: "t" })).rejects.toThrow(
      /role "root" is not one of admin, auditor/,
    );
    await expect(f.tokens.revoke("no-such-token", "t")).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("the failed-authentication rate limit", async () => {
  const [[, makeStore]] = (await storeFactories()) as [[string, Parameters<typeof apiFixture>[0]]];
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture(makeStore, { authFailuresPerMinute: 3 });
  });
  afterAll(() => f.dispose());

  it("answers 429 after the allowed failures from one address, for a while, and not to other addresses", async () => {
    const bad = bearer(`tnr_${"B".repeat(43)}`);
    // Asking without a token is not a failed attempt at guessing one.
    for (let i = 0; i < 5; i++) expect((await f.app.inject({ url: "/api/identities" })).statusCode).toBe(401);
    for (let i = 0; i < 3; i++) {
      expect((await f.app.inject({ url: "/api/identities", headers: bad })).statusCode).toBe(401);
    }
    const limited = await f.app.inject({ url: "/api/identities", headers: bad });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe("too_many_failures");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // Even a good token from that address waits: the address is what is limited.
    const good = await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor.admin) });
    expect(good.statusCode).toBe(429);
    // Probes stay open, and another address is unaffected.
    expect((await f.app.inject({ url: "/api/health" })).statusCode).toBe(200);
    const elsewhere = await f.app.inject({
      url: "/api/identities",
      headers: bearer(f.tokenFor.admin),
      remoteAddress: "127.0.0.2",
    });
    expect(elsewhere.statusCode).toBe(200);
  });
});

describe("the failed-authentication rate limit on the console's sign-in", async () => {
  const [[, makeStore]] = (await storeFactories()) as [[string, Parameters<typeof apiFixture>[0]]];
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture(makeStore, { authFailuresPerMinute: 3 });
  });
  afterAll(() => f.dispose());

  it("counts a bad token given to POST /api/session like any other, and then refuses even a good one", async () => {
    const signIn = (token: string, remoteAddress = "127.0.0.1") =>
      f.app.inject({ method: "POST", url: "/api/session", payload: { token }, remoteAddress });
    for (let i = 0; i < 3; i++) expect((await signIn(`tnr_${"C".repeat(43)}`)).statusCode).toBe(401);
    const limited = await signIn(f.tokenFor.admin);
    expect(limited.statusCode).toBe(429);
    expect(limited.cookies).toEqual([]);
    // Guessing through the sign-in also closes the API to that address, and not to others.
    expect(
      (await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor.admin) })).statusCode,
    ).toBe(429);
    expect((await signIn(f.tokenFor.admin, "127.0.0.3")).statusCode).toBe(200);
  });
});

describe("route declarations", async () => {
  const [[, makeStore]] = (await storeFactories()) as [[string, Parameters<typeof apiFixture>[0]]];
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture(makeStore);
  });
  afterAll(() => f.dispose());

  const build = (routes: RouteModule[]) =>
    buildServer({
      store: f.store,
      config: f.config,
      tokens: f.tokens,
      now: () => FIXTURE_NOW,
      logLevel: "silent",
      routes,
    }).then((app) => app.ready());

  it("refuses to start with a route that declares neither a permission nor public", async () => {
    const undeclared: RouteModule = async (app) => {
      app.get(
        "/api/forgotten",
        { schema: { response: { 200: z.object({ ok: z.boolean() }) } } },
        async () => ({
          ok: true,
        }),
      );
    };
    await expect(build([undeclared])).rejects.toThrow(
      /GET \/api\/forgotten declares neither config.permission nor config.public/,
    );
  });

  it("refuses an unknown permission and a route that is both public and guarded", async () => {
    const unknown: RouteModule = async (app) => {
      app.get("/api/x", { config: { permission: "everything" as Permission } }, async () => ({}));
    };
    await expect(build([unknown])).rejects.toThrow(/unknown permission "everything"/);
    const both: RouteModule = async (app) => {
      app.get("/api/y", { config: { permission: "audit:read", public: true } }, async () => ({}));
    };
    await expect(build([both])).rejects.toThrow(/both config.public and config.permission/);
  });

  it("serves a declared route added as a module, guarded by the table", async () => {
    const extra: RouteModule = async (app) => {
      app.get("/api/extra", { config: { permission: "sources:push" } }, async () => ({ ok: true }));
    };
    const app = await buildServer({
      store: f.store,
      config: f.config,
      tokens: f.tokens,
      now: () => FIXTURE_NOW,
      logLevel: "silent",
      routes: [extra],
    });
    expect(
      (await app.inject({ url: "/api/extra", headers: bearer(f.tokenFor["hr-source"]) })).statusCode,
    ).toBe(200);
    expect((await app.inject({ url: "/api/extra", headers: bearer(f.tokenFor.auditor) })).statusCode).toBe(
      403,
    );
    await app.close();
  });
});

describe("token expiry values", () => {
  const now = new Date("2026-03-02T10:00:00Z");
  it("reads durations, dates and never", () => {
    expect(parseExpiry("90d", now)?.toISOString()).toBe("2026-05-31T10:00:00.000Z");
    expect(parseExpiry("12h", now)?.toISOString()).toBe("2026-03-02T22:00:00.000Z");
    expect(parseExpiry("2w", now)?.toISOString()).toBe("2026-03-16T10:00:00.000Z");
    expect(parseExpiry("2027-01-01", now)?.toISOString()).toBe("2027-01-01T00:00:00.000Z");
    expect(parseExpiry("never", now)).toBeNull();
    expect(parseExpiry(undefined, now)).toBeNull();
  });
  it("refuses anything else, saying what it accepts", () => {
    expect(() => parseExpiry("soon", now)).toThrow(/not a duration \(e.g. 90d, 12h, 4w\)/);
    expect(() => parseExpiry("0d", now)).toThrow(/not a duration/);
    expect(() => parseExpiry("2020-01-01", now)).toThrow(/in the past/);
  });
});
