/**
 * Tenure's SCIM server over HTTP (fastify inject) on SQLite and PostgreSQL: authentication in the SCIM
 * error shape on every SCIM route, filters, paging, ETags, uniqueness, bad input changing nothing, the
 * PATCH forms Entra ID and Okta send, Groups, and the lifecycle behind it — a SCIM deactivation makes a
 * leaver whose accounts are disabled (a `sql` system on an SQLite table) before the answer comes back.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenService } from "../../src/api/auth/token-service.js";
import { buildServer } from "../../src/api/server.js";
import { queryEvents } from "../../src/audit/ledger.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { accountRepository } from "../../src/store/account-repository.js";
import { apiTokenRepository } from "../../src/store/api-token-repository.js";
import { openStore } from "../../src/store/database.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { scimResourceRepository } from "../../src/store/scim-resource-repository.js";
import { storeFactories } from "../helpers/databases.js";
import { SCIM_NOW, type ScimFixture, scimCall, scimFixture } from "../helpers/scim-fixture.js";
import { expectOnlyTheStop, storeSnapshot } from "../helpers/store-snapshot.js";
import { tempDir } from "../helpers/workspace.js";

const ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
// biome-ignore lint/suspicious/noExplicitAny: assertions read SCIM answers freely; expect() checks the shapes
type Json = Record<string, any>;

function person(userName: string, extra: Json = {}): Json {
  const [given = "X", family = "Person"] = userName.split(".");
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
    userName,
    externalId: `ext-${userName}`,
    active: true,
    name: { givenName: given, familyName: family },
    emails: [{ value: `${userName}@example.test`, type: "work", primary: true }],
    ...extra,
  };
}

const patch = (...Operations: Json[]) => ({ schemas: [PATCH_OP], Operations });

function client(f: ScimFixture) {
  const call = (
    method: InjectOptions["method"],
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> => scimCall(f, method, url, body, headers);
  return {
    call,
    async create(type: "Users" | "Groups", body: Json): Promise<Json> {
      const res = await call("POST", `/${type}`, body);
      expect(res.statusCode, res.body).toBe(201);
      return res.json();
    },
    async list(query: string): Promise<Json> {
      const res = await call("GET", `/Users?${query}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    },
  };
}

/** What a refused request must leave as it was: SCIM resources, identities, audit events. */
async function footprint(f: ScimFixture) {
  const db = f.store.db;
  const count = async (table: "scim_resources" | "identities" | "audit_events") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    scim: await count("scim_resources"),
    identities: await count("identities"),
    audit: await count("audit_events"),
  };
}

function expectScimError(res: LightMyRequestResponse, status: number, scimType?: string): Json {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers["content-type"]).toContain("application/scim+json");
  const body = res.json();
  expect(body).toMatchObject({ schemas: [ERROR], status: String(status) });
  expect(typeof body.detail).toBe("string");
  if (scimType !== undefined) expect(body.scimType).toBe(scimType);
  return body;
}

