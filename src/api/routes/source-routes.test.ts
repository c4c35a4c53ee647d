/**
 * POST /api/sources/{name}/records through the real server (app.inject) over a real store (SQLite
 * and PostgreSQL) and a real `sql` application database, with the tokens of the platform roles.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer } from "../../../test/helpers/api-fixture.js";
import { storeFactories } from "../../../test/helpers/databases.js";
import { expectOnlyTheStop, storeSnapshot } from "../../../test/helpers/store-snapshot.js";
import { queryEvents, verifyLedger } from "../../audit/ledger.js";
import type { TenureConfig } from "../../policy/config-types.js";
import { defaultPushSource } from "../../policy/sections/sources-section.js";
import { buildServer } from "../server.js";

const BODY_LIMIT = 4096;

describe.each(await storeFactories())("POST /api/sources/{name}/records on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  let app: FastifyInstance;
  let config: TenureConfig;

  beforeAll(async () => {
    f = await apiFixture(makeStore, { bodyLimit: BODY_LIMIT });
    // The fixture's organisation, plus a push source whose HR system names the given name its own way.
    config = {
      ...f.config,
      sources: {
        ...f.config.sources,
        feed: { ...defaultPushSource("feed"), columns: { givenName: "first_name" } },
      },
    };
    app = await buildServer({
      store: f.store,
      config,
      tokens: f.tokens,
      now: () => f.clock.now,
      logStream: { write: () => true },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await f.dispose();
  });

  const pushTo = (source: string, payload: unknown, token = f.tokenFor["hr-source"], query = "") =>
    app.inject({
      method: "POST",
      url: `/api/sources/${source}/records${query}`,
      headers: { ...bearer(token), "content-type": "application/json" },
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    });

  const record = (key: string, extra: Record<string, string | null> = {}) => ({
    employeeId: key,
    first_name: `Pat${key}`,
    familyName: "Push",
    email: `${key.toLowerCase()}@push.example.test`,
    department: "Engineering",
    startDate: "2026-01-05",
    ...extra,
  });

  async function appUser(login: string) {
    const rows = await f.appDb.query<{ active: number | string }>(
      `select active from app_users where login = '${login}'`,
    );
    return rows[0] === undefined ? undefined : { active: Number(rows[0].active) };
  }

  async function snapshot() {
    const n = async (table: "identities" | "source_records" | "operations") =>
      Number(
        (
          await f.store.db
            .selectFrom(table)
            .select(f.store.db.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      identities: await n("identities"),
      records: await n("source_records"),
      operations: await n("operations"),
    };
  }

  it("takes a joiner from the hr-source token and answers after the account exists", async () => {
    const res = await pushTo("feed", { records: [record("P1")] });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      source: "feed",
      summary: { created: 1, updated: 0, unchanged: 0, rehired: 0, terminated: 0, rejected: 0 },
      results: [{ row: 1, key: "P1", status: "created", findings: [] }],
      operations: { succeeded: body.operations.queued, pending: 0, failed: 0, dead: 0 },
      recomputed: 1,
    });
    expect(body.operations.queued).toBeGreaterThan(0);
    expect(await appUser("patp1.push")).toEqual({ active: 1 });
    const created = await f.store.db
      .selectFrom("audit_events")
      .select("actor")
      .where("action", "=", "identity.created")
      .where("subject", "=", body.results[0].identityId)
      .executeTakeFirst();
    expect(created?.actor).toBe("token:t-hr-source");
  });

  it("disables a leaver's account before answering", async () => {
    await pushTo("feed", { records: [record("P2")] });
    expect(await appUser("patp2.push")).toEqual({ active: 1 });
    const res = await pushTo("feed", {
      records: [record("P2", { status: "terminated", terminationDate: "2026-03-02" })],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().results[0]).toMatchObject({ status: "terminated" });
    expect(await appUser("patp2.push")).toEqual({ active: 0 });
  });

  it("answers 207 with per-record results when some records are rejected, 422 when all are", async () => {
    const before = await snapshot();
    const some = await pushTo("feed", { records: [record("P3"), record("P4", { startDate: "2026-13-01" })] });
    expect(some.statusCode).toBe(207);
    expect(some.json().summary).toMatchObject({ created: 1, rejected: 1 });
    expect(some.json().results[1]).toMatchObject({
      row: 2,
      key: "P4",
      status: "rejected",
      identityId: null,
      findings: [{ code: "invalid_date", field: "startDate", severity: "error" }],
    });
    expect((await snapshot()).identities).toBe(before.identities + 1);

    const middle = await snapshot();
    const none = await pushTo("feed", { records: [record("P5", { familyName: "" })] });
    expect(none.statusCode).toBe(422);
    expect(none.json().results[0]).toMatchObject({
      status: "rejected",
      findings: [{ code: "missing_required", field: "familyName" }],
    });
    expect(await snapshot()).toEqual(middle);
  });

  it("refuses a bad request whole with a 400 that says what and where, changing nothing", async () => {
    const before = await snapshot();
    const malformed = await pushTo("feed", '{"records": [ {"employeeId": "P6", ');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe("malformed_json");

    const wrongType = await pushTo("feed", { records: [{ ...record("P6"), employeeId: 6 }] });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error).toMatchObject({
      code: "invalid_request",
      details: [{ path: "body.records.0.employeeId" }],
    });

    const unknownField = await pushTo("feed", {
      records: [record("P6"), { ...record("P7"), givenName: "Pat" }],
    });
    expect(unknownField.statusCode).toBe(400);
    expect(unknownField.json().error).toMatchObject({
      code: "invalid_request",
      details: [{ path: "body.records.1.givenName" }],
    });
    expect(unknownField.json().error.message).toContain("first_name");

    for (const body of [{}, { records: [] }, { records: [record("P6")], extra: true }, [record("P6")]]) {
      const res = await pushTo("feed", body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe("invalid_request");
    }
    const tooMany = await pushTo("feed", { records: Array.from({ length: 1001 }, () => ({})) });
    expect(tooMany.statusCode).toBe(400);

    const huge = await pushTo("feed", { records: [record("P6", { title: "x".repeat(BODY_LIMIT) })] });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe("body_too_large");

    const notJson = await app.inject({
      method: "POST",
      url: "/api/sources/feed/records",
      headers: { ...bearer(f.tokenFor["hr-source"]), "content-type": "text/plain" },
      payload: "employeeId=P6",
    });
    expect(notJson.statusCode).toBe(415);
    expect(await snapshot()).toEqual(before);
  });

  it("answers 404 for a source that does not exist and 409 for one that is not a push source", async () => {
    const before = await snapshot();
    const missing = await pushTo("nope", { records: [record("P8")] });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe("not_found");
    const csv = await pushTo("hr", { records: [record("P8")] });
    expect(csv.statusCode).toBe(409);
    expect(csv.json().error).toMatchObject({ code: "source_not_push" });
    expect(await snapshot()).toEqual(before);
  });

  it("lets the hr-source token push and nothing else; admin may push too, an auditor may not", async () => {
    expect(
      (await app.inject({ url: "/api/identities", headers: bearer(f.tokenFor["hr-source"]) })).statusCode,
    ).toBe(403);
    expect((await pushTo("feed", { records: [record("P9")] }, f.tokenFor.admin)).statusCode).toBe(200);
    expect((await pushTo("feed", { records: [record("P10")] }, f.tokenFor.auditor)).statusCode).toBe(403);
    expect((await pushTo("feed", { records: [record("P10")] }, "tnr_not-a-token")).statusCode).toBe(401);
  });

  it("only an admin confirms a mass change: hr-source gets 403; a stopped push writes one mass-change.stopped", async () => {
    const people = ["Q1", "Q2", "Q3", "Q4"].map((k) => record(k));
    expect((await pushTo("feed", { records: people })).statusCode).toBe(200);
    const leavers = people
      .slice(0, 3)
      .map((p) => ({ ...p, status: "terminated", terminationDate: "2026-03-02" }));
    const before = await storeSnapshot(f.store.db);

    // HR cannot wave its own push through, whatever it sends: 403 before anything is read or written.
    const asked = await pushTo(
      "feed",
      { records: leavers },
      f.tokenFor["hr-source"],
      `?confirmMassChange=${"a".repeat(64)}`,
    );
    expect(asked.statusCode).toBe(403);
    expect(asked.json().error.code).toBe("forbidden");
    expect(await storeSnapshot(f.store.db)).toEqual(before);

    const stopped = await pushTo("feed", { records: leavers });
    expect(stopped.statusCode).toBe(409);
    const { planHash } = stopped.json().error;
    expect(stopped.json().error).toMatchObject({
      code: "mass_change",
      counts: { "source:feed": { disable: 3 } },
    });
    const event = await expectOnlyTheStop(f.store.db, before, planHash);
    expect(event).toMatchObject({ actor: "token:t-hr-source", details: { run: "push to source feed" } });
    expect(await appUser("patq1.push")).toEqual({ active: 1 });

    const again = await pushTo(
      "feed",
      { records: leavers },
      f.tokenFor["hr-source"],
      `?confirmMassChange=${planHash}`,
    );
    expect(again.statusCode).toBe(403);
    expect(
      (await pushTo("feed", { records: leavers }, f.tokenFor.admin, "?confirmMassChange=true")).statusCode,
    ).toBe(400);
    expect((await storeSnapshot(f.store.db)).events).toBe(before.events + 1);

    const confirmed = await pushTo(
      "feed",
      { records: leavers },
      f.tokenFor.admin,
      `?confirmMassChange=${planHash}`,
    );
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json().summary).toMatchObject({ terminated: 3 });
    expect(await appUser("patq1.push")).toEqual({ active: 0 });
    const [confirm] = await queryEvents(f.store.db, { action: "sync.mass_change_confirmed" });
    expect(confirm).toMatchObject({
      actor: "token:t-admin",
      details: { planHash, confirmedBy: "token:t-admin" },
    });
    expect((await verifyLedger(f.store.db)).ok).toBe(true);
  });
});
