/**
 * Every REST route's happy path against a real store (SQLite and PostgreSQL) and a real `sql`
 * application database: the answers match what the CLI's functions compute, pages link up, and the
 * triggers change what they should (and audit who asked).
 */
import { rename, rm } from "node:fs/promises";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiFixture,
  apiFixture,
  bearer,
  FIXTURE_PEOPLE,
  makeDeadOperation,
} from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { writeHrCsv } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import { explainIdentity } from "../engine/access-queries.js";
import { identityRepository } from "../store/identity-repository.js";

describe.each(await storeFactories())("the REST API on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const get = (url: string, token?: string) =>
    f.app.inject({ url, headers: bearer(token ?? f.tokenFor.auditor) });
  const post = (url: string, payload?: unknown) =>
    f.app.inject({
      method: "POST",
      url,
      headers: bearer(f.tokenFor.admin),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  beforeAll(async () => {
    f = await apiFixture(makeStore);
  });
  afterAll(() => f.dispose());

  it("GET /api/health and /api/ready answer without a token", async () => {
    expect((await f.app.inject({ url: "/api/health" })).json()).toEqual({ status: "ok" });
    const ready = await f.app.inject({ url: "/api/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: "ready" });
    expect(ready.json().database).not.toMatch(/:[^:@/]+@/);
  });

  it("GET /api/identities lists with filters and cursor pagination", async () => {
    const all = (await get("/api/identities")).json();
    expect(all.items.map((i: { sourceKey: string }) => i.sourceKey).sort()).toEqual(["E1", "E2", "E3", "E4"]);
    expect(all.nextCursor).toBeNull();
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = (
        await get(`/api/identities?limit=3${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      expect(page.items.length).toBeLessThanOrEqual(3);
      pages.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(pages).toEqual(all.items.map((i: { id: string }) => i.id));
    const prehire = (await get("/api/identities?state=prehire")).json();
    expect(prehire.items.map((i: { sourceKey: string }) => i.sourceKey)).toEqual(["E3"]);
    const sales = (await get("/api/identities?department=Sales&q=hopper")).json();
    expect(sales.items.map((i: { sourceKey: string }) => i.sourceKey)).toEqual(["E2"]);
  });

  it("GET /api/identities/:ref finds by id, key or email, and 404s otherwise", async () => {
    const byKey = (await get("/api/identities/E1")).json();
    expect(byKey.attributes.displayName).toBe("Ada Lovelace");
    expect((await get(`/api/identities/${byKey.id}`)).json().sourceKey).toBe("E1");
    expect((await get("/api/identities/ada@example.test")).json().id).toBe(byKey.id);
    const missing = await get("/api/identities/E999");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: "not_found", details: [] });
  });

  it("GET /api/identities/:ref/access is what tenure explain computes, with lineage", async () => {
    const res = await get("/api/identities/E1/access");
    expect(res.statusCode).toBe(200);
    const identity = (await identityRepository.resolve(f.store.db, "E1"))!;
    const expected = await explainIdentity(f.store, f.config, identity, f.clock.now);
    expect(res.json().lines).toEqual(expected.lines);
    const deployers = res
      .json()
      .entries.find(
        (e: { kind: string; entitlement?: string }) =>
          e.kind === "entitlement" && e.entitlement === "deployers",
      );
    expect(deployers.status).toBe("desired");
    expect(deployers.lineage[0]).toMatchObject({ kind: "role", role: "engineer" });
    const filtered = (await get("/api/identities/E1/access?system=app&entitlement=deployers")).json();
    expect(filtered.entries.length).toBeLessThan(res.json().entries.length);
    const unknown = await get("/api/identities/E1/access?system=nope");
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details).toEqual([{ path: "query.system", message: expect.any(String) }]);
  });

  it("GET /api/identities/:ref/timeline pages through the identity's audit events", async () => {
    const identity = (await identityRepository.resolve(f.store.db, "E1"))!;
    const expected = await queryEvents(f.store.db, { subject: identity.id });
    expect(expected.length).toBeGreaterThan(2);
    const first = (await get("/api/identities/E1/timeline?limit=2")).json();
    expect(first.items.map((e: { seq: number }) => e.seq)).toEqual(expected.slice(0, 2).map((e) => e.seq));
    const second = (await get(`/api/identities/E1/timeline?limit=100&cursor=${first.nextCursor}`)).json();
    expect(second.items.map((e: { seq: number }) => e.seq)).toEqual(expected.slice(2).map((e) => e.seq));
    expect(second.nextCursor).toBeNull();
    expect(first.items[0]).toMatchObject({ action: "identity.created", subject: identity.id });
  });

  it("GET /api/systems and /api/systems/:name give health, last reconcile, drift and orphan counts", async () => {
    // Something out of band: an account nobody owns, and a group nobody granted.
    const appDb = new BetterSqlite3(f.appDb.url.slice("sqlite:".length));
    appDb.exec("insert into app_users (login, mail, active) values ('intruder', 'x@example.test', 1)");
    appDb.exec(
      "insert into app_user_groups (user_id, group_name) select id, 'deployers' from app_users where login = 'grace.hopper'",
    );
    appDb.close();
    f.clock.now = new Date(f.clock.now.getTime() + 60_000);
    expect((await post("/api/reconcile", {})).statusCode).toBe(200);
    const list = (await get("/api/systems")).json();
    expect(list.items).toHaveLength(1);
    const app = (await get("/api/systems/app")).json();
    expect(app).toMatchObject({
      name: "app",
      connector: "sql",
      policy: { drift: "enforce", orphans: "report" },
      health: { status: "ok", message: null },
      counts: { orphans: 1, drift: 1 },
    });
    expect(app.counts.accounts).toBe(app.lastReconcile.accounts);
    expect(app.lastReconcile).toMatchObject({ orphans: 1, unmanagedEntitlements: 1 });
    const nope = await get("/api/systems/nope");
    expect(nope.statusCode).toBe(404);
    expect(nope.json().error.code).toBe("unknown_system");
    const reconcileNope = await post("/api/reconcile", { system: "ap" });
    expect(reconcileNope.statusCode).toBe(404);
    expect(reconcileNope.json().error).toMatchObject({
      code: "unknown_system",
      message: 'no system named "ap" — did you mean "app"?',
    });
    expect((await get("/api/systems/__proto__")).statusCode).toBe(404);
  });

  it("reports a system whose connector cannot be reached as unreachable, within the timeout", async () => {
    // The application's database is moved away: the connector finds no tables to read.
    const file = f.appDb.url.slice("sqlite:".length);
    await rename(file, `${file}.away`);
    try {
      const app = (await get("/api/systems/app")).json();
      expect(app.health.status).toBe("unreachable");
      expect(app.health.message).toMatch(/^app: /);
    } finally {
      await rm(file, { force: true });
      await rename(`${file}.away`, file);
    }
    expect((await get("/api/systems/app")).json().health.status).toBe("ok");
  });

  it("GET /api/operations lists by state with cursor pagination", async () => {
    const all = (await get("/api/operations?limit=500")).json();
    expect(all.items.length).toBeGreaterThan(3);
    expect(all.items.every((o: { state: string }) => o.state === "succeeded")).toBe(true);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = (
        await get(`/api/operations?limit=2${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      seen.push(...page.items.map((o: { id: string }) => o.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(all.items.map((o: { id: string }) => o.id));
    const dead = await makeDeadOperation(f);
    const deadList = (await get("/api/operations?state=dead")).json();
    expect(deadList.items.map((o: { id: string }) => o.id)).toContain(dead.id);
    expect(deadList.items[0].lastError).toBe("app: refused (test)");
  });

  it("POST /api/operations/:id/retry puts a dead operation back, audited under the token's name", async () => {
    const dead = await makeDeadOperation(f);
    const res = await post(`/api/operations/${dead.id}/retry`);
    expect(res.statusCode).toBe(200);
    expect(res.json().operation).toMatchObject({ id: dead.id, state: "pending", attempts: 0 });
    const events = await queryEvents(f.store.db, { action: "operation.retried" });
    expect(events.at(-1)).toMatchObject({ actor: "token:t-admin" });
    expect(events.at(-1)?.details).toMatchObject({ operationId: dead.id });
    const again = await post(`/api/operations/${dead.id}/retry`);
    expect(again.statusCode).toBe(404);
    expect(again.json().error.message).toContain("not dead");
  });

  it("GET /api/plan previews the plan like tenure plan, changing nothing", async () => {
    const before = await queryEvents(f.store.db, { limit: 100_000 });
    const now = (await get("/api/plan")).json();
    expect(now.queue).toMatchObject({ succeeded: expect.any(Number) });
    // Half a year on, the contractor's end date has passed: their account is disabled.
    const later = (await get("/api/plan?at=2026-09-01")).json();
    expect(later.at).toBe("2026-09-01T00:00:00.000Z");
    expect(
      later.operations.some(
        (o: { kind: string; username: string }) => o.kind === "disable" && o.username === "cy.contract",
      ),
    ).toBe(true);
    expect(later.totals.operations).toBe(later.operations.length);
    expect((await queryEvents(f.store.db, { limit: 100_000 })).length).toBe(before.length);
  });

  it("POST /api/sync runs a sync; mass-change protection answers 409 with counts and plan hash; confirmation by hash is audited", async () => {
    const dry = (await post("/api/sync", { dryRun: true })).json();
    expect(dry.sources[0]).toMatchObject({ source: "hr", dryRun: true, unchanged: 4 });
    expect(dry.sources[0].identities).toBeUndefined();
    // Only Ada is left in the export: three of four would be terminated, over the 25 % threshold.
    await writeHrCsv(f.dir, [FIXTURE_PEOPLE[0]!]);
    const before = await queryEvents(f.store.db, { limit: 100_000 });
    const stopped = await post("/api/sync", {});
    expect(stopped.statusCode).toBe(409);
    expect(stopped.json().error.code).toBe("mass_change");
    expect(stopped.json().error.counts["source:hr"]).toMatchObject({ total: 4 });
    expect(stopped.json().error.details[0]).toMatchObject({ path: "source:hr" });
    const { planHash } = stopped.json().error;
    expect(planHash).toMatch(/^[0-9a-f]{64}$/);
    // Nothing changed: the one new event records that the run was stopped.
    const added = (await queryEvents(f.store.db, { limit: 100_000 })).slice(before.length);
    expect(added.map((e) => [e.action, e.subject])).toEqual([["mass-change.stopped", `plan:${planHash}`]]);
    expect((await get("/api/identities?state=terminated")).json().items).toEqual([]);
    // The old boolean is not a confirmation; nor is another plan's hash.
    expect((await post("/api/sync", { confirmMassChange: true })).statusCode).toBe(400);
    const stale = await post("/api/sync", { confirmMassChange: "a".repeat(64) });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatchObject({ code: "plan_changed", planHash });
    expect(await queryEvents(f.store.db, { limit: 100_000 })).toHaveLength(before.length + 1);
    const confirmed = await post("/api/sync", { confirmMassChange: planHash });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json().sources[0].terminated).toBe(3);
    expect(confirmed.json().provisioning.applied.succeeded).toBeGreaterThan(0);
    // Only the test's own unfulfillable operations (retried earlier) die.
    for (const d of confirmed.json().provisioning.dead) expect(d.username).toMatch(/^nobody-/);
    const terminated = (await get("/api/identities?state=terminated")).json();
    expect(terminated.items).toHaveLength(3);
    const events = await queryEvents(f.store.db, { action: "identity.state_changed" });
    expect(events.at(-1)?.actor).toBe("token:t-admin");
    await writeHrCsv(f.dir, FIXTURE_PEOPLE);
  });

  it("GET /api/audit/events pages the ledger, filtered by identity, action and time", async () => {
    const all = await queryEvents(f.store.db, { limit: 100_000 });
    const first = (await get("/api/audit/events?limit=5")).json();
    expect(first.items.map((e: { seq: number }) => e.seq)).toEqual(all.slice(0, 5).map((e) => e.seq));
    const next = (await get(`/api/audit/events?limit=5&cursor=${first.nextCursor}`)).json();
    expect(next.items[0].seq).toBe(all[5]?.seq);
    const created = (await get("/api/audit/events?action=identity.created&limit=500")).json();
    expect(created.items).toHaveLength(4);
    const ada = (await get("/api/audit/events?identity=E1&action=identity.created")).json();
    expect(ada.items).toHaveLength(1);
    const future = (await get("/api/audit/events?since=2099-01-01")).json();
    expect(future.items).toEqual([]);
    expect((await get("/api/audit/events?identity=nobody")).statusCode).toBe(404);
    expect((await get("/api/audit/events?cursor=garbage")).json().error.details).toEqual([
      { path: "query.cursor", message: "is not a cursor this list handed out" },
    ]);
  });
});