describe.each(await storeFactories())("Tenure's SCIM server on %s", (_kind, makeStore) => {
  let f: ScimFixture;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    f = await scimFixture(makeStore, { bodyLimit: 65_536 });
    api = client(f);
  });
  afterAll(() => f.dispose());

  it("answers every SCIM route without a good token 401, and roles without sources:push 403, in the SCIM shape", async () => {
    const routes = f.app.routeCatalogue().filter((r) => r.url.startsWith("/scim/v2"));
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes) {
      expect(route.permission, `${route.method} ${route.url}`).toBe("sources:push");
      const request = {
        method: route.method as InjectOptions["method"],
        url: route.url.replace(/:[A-Za-z]+/g, "nobody"),
        ...(["POST", "PUT", "PATCH"].includes(route.method) ? { payload: {} } : {}),
      };
      for (const headers of [
        {},
        { authorization: "Basic dXNlcjpwYXNz" },
        { authorization: `Bearer tnr_${"A".repeat(43)}` },
        { authorization: `Bearer ${f.expiredToken}` },
        { authorization: `Bearer ${f.revokedToken}` },
      ]) {
        expectScimError(await f.app.inject({ ...request, headers }), 401);
      }
      for (const role of ["auditor", "reviewer", "requester"] as const) {
        const res = await f.app.inject({
          ...request,
          headers: { authorization: `Bearer ${f.tokenFor[role]}` },
        });
        expect(expectScimError(res, 403).detail).toContain("sources:push");
      }
      for (const role of ["hr-source", "admin"] as const) {
        const res = await f.app.inject({
          ...request,
          headers: { authorization: `Bearer ${f.tokenFor[role]}` },
        });
        expect([401, 403, 429], `${route.method} ${route.url} as ${role}`).not.toContain(res.statusCode);
        expect(res.statusCode).toBeLessThan(500);
      }
    }
  });

  it("describes itself: ServiceProviderConfig, ResourceTypes, Schemas, and 404 elsewhere", async () => {
    const config = (await api.call("GET", "/ServiceProviderConfig")).json();
    expect(config).toMatchObject({
      patch: { supported: true },
      filter: { supported: true, maxResults: 1000 },
      etag: { supported: true },
      sort: { supported: true },
      bulk: { supported: false },
    });
    const types = await api.call("GET", "/ResourceTypes");
    expect(types.headers["content-type"]).toBe("application/scim+json; charset=utf-8");
    expect(types.json().Resources.map((r: Json) => [r.endpoint, r.schemaExtensions.length])).toEqual([
      ["/Users", 2],
      ["/Groups", 0],
    ]);
    const schemas = (await api.call("GET", "/Schemas")).json();
    expect(schemas.Resources.map((s: Json) => s.name)).toEqual([
      "User",
      "EnterpriseUser",
      "TenureUser",
      "Group",
    ]);
    const enterprise = (await api.call("GET", `/Schemas/${ENT}`)).json();
    expect(enterprise.attributes.map((a: Json) => a.name)).toContain("manager");
    expectScimError(await api.call("GET", "/Bulk"), 404);
    expectScimError(await api.call("GET", "/Schemas/urn:nothing"), 404);
  });

  it("filters Users with every operator, and/or/not, and refuses a filter that does not parse", async () => {
    await api.create(
      "Users",
      person("ana.alpha", { title: "Engineer", [ENT]: { department: "Eng", costCenter: "10" } }),
    );
    await api.create("Users", person("bo.beta", { [ENT]: { department: "Sales", costCenter: "20" } }));
    await api.create(
      "Users",
      person("cy.gamma", { title: "Manager", [ENT]: { department: "Sales", costCenter: "30" } }),
    );
    const cases: [string, string[]][] = [
      ['userName eq "BO.BETA"', ["bo.beta"]],
      ['userName ne "bo.beta"', ["ana.alpha", "cy.gamma"]],
      ['name.familyName co "amm"', ["cy.gamma"]],
      ['userName sw "an"', ["ana.alpha"]],
      ['emails.value ew "beta@example.test"', ["bo.beta"]],
      ["title pr", ["ana.alpha", "cy.gamma"]],
      [`${ENT}:costCenter gt "10"`, ["bo.beta", "cy.gamma"]],
      [`${ENT}:costCenter ge "20"`, ["bo.beta", "cy.gamma"]],
      [`${ENT}:costCenter lt "20"`, ["ana.alpha"]],
      [`${ENT}:costCenter le "20"`, ["ana.alpha", "bo.beta"]],
      [`${ENT}:department eq "sales" and title pr`, ["cy.gamma"]],
      ['userName eq "ana.alpha" or title eq "manager"', ["ana.alpha", "cy.gamma"]],
      [`not (${ENT}:department eq "Sales")`, ["ana.alpha"]],
      ['emails[type eq "work" and value sw "cy"]', ["cy.gamma"]],
      ['externalId eq "ext-bo.beta"', ["bo.beta"]],
      [`meta.created ge "${SCIM_NOW.toISOString()}"`, ["ana.alpha", "bo.beta", "cy.gamma"]],
    ];
    for (const [filter, expected] of cases) {
      const page = await api.list(`filter=${encodeURIComponent(filter)}&count=10`);
      expect(page.Resources.map((r: Json) => r.userName).sort(), filter).toEqual(expected);
      expect(page.totalResults, filter).toBe(expected.length);
    }
    for (const bad of ["userName eq", 'userName xx "a"', '(userName eq "a"', "active gt true"]) {
      const body = expectScimError(
        await api.call("GET", `/Users?filter=${encodeURIComponent(bad)}`),
        400,
        "invalidFilter",
      );
      expect(body.detail.length).toBeGreaterThan(10);
    }
  });

  it("pages with startIndex and count, sorts, and selects attributes", async () => {
    const first = await api.list("startIndex=1&count=2&sortBy=userName&sortOrder=descending");
    expect(first).toMatchObject({ totalResults: 3, startIndex: 1, itemsPerPage: 2 });
    expect(first.Resources.map((r: Json) => r.userName)).toEqual(["cy.gamma", "bo.beta"]);
    const last = await api.list("startIndex=3&count=2&sortBy=userName");
    expect(last.Resources.map((r: Json) => r.userName)).toEqual(["cy.gamma"]);
    expect(await api.list("count=0")).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] });
    const sorted = await api.list(`sortBy=${ENT}:costCenter&sortOrder=descending&attributes=userName`);
    expect(sorted.Resources).toEqual([
      { schemas: expect.any(Array), id: expect.any(String), userName: "cy.gamma" },
      { schemas: expect.any(Array), id: expect.any(String), userName: "bo.beta" },
      { schemas: expect.any(Array), id: expect.any(String), userName: "ana.alpha" },
    ]);
    const without = await api.list('filter=userName eq "ana.alpha"&excludedAttributes=emails,meta');
    expect(without.Resources[0]).not.toHaveProperty("emails");
    expect(without.Resources[0]).not.toHaveProperty("meta");
    expect(without.Resources[0].name).toEqual({ givenName: "ana", familyName: "alpha" });
    expectScimError(await api.call("GET", "/Users?count=many"), 400, "invalidValue");
  });

  it("versions resources: ETag, If-None-Match 304, and If-Match 412 that changes nothing", async () => {
    const created = await api.create("Users", person("di.delta"));
    const url = `/Users/${created.id}`;
    expect(created.meta).toMatchObject({ resourceType: "User", version: 'W/"1"' });
    expect(created.meta.location).toMatch(new RegExp(`/scim/v2/Users/${created.id}$`));
    const read = await api.call("GET", url);
    expect(read.headers.etag).toBe('W/"1"');
    expect((await api.call("GET", url, undefined, { "if-none-match": 'W/"1"' })).statusCode).toBe(304);
    expect((await api.call("GET", url, undefined, { "if-none-match": 'W/"0"' })).statusCode).toBe(200);

    const before = await footprint(f);
    const changed = { ...person("di.delta"), title: "Boss" };
    expectScimError(await api.call("PUT", url, changed, { "if-match": 'W/"7"' }), 412);
    expectScimError(
      await api.call("PATCH", url, patch({ op: "replace", path: "title", value: "x" }), {
        "if-match": '"7"',
      }),
      412,
    );
    expectScimError(await api.call("DELETE", url, undefined, { "if-match": 'W/"7"' }), 412);
    expect(await footprint(f)).toEqual(before);
    expect((await api.call("GET", url)).json().title).toBeUndefined();

    const put = await api.call("PUT", url, changed, { "if-match": 'W/"1"' });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.headers.etag).toBe('W/"2"');
    expect(put.json().title).toBe("Boss");
    const patched = await api.call("PATCH", url, patch({ op: "replace", path: "title", value: "Chief" }), {
      "if-match": "*",
    });
    expect(patched.statusCode).toBe(204);
    expect(patched.headers.etag).toBe('W/"3"');
    // Sending the same again changes nothing, so the version stays.
    const again = await api.call("PATCH", url, patch({ op: "replace", path: "title", value: "Chief" }));
    expect(again.headers.etag).toBe('W/"3"');
  });

  it("keeps userName (case-insensitively) and the person's key unique: 409 uniqueness, nothing stored", async () => {
    const before = await footprint(f);
    const taken = expectScimError(
      await api.call("POST", "/Users", person("ANA.ALPHA", { externalId: "new" })),
      409,
      "uniqueness",
    );
    expect(taken.detail).toContain('userName "ANA.ALPHA" is taken');
    const sameKey = expectScimError(
      await api.call("POST", "/Users", person("other.one", { externalId: "ext-ana.alpha" })),
      409,
      "uniqueness",
    );
    expect(sameKey.detail).toContain('externalId "ext-ana.alpha" is the key of the User');
    const anaId = (await api.list('filter=userName eq "ana.alpha"')).Resources[0].id;
    const bo = (await api.list('filter=userName eq "bo.beta"')).Resources[0];
    expectScimError(
      await api.call(
        "PATCH",
        `/Users/${bo.id}`,
        patch({ op: "replace", path: "userName", value: "Ana.Alpha" }),
      ),
      409,
      "uniqueness",
    );
    expect(anaId).not.toBe(bo.id);
    expect(await footprint(f)).toEqual(before);
  });

  it("answers bad input with a SCIM 4xx that says what is wrong, and changes nothing", async () => {
    const before = await footprint(f);
    const bo = (await api.list('filter=userName eq "bo.beta"')).Resources[0];
    expectScimError(
      await api.call("POST", "/Users", '{"userName": "x", "active": tre}'),
      400,
      "invalidSyntax",
    );
    expect(
      expectScimError(
        await api.call("POST", "/Users", person("e.x", { active: "maybe" })),
        400,
        "invalidValue",
      ).detail,
    ).toBe("active: expected true or false");
    expect(
      expectScimError(await api.call("POST", "/Users", { name: { givenName: "No" } }), 400, "invalidValue")
        .detail,
    ).toBe("userName is required");
    expect(
      expectScimError(
        await api.call("POST", "/Users", person("e.x", { emails: [{ value: "a@b.test", primary: 2 }] })),
        400,
      ).detail,
    ).toBe("emails[0].primary: expected true or false");
    const big = person("big.body", { title: "x".repeat(70_000) });
    expectScimError(await api.call("POST", "/Users", big), 413);
    const plain = await f.app.inject({
      method: "POST",
      url: "/scim/v2/Users",
      headers: { authorization: `Bearer ${f.tokenFor["hr-source"]}`, "content-type": "text/plain" },
      payload: "userName=x",
    });
    expectScimError(plain, 415);
    // The SCIM key (server.scim.key: externalId) is required.
    const noKey = { ...person("no.key") };
    delete noKey.externalId;
    expect(expectScimError(await api.call("POST", "/Users", noKey), 400, "invalidValue").detail).toContain(
      "externalId is required: it is the person's key in source hr",
    );
    expectScimError(
      await api.call("PATCH", `/Users/${bo.id}`, patch({ op: "replace", path: "actve", value: false })),
      400,
      "invalidPath",
    );
    expectScimError(
      await api.call("PATCH", `/Users/${bo.id}`, patch({ op: "replace", path: "id", value: "x" })),
      400,
      "mutability",
    );
    expectScimError(await api.call("PATCH", `/Users/${bo.id}`, { Operations: [] }), 400, "invalidSyntax");
    expectScimError(await api.call("PUT", "/Users/nobody", person("zz.top")), 404);
    expect(await footprint(f)).toEqual(before);
    expect((await api.call("GET", `/Users/${bo.id}`)).json().meta.version).toBe('W/"1"');
  });

  it("refuses a person Tenure's data quality refuses (400 invalidValue naming the SCIM attribute), storing nothing", async () => {
    const before = await footprint(f);
    const bad = expectScimError(
      await api.call(
        "POST",
        "/Users",
        person("mal.formed", { emails: [{ value: "mal-at-example", type: "work" }] }),
      ),
      400,
      "invalidValue",
    );
    expect(bad.detail).toContain('emails[type eq "work"].value: email "mal-at-example"');
    expect(bad.detail).not.toMatch(/^Row \d/);
    const noFamily = expectScimError(
      await api.call("POST", "/Users", person("solo", { name: { givenName: "Solo" } })),
      400,
    );
    expect(noFamily.detail).toContain("name.familyName");
    expect(await footprint(f)).toEqual(before);
    expect((await api.list('filter=userName eq "mal.formed"')).totalResults).toBe(0);

    // The same for a change of a stored person: the User and the identity stay as they were.
    const bo = (await api.list('filter=userName eq "bo.beta"')).Resources[0];
    const res = await api.call(
      "PATCH",
      `/Users/${bo.id}`,
      patch({ op: "replace", path: 'emails[type eq "work"].value', value: "nope" }),
    );
    expectScimError(res, 400, "invalidValue");
    expect(await footprint(f)).toEqual(before);
    const stored = (await api.call("GET", `/Users/${bo.id}`)).json();
    expect(stored.emails[0].value).toBe("bo.beta@example.test");
    const identity = (await identityRepository.listBySource(f.store.db, "hr")).find(
      (i) => i.sourceKey === "ext-bo.beta",
    );
    expect(identity?.attributes.email).toBe("bo.beta@example.test");
  });

  it("applies the PATCH forms Entra ID sends, answering 204 (200 with attributes=)", async () => {
    const boss = (await api.list('filter=userName eq "ana.alpha"')).Resources[0];
    const bo = (await api.list('filter=userName eq "bo.beta"')).Resources[0];
    const res = await api.call(
      "PATCH",
      `/Users/${bo.id}`,
      patch(
        { op: "Replace", path: "title", value: "Account Executive" },
        { op: "Add", path: `${ENT}:manager`, value: boss.id },
        { op: "Replace", path: 'emails[type eq "work"].value', value: "bo@example.test" },
        { op: "Replace", value: { "name.givenName": "Bob", [`${ENT}:Department`]: "Field Sales" } },
      ),
    );
    expect(res.statusCode, res.body).toBe(204);
    const stored = (await api.call("GET", `/Users/${bo.id}`)).json();
    expect(stored).toMatchObject({
      title: "Account Executive",
      name: { givenName: "Bob", familyName: "beta" },
      emails: [{ value: "bo@example.test", type: "work", primary: true }],
      [ENT]: { department: "Field Sales", manager: { value: boss.id } },
    });
    // The identity follows, its manager given by key (the manager's externalId), not by SCIM id.
    const identity = (await identityRepository.listBySource(f.store.db, "hr")).find(
      (i) => i.sourceKey === "ext-bo.beta",
    );
    expect(identity?.attributes).toMatchObject({
      givenName: "Bob",
      title: "Account Executive",
      email: "bo@example.test",
      department: "Field Sales",
      managerId: "ext-ana.alpha",
    });
    const withBody = await api.call(
      "PATCH",
      `/Users/${bo.id}?attributes=title`,
      patch({ op: "remove", path: "title" }),
    );
    expect(withBody.statusCode).toBe(200);
    expect(withBody.json()).toEqual({ schemas: stored.schemas, id: bo.id });
  });

  it("keeps Groups with members: Okta's and Entra's member PATCHes, unique names, members of deleted Users gone", async () => {
    const users = (await api.list("count=10")).Resources as Json[];
    const [a, b, c] = users.map((u) => u.id as string);
    const group = await api.create("Groups", { displayName: "Sales", members: [{ value: a, display: "A" }] });
    expectScimError(await api.call("POST", "/Groups", { displayName: "SALES" }), 409, "uniqueness");
    const url = `/Groups/${group.id}`;
    expect(
      (
        await api.call(
          "PATCH",
          url,
          patch({ op: "add", path: "members", value: [{ value: b }, { value: c }] }),
        )
      ).statusCode,
    ).toBe(204);
    expect(
      (await api.call("PATCH", url, patch({ op: "Remove", path: "members", value: [{ value: a }] })))
        .statusCode,
    ).toBe(204);
    expect(
      (await api.call("PATCH", url, patch({ op: "remove", path: `members[value eq "${b}"]` }))).statusCode,
    ).toBe(204);
    expect(
      (
        await api.call(
          "PATCH",
          url,
          patch({ op: "replace", value: { id: group.id, displayName: "Sales EMEA" } }),
        )
      ).statusCode,
    ).toBe(204);
    const stored = (await api.call("GET", url)).json();
    expect(stored).toMatchObject({ displayName: "Sales EMEA", members: [{ value: c }] });
    expect((await api.call("GET", `${url}?excludedAttributes=members`)).json()).not.toHaveProperty("members");
    const found = (
      await api.call("GET", `/Groups?filter=${encodeURIComponent('displayName eq "sales emea"')}`)
    ).json();
    expect(found.Resources.map((g: Json) => g.id)).toEqual([group.id]);
    expect((await api.call("DELETE", `/Users/${c}`)).statusCode).toBe(204);
    const after = (await api.call("GET", url)).json();
    expect(after).not.toHaveProperty("members");
    expect(after.meta.version).toBe('W/"6"');
    expect((await api.call("DELETE", url)).statusCode).toBe(204);
    expectScimError(await api.call("GET", url), 404);
  });

  it("audits SCIM writes with the token's name", async () => {
    const events = await f.store.db
      .selectFrom("audit_events")
      .select(["action", "actor"])
      .where("action", "like", "scim.%")
      .execute();
    expect(events.length).toBeGreaterThan(5);
    expect(new Set(events.map((e) => e.actor))).toEqual(new Set(["token:t-hr-source"]));
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(["scim.user.created", "scim.user.patched", "scim.group.deleted"]),
    );
  });
});

