import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { runSync } from "../../src/engine/run-sync.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { runEvidenceAlerts } from "../../src/workflows/evidence-alerts.js";
import { writeEvidencePack } from "../../src/workflows/evidence-pack.js";
import { parsePeriod } from "../../src/workflows/evidence-period.js";
import { runReport } from "../../src/workflows/report-registry.js";
import { renderReport } from "../../src/workflows/report-render.js";
import type { Report } from "../../src/workflows/report-types.js";
import { startCampaign } from "../../src/workflows/review-generation.js";
import { type ApiFixture, apiFixture, bearer, FIXTURE_PEOPLE } from "../helpers/api-fixture.js";
import { storeFactories } from "../helpers/databases.js";
import { writeHrCsv } from "../helpers/workspace.js";

/**
 * The evidence reports over a real lifecycle: people synced into an SQLite application, a leaver
 * deprovisioned at once, a leaver whose system refused the disable for 30 hours (SLA breached), an
 * account someone enabled again in the application behind Tenure's back, and an account nobody owns.
 */
const HOUR = 3_600_000;
const T0 = new Date("2026-03-02T10:00:00Z");

describe.each(await storeFactories())("evidence reports on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  let app: BetterSqlite3.Database;
  const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);

  async function sync(hours: number): Promise<void> {
    f.clock.now = at(hours);
    await runSync(f.store, f.config, { now: f.clock.now, actor: "test" });
  }
  async function reconcile(hours: number): Promise<void> {
    f.clock.now = at(hours);
    const res = await f.app.inject({
      method: "POST",
      url: "/api/reconcile",
      headers: bearer(f.tokenFor.admin),
      payload: {},
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
  }
  const report = (name: string, from?: Date, to?: Date): Promise<Report> =>
    runReport(f.store, f.config, name, {
      now: f.clock.now,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });

  beforeAll(async () => {
    f = await apiFixture(makeStore, {
      moreYaml:
        "reviews:\n  campaigns:\n    all-access: { reviewer: manager, durationDays: 14 }\n" +
        'notify:\n  webhooks:\n    ops: { url: "http://127.0.0.1:9/hook" }\n  routes:\n    report.alert:\n      - webhook: ops\n',
    });
    app = new BetterSqlite3(f.appDb.url.slice("sqlite:".length));
    // Grace leaves at +1 h: the application disables her account in the same run.
    const people = FIXTURE_PEOPLE.map((p) =>
      p.startsWith("E2,") ? p.replace(",active,2026-01-05,,", ",terminated,2026-01-05,,2026-03-02") : p,
    );
    await writeHrCsv(f.dir, people);
    await sync(1);
    // Cy leaves at +2 h while the application refuses writes; the disable lands at +32 h.
    app.exec(
      "create trigger refuse before update on app_users begin select raise(abort, 'maintenance'); end",
    );
    await writeHrCsv(
      f.dir,
      people.map((p) =>
        p.startsWith("E4,") ? p.replace(",active,", ",terminated,").replace(/,$/, ",2026-03-02") : p,
      ),
    );
    await sync(2);
    app.exec("drop trigger refuse");
    await sync(32);
    // Someone enables Grace's account again in the application, and adds an account nobody owns.
    app.exec("update app_users set active = 1 where login = 'grace.hopper'");
    app.exec("insert into app_users (login, mail, active) values ('backdoor', 'x@example.test', 1)");
    await reconcile(33);
  }, 120_000);
  afterAll(async () => {
    app?.close();
    await f?.dispose();
  });

  it("the leavers report measures each leaver's deprovisioning from the ledger, against the SLA", async () => {
    const r = await report("leavers", at(-24), at(48));
    const disabledAt = new Map(
      (await queryEvents(f.store.db, { action: "operation.succeeded", limit: 10_000 }))
        .filter((e) => e.details.kind === "disable")
        .map((e) => [e.details.username, e.time]),
    );
    expect(disabledAt.get("grace.hopper")! < at(2).toISOString()).toBe(true);
    const byName = new Map(r.rows.map((row) => [row.name, row]));
    expect(r.rows.map((row) => row.employeeId).sort()).toEqual(["E2", "E4"]);
    // Disabled within the hour, then enabled again in the application: outstanding, whatever the ledger said.
    const grace = byName.get("Grace Hopper")!;
    expect(grace).toMatchObject({ system: "app", deprovisionedAt: null, status: "outstanding" });
    expect(grace.hours).toBe(32);
    const cy = byName.get("Cy Contract")!;
    expect(cy).toMatchObject({ system: "app", how: "disable", status: "SLA breached" });
    expect(cy.hours).toBeGreaterThanOrEqual(30);
    expect(cy.hours).toBeLessThan(31);
    expect(r.summary).toMatchObject({
      leavers: 2,
      fullyDeprovisioned: 1,
      outstanding: 1,
      slaBreached: 1,
      slaHours: 24,
    });
    expect(r.alerts).toEqual([expect.stringContaining("Grace Hopper (E2) left")]);
    expect(r.summary.maxHours).toBe(cy.hours);
    expect(String(r.summary.worst)).toMatch(/^E4: 30/);
    // The period bounds the terminations counted.
    expect((await report("leavers", at(1.5), at(48))).rows.map((row) => row.employeeId)).toEqual(["E4"]);
    expect((await report("leavers", at(40), at(48))).rows).toEqual([]);
  });

  it("reports an account enabled again after it was disabled as outstanding, and alerts", async () => {
    const r = await report("terminated-enabled");
    expect(r.rows).toEqual([
      expect.objectContaining({ employeeId: "E2", system: "app", username: "grace.hopper" }),
    ]);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]).toContain("Grace Hopper");
  });

  it("lists the account nobody owns", async () => {
    const r = await report("orphan-accounts");
    expect(r.rows).toEqual([expect.objectContaining({ system: "app", username: "backdoor", enabled: true })]);
  });

  it("lists the access changes the target confirmed in the period, in ledger order", async () => {
    const r = await report("access-changes", at(-1), at(40));
    const disables = r.rows.filter((row) => row.change === "disable");
    expect(disables.map((row) => row.employeeId)).toEqual(["E2", "E4"]);
    const seqs = r.rows.map((row) => Number(row.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // Every row is a confirmed operation or a decision recorded in the ledger.
    const recorded = await queryEvents(f.store.db, { since: at(-1).toISOString(), limit: 100_000 });
    const bySeq = new Map(recorded.map((e) => [e.seq, e]));
    for (const row of r.rows) expect(bySeq.get(Number(row.seq))?.time).toBe(row.time);
  });

  it("escapes every value in the HTML file, which loads nothing from outside", async () => {
    const r = await report("orphan-accounts");
    const html = renderReport(
      { ...r, rows: [...r.rows, { system: "<script>alert(1)</script>", username: "a&b" }] },
      "html",
    );
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("a&amp;b");
    expect(html).not.toMatch(/(src|href)=/);
  });

  it("serves reports to auditors over the API as JSON, CSV and HTML, and refuses a requester", async () => {
    const json = await f.app.inject({
      method: "GET",
      url: `/api/reports/leavers?from=${at(-24).toISOString()}&to=${at(48).toISOString()}`,
      headers: bearer(f.tokenFor.auditor),
    });
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json().summary.slaBreached).toBe(1);
    const csv = await f.app.inject({
      method: "GET",
      url: "/api/reports/orphan-accounts?format=csv",
      headers: bearer(f.tokenFor.auditor),
    });
    expect(csv.headers["content-type"]).toContain("text/csv");
    expect(csv.body.split("\n")[0]).toBe("system,username,enabled,entitlements,lastSeenAt,lastUsedAt");
    expect(csv.body).toContain("app,backdoor,true");
    const refused = await f.app.inject({
      method: "GET",
      url: "/api/reports/leavers",
      headers: bearer(f.tokenFor.requester),
    });
    expect(refused.statusCode).toBe(403);
    const backwards = await f.app.inject({
      method: "GET",
      url: `/api/reports/leavers?from=${at(48).toISOString()}&to=${at(-24).toISOString()}`,
      headers: bearer(f.tokenFor.auditor),
    });
    expect(backwards.statusCode).toBe(422);
    expect(backwards.json().error.message).toContain("is not before");
  });

  it("puts each campaign of the period in the evidence pack item by item, and the campaigns report", async () => {
    const started = await startCampaign(f.store.db, f.config, "all-access", {
      now: at(34),
      startedBy: "test",
      kind: "ad-hoc",
    });
    expect(started.items).toBeGreaterThan(0);
    const out = await mkdtemp(path.join(os.tmpdir(), "tenure-pack-"));
    try {
      const pack = await writeEvidencePack(f.store, f.config, {
        period: parsePeriod("2026-03"),
        out,
        now: at(35),
      });
      const reviews = pack.files.filter((x) => x.file.startsWith("reviews/"));
      expect(reviews.map((x) => x.file)).toEqual([
        `reviews/2026-03-03-all-access-${started.campaign!.id.slice(0, 8)}.csv`,
      ]);
      const csv = (await readFile(path.join(out, reviews[0]!.file), "utf8")).trim().split("\n");
      expect(csv[0]).toMatch(/^item,campaign,employeeId,holder,access,/);
      expect(csv).toHaveLength(started.items + 1);
      expect(csv.slice(1).every((line) => line.includes(",all-access,"))).toBe(true);
      const campaigns = pack.files.find((x) => x.file === "reports/campaigns.json")!;
      const report = JSON.parse(await readFile(path.join(out, campaigns.file), "utf8"));
      expect(report.rows).toEqual([
        expect.objectContaining({ definition: "all-access", itemsAtStart: started.items }),
      ]);
      // The configuration the runs used is in the pack, by its hash.
      expect(pack.configurations).toHaveLength(1);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("alerts once per leaver's enabled account and per leaver past the SLA, not at every run", async () => {
    const first = await runEvidenceAlerts(f.store, f.config, { now: at(36) });
    expect(first.found).toBe(2);
    const queued = await notificationRepository.list(f.store.db, { event: "report.alert" });
    expect(queued.map((n) => n.dedupeKey.split("|")[0]).sort()).toEqual([
      expect.stringMatching(/^report\.alert:leavers:E2:.*:app$/),
      "report.alert:terminated-enabled:app/grace.hopper",
    ]);
    expect(JSON.stringify(queued)).toContain("Grace Hopper (E2)");
    await runEvidenceAlerts(f.store, f.config, { now: at(37) });
    expect(await notificationRepository.list(f.store.db, { event: "report.alert" })).toHaveLength(2);
  });
});
