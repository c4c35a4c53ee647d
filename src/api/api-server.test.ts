/**
 * What every answer of the HTTP API shares: the error shape for bad input (malformed JSON, wrong
 * types, unknown fields, oversized bodies, other media types) with nothing changed, security headers,
 * request ids, a 500 that tells nothing, the OpenAPI 3.1 document listing every route, and logs that
 * never hold a token or a password.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer, FIXTURE_NOW } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import type { RouteModule } from "./route-types.js";
import { buildServer } from "./server.js";

async function auditCount(f: ApiFixture): Promise<number> {
  const row = await f.store.db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe.each(await storeFactories())("the HTTP API's contract on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const admin = () => bearer(f.tokenFor.admin);
  beforeAll(async () => {
    f = await apiFixture(makeStore, { bodyLimit: 2048 });
  });
  afterAll(() => f.dispose());

  describe("bad input gets a 400-class answer in the error shape, and changes nothing", () => {
    const cases: Array<[string, { payload: string; contentType?: string }, number, string, string[]]> = [
      ["malformed JSON", { payload: '{"dryRun": tru' }, 400, "malformed_json", []],
      ["an empty JSON body", { payload: "" }, 400, "malformed_json", []],
      ["a wrong type", { payload: '{"dryRun": "yes"}' }, 400, "invalid_request", ["body.dryRun"]],
      [
        "unknown fields",
        { payload: '{"dryRun": true, "password": "hunter2", "x": 1}' },
        400,
        "invalid_request",
        ["body.password", "body.x"],
      ],
      ["an array instead of an object", { payload: "[1,2]" }, 400, "invalid_request", ["body"]],
      ["a prototype-polluting key", { payload: '{"__proto__": {"admin": true}}' }, 400, "malformed_json", []],
      [
        "an oversized body",
        { payload: JSON.stringify({ source: "x".repeat(4096) }) },
        413,
        "body_too_large",
        [],
      ],
      [
        "text instead of JSON",
        { payload: "dryRun=true", contentType: "text/plain" },
        415,
        "unsupported_media_type",
        [],
      ],
    ];
    it.each(cases)("%s", async (_what, { payload, contentType }, status, code, paths) => {
      const before = await auditCount(f);
      const res = await f.app.inject({
        method: "POST",
        url: "/api/sync",
        headers: { ...admin(), "content-type": contentType ?? "application/json" },
        payload,
      });
      expect(res.statusCode, res.body).toBe(status);
      const body = res.json();
      expect(Object.keys(body)).toEqual(["error"]);
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe("string");
      expect(body.error.details.map((d: { path: string }) => d.path)).toEqual(paths);
      for (const d of body.error.details) expect(d.message.length).toBeGreaterThan(0);
      expect(res.body).not.toContain("hunter2");
      expect(res.body).not.toMatch(/at .*\.ts:\d+/);
      expect(await auditCount(f)).toBe(before);
    });

    it("wrong query parameters say which", async () => {
      const res = await f.app.inject({
        url: "/api/identities?limit=0&state=gone&colour=red",
        headers: admin(),
      });
      expect(res.statusCode).toBe(400);
      expect(
        res
          .json()
          .error.details.map((d: { path: string }) => d.path)
          .sort(),
      ).toEqual(["query.colour", "query.limit", "query.state"]);
    });
  });

  it("sets security headers and a request id on every answer, errors included", async () => {
    for (const res of [
      await f.app.inject({ url: "/api/health" }),
      await f.app.inject({ url: "/api/identities" }),
      await f.app.inject({ url: "/api/nowhere", headers: admin() }),
      await f.app.inject({ url: "/api/docs" }),
    ]) {
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(res.headers["strict-transport-security"]).toContain("max-age=");
      expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(res.headers["x-request-id"]).toBeTruthy();
    }
    const api = await f.app.inject({ url: "/api/identities", headers: admin() });
    expect(api.headers["cache-control"]).toBe("no-store");
    const mine = await f.app.inject({ url: "/api/health", headers: { "x-request-id": "probe-42" } });
    expect(mine.headers["x-request-id"]).toBe("probe-42");
    const odd = await f.app.inject({ url: "/api/health", headers: { "x-request-id": "no spaces\nplease" } });
    expect(odd.headers["x-request-id"]).not.toContain("no spaces");
  });

  it("answers an unknown route with 404 in the error shape", async () => {
    const res = await f.app.inject({ url: "/api/nowhere?token=abc", headers: admin() });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: "not_found", message: "no route GET /api/nowhere", details: [] },
    });
  });

  it("answers an internal failure with 500, a generic message and the request id, never the error", async () => {
    const failing: RouteModule = async (app) => {
      app.get("/api/fail", { config: { permission: "audit:read" } }, async () => {
        throw new Error("database password is hunter2 at /srv/secret.ts:12");
      });
    };
    const lines: string[] = [];
    const app = await buildServer({
      store: f.store,
      config: f.config,
      tokens: f.tokens,
      now: () => FIXTURE_NOW,
      logStream: { write: (line: string) => lines.push(line) },
      routes: [failing],
    });
    const res = await app.inject({ url: "/api/fail", headers: { ...admin(), "x-request-id": "req-500" } });
    await app.close();
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      error: {
        code: "internal",
        message: "internal error; the server log has the details under request id req-500",
        details: [],
        requestId: "req-500",
      },
    });
    expect(res.body).not.toContain("hunter2");
    // The operator finds it in the log under that id.
    expect(lines.some((l) => l.includes('"reqId":"req-500"') && l.includes("request failed"))).toBe(true);
  });

  it("publishes a valid OpenAPI 3.1 document listing every route, with the error shape and security", async () => {
    const res = await f.app.inject({ url: "/api/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Tenure API");
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: "http", scheme: "bearer" });
    expect(doc.components.schemas.Error).toBeDefined();
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(item)) {
        const operation = op as { responses?: Record<string, unknown>; security?: unknown; summary?: string };
        documented.add(`${method.toUpperCase()} ${path}`);
        expect(Object.keys(operation.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
        expect(operation.summary, `${method} ${path} has a summary`).toBeTruthy();
      }
    }
    for (const route of f.app.routeCatalogue()) {
      // The docs page's own files are not API routes; other protocols (SCIM) document themselves.
      if (route.url.startsWith("/api/docs") || !route.url.startsWith("/api/")) continue;
      const path = route.url.replace(/:([A-Za-z]+)/g, "{$1}");
      expect(documented, `${route.method} ${route.url} is documented`).toContain(`${route.method} ${path}`);
      const op = doc.paths[path][route.method.toLowerCase()];
      if (route.public) expect(op.security).toBeUndefined();
      else {
        expect(op.security).toEqual([{ bearerAuth: [] }]);
        expect(op.description).toContain(route.permission);
        expect(JSON.stringify(op.responses["4XX"] ?? op.responses["4xx"])).toContain(
          "#/components/schemas/Error",
        );
      }
    }
    // Every $ref points at a component that exists, and every schema is valid JSON Schema 2020-12.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of refs) {
      const name = ref.replace(/^"\$ref":"#\/components\/schemas\//, "").replace(/"$/, "");
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, object>)) {
      expect(ajv.validateSchema({ ...schema, $defs: undefined }), `components.schemas.${name}`).toBe(true);
    }
  });

  it("serves the docs page", async () => {
    const res = await f.app.inject({ url: "/api/docs/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
    expect(res.body).toContain("Swagger UI");
  });

  it("never writes a token or a password to the log", async () => {
    const before = f.log.lines.length;
    const passwordLike = "correct-horse-battery-staple";
    await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor.admin) });
    await f.app.inject({ url: "/api/identities", headers: bearer(f.expiredToken) });
    await f.app.inject({ url: "/api/identities", headers: bearer(f.revokedToken) });
    await f.app.inject({ url: "/api/identities", headers: { authorization: `Basic ${passwordLike}` } });
    await f.app.inject({
      url: `/api/health?token=${f.tokenFor.auditor}&password=${passwordLike}`,
      headers: { cookie: `session=${passwordLike}` },
    });
    await f.app.inject({
      method: "POST",
      url: "/api/sync",
      headers: admin(),
      payload: { dryRun: true, password: passwordLike, token: f.tokenFor.auditor },
    });
    const text = f.log.lines.slice(before).join("");
    expect(f.log.lines.length - before).toBeGreaterThan(6);
    for (const secret of [...Object.values(f.tokenFor), f.expiredToken, f.revokedToken, passwordLike]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(4, 20));
    }
    // The lines are structured and carry request ids.
    const parsed = f.log.lines.slice(before).map((l) => JSON.parse(l) as { reqId?: string });
    expect(parsed.every((l) => typeof l.reqId === "string")).toBe(true);
    expect(text).toContain("[redacted]");
  });
});