describe.each(await storeFactories())("a SCIM leaver on %s", (_kind, makeStore) => {
  let f: ScimFixture;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    f = await scimFixture(makeStore, { withSystem: true, key: "employeeNumber" });
    api = client(f);
  });
  afterAll(() => f.dispose());

  const appUser = async (login: string) =>
    (
      await f.appDb!.query<{ login: string; active: number }>(
        `select login, active from app_users where login = '${login}'`,
      )
    )[0];
  const identity = async (key: string) =>
    (await identityRepository.listBySource(f.store.db, "hr")).find((i) => i.sourceKey === key);

  it("creates the person's account, disables it before answering active=false, and DELETE keeps the identity", async () => {
    const ada = await api.create(
      "Users",
      person("Ada.Lovelace", { [ENT]: { employeeNumber: "E1", department: "Eng" } }),
    );
    expect(await identity("E1")).toMatchObject({
      state: "active",
      attributes: { employeeId: "E1", department: "Eng" },
    });
    expect(await appUser("ada.lovelace")).toMatchObject({ active: 1 });

    // Entra ID deactivates with a string boolean; the answer comes after the account is disabled.
    const res = await api.call(
      "PATCH",
      `/Users/${ada.id}`,
      patch({ op: "Replace", path: "active", value: "False" }),
    );
    expect(res.statusCode, res.body).toBe(204);
    expect(await appUser("ada.lovelace")).toMatchObject({ active: 0 });
    expect(await identity("E1")).toMatchObject({
      state: "terminated",
      attributes: { status: "terminated", terminationDate: "2026-03-02" },
    });
    const stored = (await api.call("GET", `/Users/${ada.id}`)).json();
    expect(stored.active).toBe(false);
    expect(stored["urn:ietf:params:scim:schemas:extension:tenure:2.0:User"]).toEqual({
      terminationDate: "2026-03-02",
    });

    // A later write, a day on, keeps the leave date it had.
    f.clock.now = new Date(SCIM_NOW.getTime() + 86_400_000);
    await api.call("PATCH", `/Users/${ada.id}`, patch({ op: "replace", path: "title", value: "Countess" }));
    expect((await identity("E1"))?.attributes.terminationDate).toBe("2026-03-02");

    expect((await api.call("DELETE", `/Users/${ada.id}`)).statusCode).toBe(204);
    expectScimError(await api.call("GET", `/Users/${ada.id}`), 404);
    expect(await identity("E1")).toMatchObject({ state: "terminated" });
    expect(await scimResourceRepository.findByPersonKey(f.store.db, "E1")).toBeUndefined();
    f.clock.now = SCIM_NOW;
  });

  it("makes DELETE of an active User a leaver today", async () => {
    const grace = await api.create("Users", person("Grace.Hopper", { [ENT]: { employeeNumber: "E2" } }));
    expect(await appUser("grace.hopper")).toMatchObject({ active: 1 });
    expect((await api.call("DELETE", `/Users/${grace.id}`)).statusCode).toBe(204);
    expect(await appUser("grace.hopper")).toMatchObject({ active: 0 });
    expect(await identity("E2")).toMatchObject({
      state: "terminated",
      attributes: { terminationDate: "2026-03-02" },
    });
  });

  it("brings a deactivated person back with active=true, dropping the leave date the server set", async () => {
    const kim = await api.create("Users", person("Kim.Back", { [ENT]: { employeeNumber: "E3" } }));
    const url = `/Users/${kim.id}`;
    expect(
      (await api.call("PATCH", url, patch({ op: "replace", value: { active: false } }))).statusCode,
    ).toBe(204);
    expect(await appUser("kim.back")).toMatchObject({ active: 0 });
    expect((await api.call("PATCH", url, patch({ op: "replace", value: { active: true } }))).statusCode).toBe(
      204,
    );
    expect(await identity("E3")).toMatchObject({
      state: "active",
      attributes: { status: "active", terminationDate: null },
    });
    expect(await appUser("kim.back")).toMatchObject({ active: 1 });
    expect((await api.call("GET", url)).json()).not.toHaveProperty([
      "urn:ietf:params:scim:schemas:extension:tenure:2.0:User",
    ]);
  });

  it("needs the key server.scim.key names (enterprise employeeNumber here)", async () => {
    const body = expectScimError(await api.call("POST", "/Users", person("No.Number")), 400, "invalidValue");
    expect(body.detail).toContain(`${ENT}:employeeNumber is required`);
  });
});

