/**
 * Monitoring (issue 19, item 3): `GET /metrics` in Prometheus' text format with what the store says at
 * scrape time and what this process measured, and `GET /api/health/dependencies` naming the dependency
 * that fails — both for a token of the `monitor` role, which may read nothing else. SQLite and
 * PostgreSQL, a real `sql` application database.
 */
import { rename, rm } from "node:fs/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer, makeDeadOperation } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { appendEvents } from "../audit/ledger.js";
import { identityRepository } from "../store/identity-repository.js";

/** The value of one series in an exposition text (undefined: no such series). */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe.each(await storeFactories())("monitoring on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const scrape = async () => {
    const res = await f.app.inject({ url: "/metrics", headers: bearer(f.tokenFor.monitor) });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.body;
  };

  beforeAll(async () => {
    f = await apiFixture(makeStore);
  });
  afterAll(() => f.dispose());

  it("answers only a token that holds metrics:read; the monitor role holds nothing else", async () => {
    expect((await f.app.inject({ url: "/metrics" })).statusCode).toBe(401);
    expect((await f.app.inject({ url: "/metrics", headers: bearer(f.tokenFor.requester) })).statusCode).toBe(
      403,
    );
    expect((await f.app.inject({ url: "/metrics", headers: bearer(f.tokenFor.auditor) })).statusCode).toBe(
      200,
    );
    const identities = await f.app.inject({ url: "/api/identities", headers: bearer(f.tokenFor.monitor) });
    expect(identities.statusCode).toBe(403);
  });

  it("gives operations by system and state, queue depth and the oldest waiting operation from the store", async () => {
    const before = await scrape();
    const succeeded = sample(before, 'tenure_operations{system="app",state="succeeded"}');
    expect(succeeded).toBeGreaterThan(0);
    expect(sample(before, 'tenure_operations_queue_depth{system="app"}')).toBe(0);
    expect(sample(before, 'tenure_operations_oldest_waiting_seconds{system="app"}')).toBe(0);
    const deadBefore = sample(before, 'tenure_operations{system="app",state="dead"}') ?? 0;

    await makeDeadOperation(f);
    const after = await scrape();
    expect(sample(after, 'tenure_operations{system="app",state="dead"}')).toBe(deadBefore + 1);
    expect(sample(after, 'tenure_operations{system="app",state="succeeded"}')).toBe(succeeded);
  });

  it("counts HTTP requests by route pattern, never by URL, and the ledger, the source and process metrics", async () => {
    const [identity] = await identityRepository.list(f.store.db, {});
    await f.app.inject({ url: `/api/identities/${identity!.id}`, headers: bearer(f.tokenFor.auditor) });
    await f.app.inject({ url: "/api/nowhere", headers: bearer(f.tokenFor.auditor) });
    const text = await scrape();
    expect(
      sample(text, 'tenure_http_requests_total{method="GET",route="/api/identities/:ref",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(identity!.id);
    expect(sample(text, 'tenure_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(text).toMatch(
      /^tenure_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/identities\/:ref"\} \d+$/m,
    );
    expect(sample(text, "tenure_ledger_events")).toBeGreaterThan(10);
    // The fixture synced the CSV source `hr` at FIXTURE_NOW, four rows.
    expect(sample(text, 'tenure_source_last_sync_timestamp_seconds{source="hr"}')).toBe(
      Date.parse("2026-03-02T10:00:00Z") / 1000,
    );
    expect(sample(text, 'tenure_source_last_sync_rows{source="hr",outcome="read"}')).toBe(4);
    expect(text).toMatch(/^tenure_process_resident_memory_bytes \d+/m);
    // The engine's connector calls, measured in this process when the fixture applied its plan.
    expect(text).toMatch(
      /^tenure_operation_execute_seconds_count\{system="app",kind="create",outcome="succeeded"\} \d+/m,
    );
  });

  it("shows a leaver still holding an enabled account against the SLA", async () => {
    const before = await scrape();
    expect(sample(before, "tenure_terminated_with_enabled_accounts")).toBe(0);
    expect(sample(before, "tenure_leaver_sla_hours")).toBe(24);
    // Ada (E1) was terminated 30 hours ago and her `app` account is still enabled.
    const ada = (await identityRepository.list(f.store.db, {})).find((i) => i.sourceKey === "E1")!;
    const terminatedAt = new Date(f.clock.now.getTime() - 30 * 3_600_000).toISOString();
    await f.store.db.transaction().execute(async (trx) => {
      await sql`update identities set state = 'terminated' where id = ${ada.id}`.execute(trx);
      await appendEvents(trx, [
        {
          time: terminatedAt,
          actor: "test",
          action: "identity.state_changed",
          subject: ada.id,
          details: { from: "active", to: "terminated" },
        },
      ]);
    });
    // The leaver figures are cached for a minute: a new server would read them at once; move the clock.
    f.clock.now = new Date(f.clock.now.getTime() + 61_000);
    const after = await scrape();
    expect(sample(after, "tenure_terminated_with_enabled_accounts")).toBe(1);
    expect(sample(after, 'tenure_leavers{status="outstanding"}')).toBe(1);
    expect(sample(after, "tenure_leaver_oldest_outstanding_hours")).toBeCloseTo(30, 0);
  });

  it("names the failing dependency: a system that does not answer makes the answer 503", async () => {
    const ok = await f.app.inject({ url: "/api/health/dependencies", headers: bearer(f.tokenFor.monitor) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().dependencies.map((d: { name: string; status: string }) => [d.name, d.status])).toEqual([
      ["database", "ok"],
      ["migrations", "ok"],
      ["system:app", "ok"],
      // The fixture left a dead operation but no notification: the outbox is fine.
      ["outbox", "ok"],
    ]);

    const file = f.appDb.url.slice("sqlite:".length);
    await rename(file, `${file}.away`);
    try {
      const down = await f.app.inject({
        url: "/api/health/dependencies",
        headers: bearer(f.tokenFor.monitor),
      });
      expect(down.statusCode).toBe(503);
      expect(down.json().status).toBe("failing");
      const app = down.json().dependencies.find((d: { name: string }) => d.name === "system:app");
      expect(app.status).toBe("failing");
      expect(app.message).toMatch(/^app: /);
      expect(down.json().dependencies.find((d: { name: string }) => d.name === "database").status).toBe("ok");
    } finally {
      await rm(file, { force: true });
      await rename(`${file}.away`, file);
    }
  });
});