describe.each(await storeFactories())("a SCIM re-key on %s", (_kind, makeStore) => {
  let f: ScimFixture;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    f = await scimFixture(makeStore, { withSystem: true });
    api = client(f);
  });
  afterAll(() => f.dispose());

  const appRows = async () =>
    f.appDb!.query<{ id: number; login: string; mail: string; active: number }>(
      "select id, login, mail, active from app_users order by id",
    );
  const identities = () => identityRepository.listBySource(f.store.db, "hr");
  const events = async (action: string, subject: string) =>
    (
      await f.store.db
        .selectFrom("audit_events")
        .select(["details"])
        .where("action", "=", action)
        .where("subject", "=", subject)
        .orderBy("seq")
        .execute()
    ).map((e) => JSON.parse(e.details) as Json);
  const operationKinds = async (identityId: string) =>
    (await operationRepository.list(f.store.db, { identityId, limit: 1000 })).map((o) => o.kind);

  it("re-keys the same identity when PUT or PATCH changes externalId or the primary email, keeping its accounts; DELETE (JSON content type, no body) then disables them", async () => {
    const rita = await api.create("Users", person("Rita.Rekey"));
    const [first] = (await identities()).filter((i) => i.sourceKey === "ext-Rita.Rekey");
    expect(first).toMatchObject({ state: "active" });
    const before = await appRows();
    expect(before).toEqual([
      { id: expect.any(Number), login: "rita.rekey", mail: "Rita.Rekey@example.test", active: 1 },
    ]);
    const opsBefore = await operationKinds(first!.id);
    expect(opsBefore).toContain("create");

    // PUT: the HR system's id for the person changed; the SCIM id says it is the same person.
    const put = await api.call("PUT", `/Users/${rita.id}`, person("Rita.Rekey", { externalId: "ext-R2" }));
    expect(put.statusCode, put.body).toBe(200);
    // PATCH: a new key and a new primary email at once (nothing left to correlate by but the SCIM id).
    const both = await api.call(
      "PATCH",
      `/Users/${rita.id}`,
      patch(
        { op: "replace", path: "externalId", value: "ext-R3" },
        { op: "replace", path: 'emails[type eq "work"].value', value: "rita.new@example.test" },
      ),
    );
    expect(both.statusCode, both.body).toBe(204);
    // PATCH: the primary email alone.
    const mail = await api.call(
      "PATCH",
      `/Users/${rita.id}`,
      patch({ op: "replace", path: 'emails[type eq "work"].value', value: "rita.third@example.test" }),
    );
    expect(mail.statusCode, mail.body).toBe(204);

    const all = await identities();
    expect(all.map((i) => [i.id, i.sourceKey, i.state])).toEqual([[first!.id, "ext-R3", "active"]]);
    expect(all[0]!.attributes.email).toBe("rita.third@example.test");
    expect((await events("identity.rekeyed", first!.id)).map((d) => [d.before, d.after])).toEqual([
      ["ext-Rita.Rekey", "ext-R2"],
      ["ext-R2", "ext-R3"],
    ]);
    expect(await events("identity.created", first!.id)).toHaveLength(1);
    // The same account, same native id: updated in place, never created again or deleted.
    expect(await appRows()).toEqual([{ ...before[0], mail: "rita.third@example.test" }]);
    const accounts = await accountRepository.list(f.store.db, { identityId: first!.id });
    expect(accounts.map((a) => [a.nativeId, a.enabled])).toEqual([[String(before[0]!.id), true]]);
    const opsAfter = await operationKinds(first!.id);
    expect(opsAfter.filter((k) => k === "create")).toHaveLength(1);
    expect(opsAfter).not.toContain("delete");
    expect(opsAfter).not.toContain("disable");

    // Clients send DELETE with a JSON content type and no body.
    const del = await f.app.inject({
      method: "DELETE",
      url: `/scim/v2/Users/${rita.id}`,
      headers: {
        authorization: `Bearer ${f.tokenFor["hr-source"]}`,
        "content-type": "application/scim+json",
      },
    });
    expect(del.statusCode, del.body).toBe(204);
    expect((await identities()).map((i) => [i.id, i.sourceKey, i.state])).toEqual([
      [first!.id, "ext-R3", "terminated"],
    ]);
    expect(await appRows()).toEqual([{ ...before[0], mail: "rita.third@example.test", active: 0 }]);
    const gone = await accountRepository.list(f.store.db, { identityId: first!.id });
    expect(gone.map((a) => [a.nativeId, a.enabled])).toEqual([[String(before[0]!.id), false]]);
    expect(await operationKinds(first!.id)).not.toContain("delete");
  });

  it("refuses a key change onto the key of another identity, changing nothing", async () => {
    const tom = await api.create("Users", person("Tom.Taken"));
    const old = await api.create("Users", person("Old.Holder"));
    expect((await api.call("DELETE", `/Users/${old.id}`)).statusCode).toBe(204);
    const holder = (await identities()).find((i) => i.sourceKey === "ext-Old.Holder")!;
    expect(holder.state).toBe("terminated");
    const rows = await appRows();
    const was = await footprint(f);
    const res = await api.call(
      "PUT",
      `/Users/${tom.id}`,
      person("Tom.Taken", { externalId: "ext-Old.Holder" }),
    );
    const body = expectScimError(res, 409);
    expect(body.detail).toContain('"ext-Old.Holder"');
    expect(body.detail).toContain(holder.id);
    expect(await footprint(f)).toEqual(was);
    expect(await appRows()).toEqual(rows);
    expect((await identities()).find((i) => i.sourceKey === "ext-Tom.Taken")?.state).toBe("active");
    expect((await api.call("GET", `/Users/${tom.id}`)).json().externalId).toBe("ext-Tom.Taken");
  });

  it("accepts DELETE with application/json and no body, for Users and Groups", async () => {
    const ned = await api.create("Users", person("Ned.Nobody"));
    const group = await api.create("Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      displayName: "Empty Deleters",
    });
    for (const url of [`/Users/${ned.id}`, `/Groups/${group.id}`]) {
      const res = await f.app.inject({
        method: "DELETE",
        url: `/scim/v2${url}`,
        headers: { authorization: `Bearer ${f.tokenFor["hr-source"]}`, "content-type": "application/json" },
      });
      expect(res.statusCode, res.body).toBe(204);
      expectScimError(await api.call("GET", url), 404);
    }
    // A write without a body is still refused.
    expectScimError(
      await f.app.inject({
        method: "PUT",
        url: `/scim/v2/Users/${ned.id}`,
        headers: {
          authorization: `Bearer ${f.tokenFor["hr-source"]}`,
          "content-type": "application/scim+json",
        },
      }),
      400,
    );
  });
});

describe.each(await storeFactories())(
  "a SCIM push past the mass-change threshold on %s",
  (_kind, makeStore) => {
    let f: ScimFixture;
    let api: ReturnType<typeof client>;
    beforeAll(async () => {
      // Every termination is past a threshold of 0: one deactivation is enough to see the stop.
      f = await scimFixture(makeStore, { withSystem: true, massChangeThreshold: { percent: 0, minimum: 0 } });
      api = client(f);
    });
    afterAll(() => f.dispose());

    it("answers 409 and writes nothing but one mass-change.stopped event", async () => {
      const ada = await api.create("Users", person("Ada.Lovelace"));
      const before = { ...(await footprint(f)), rows: await storeSnapshot(f.store.db) };
      const res = await api.call(
        "PATCH",
        `/Users/${ada.id}`,
        patch({ op: "replace", path: "active", value: false }),
      );
      const body = expectScimError(res, 409);
      expect(body.detail).toContain("mass");
      const [stop] = await queryEvents(f.store.db, { action: "mass-change.stopped" });
      expect(stop?.details).toMatchObject({ run: "push to source hr" });
      await expectOnlyTheStop(f.store.db, before.rows, String(stop?.details.planHash));
      expect(await footprint(f)).toEqual({ ...before, rows: undefined, audit: before.audit + 1 });
      expect((await api.call("GET", `/Users/${ada.id}`)).json().active).toBe(true);
      const [account] = await f.appDb!.query<{ active: number | string }>(
        "select active from app_users where login = 'ada.lovelace'",
      );
      expect(Number(account?.active)).toBe(1);
    });
  },
);

describe("SCIM configuration", () => {
  it("serves no SCIM endpoint without server.scim, and refuses to start when it names no push source", async () => {
    const { dir, dispose } = await tempDir("tenure-scim-config-");
    const store = await openStore("sqlite::memory:");
    try {
      const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now: () => SCIM_NOW });
      const build = async (yaml: string) => {
        await writeFile(path.join(dir, "tenure.yaml"), yaml);
        await writeFile(path.join(dir, "hr.csv"), "employeeId,givenName,familyName\n");
        const config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
        return buildServer({ store, config, tokens, now: () => SCIM_NOW, logLevel: "silent" });
      };
      const off = await build("sources:\n  hr: { type: push }\n");
      expect(off.routeCatalogue().some((r) => r.url.startsWith("/scim"))).toBe(false);
      expect((await off.inject({ url: "/scim/v2/Users" })).statusCode).toBe(404);
      await off.close();
      await expect(
        build("sources:\n  hr: { type: csv, path: ./hr.csv }\nserver:\n  scim: { source: hr }\n"),
      ).rejects.toThrow('server.scim.source: "hr" is not a source of type push');
      await expect(
        build("sources:\n  hr: { type: push }\nserver:\n  scim: { source: hr, key: email }\n"),
      ).rejects.toThrow();
      // docs/scim.md's example is a configuration that serves SCIM.
      const doc = await readFile(
        path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/scim.md"),
        "utf8",
      );
      const documented = await build(/```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? "");
      expect(documented.routeCatalogue().some((r) => r.url === "/scim/v2/Users")).toBe(true);
      await documented.close();
    } finally {
      await store.close();
      await dispose();
    }
  });
});
