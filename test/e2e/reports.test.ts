/**
 * The evidence reports in the console, in Chromium against a real API server (the api fixture,
 * listening) serving the built console. Grace has left and her account was disabled by the run; someone
 * enabled it again in the application behind Tenure's back and reconcile saw it. An auditor opens
 * Reports, picks "Terminated identities with an enabled account", reads the alert and the row, and
 * downloads the HTML file — self-contained, with the row in it. The leavers report for a period shows
 * Grace outstanding. A requester has no such page.
 */
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import BetterSqlite3 from "better-sqlite3";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSync } from "../../src/engine/run-sync.js";
import { type ApiFixture, apiFixture, bearer, FIXTURE_PEOPLE } from "../helpers/api-fixture.js";
import { browserMissing, launchBrowser } from "../helpers/browser.js";
import { storeFactories } from "../helpers/databases.js";
import { writeHrCsv } from "../helpers/workspace.js";
import { expectAccessible, screenshot, signedInPage } from "./console-page.js";
import { consoleMissing } from "./console-server.js";

const missing = browserMissing() ?? consoleMissing();

if (missing !== null && process.env.CI !== "true") {
  console.warn(`skipping the console's reports tests: ${missing}`);
  describe.skip(`reports in the console — ${missing}`, () => {
    it("skipped", () => {});
  });
} else {
  describe("reports in the console", () => {
    let f: ApiFixture;
    let url: string;
    let browser: Browser;

    beforeAll(async () => {
      expect(missing).toBeNull();
      const sqlite = (await storeFactories()).find(([kind]) => kind === "sqlite")![1];
      f = await apiFixture(sqlite);
      f.clock.now = new Date(f.clock.now.getTime() + 3_600_000);
      await writeHrCsv(
        f.dir,
        FIXTURE_PEOPLE.map((p) =>
          p.startsWith("E2,") ? p.replace(",active,2026-01-05,,", ",terminated,2026-01-05,,2026-03-02") : p,
        ),
      );
      await runSync(f.store, f.config, { now: f.clock.now, actor: "test" });
      const app = new BetterSqlite3(f.appDb.url.slice("sqlite:".length));
      app.exec("update app_users set active = 1 where login = 'grace.hopper'");
      app.close();
      const reconcile = await f.app.inject({
        method: "POST",
        url: "/api/reconcile",
        headers: bearer(f.tokenFor.admin),
        payload: {},
      });
      expect(reconcile.statusCode, reconcile.body).toBeLessThan(300);
      // The browser drops a session cookie that expired at the fixture's March clock: serve in the present.
      f.clock.now = new Date();
      await f.app.listen({ host: "127.0.0.1", port: 0 });
      url = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
      browser = await launchBrowser();
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      await f?.dispose();
    });

    it("an auditor reads a report's alert and rows, and downloads it as one HTML file", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.auditor);
      await p
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Reports", exact: true })
        .click();
      await p.getByRole("heading", { level: 1, name: "Reports" }).waitFor();
      await p.getByLabel("Report", { exact: true }).selectOption("terminated-enabled");
      // A report of the present asks for no period.
      expect(await p.getByLabel("From", { exact: true }).count()).toBe(0);
      await p.getByRole("button", { name: "Show" }).click();
      expect(p.url()).toContain("report=terminated-enabled");
      const alert = p.getByRole("alert");
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(
        /1 alert.*Grace Hopper \(E2\).*still has enabled account grace\.hopper in app/,
      );
      const rows = p
        .getByRole("table", { name: "Terminated identities with an enabled account" })
        .locator("tbody tr");
      expect(await rows.allTextContents()).toEqual([
        expect.stringMatching(/E2.*Grace Hopper.*app.*grace\.hopper/),
      ]);
      await expectAccessible(p, "the reports page");
      await screenshot(p, "reports-terminated-enabled");

      const [download] = await Promise.all([
        p.waitForEvent("download"),
        p.getByRole("link", { name: "HTML", exact: true }).click(),
      ]);
      expect(download.suggestedFilename()).toBe("terminated-enabled.html");
      const html = await readFile((await download.path())!, "utf8");
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain("grace.hopper");
      expect(html).not.toMatch(/<script|(src|href)=/);

      // A report of a period: the leavers from the start of the year, Grace outstanding.
      await p.getByLabel("Report", { exact: true }).selectOption("leavers");
      await p.getByLabel("From", { exact: true }).fill("2026-01-01");
      await p.getByRole("button", { name: "Show" }).click();
      await p.getByRole("heading", { level: 2, name: "Leavers and time to full deprovisioning" }).waitFor();
      const leavers = p
        .getByRole("table", { name: "Leavers and time to full deprovisioning" })
        .locator("tbody tr");
      expect(await leavers.allTextContents()).toEqual([
        expect.stringMatching(/E2.*Grace Hopper.*app.*outstanding/),
      ]);
      await expectAccessible(p, "the leavers report");
      await screenshot(p, "reports-leavers");
      await p.context().close();
    });

    it("an auditor asks who had an access on a date, and traces why from the ledger", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.auditor);
      await p
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Access history", exact: true })
        .click();
      await p.getByRole("heading", { level: 1, name: "Access history" }).waitFor();
      await p.getByLabel("System", { exact: true }).fill("app");
      await p.getByLabel("Entitlement (empty: any account)").fill("deployers");
      await p.getByLabel("On (date, end of day UTC; empty: now)").fill("2026-03-02");
      await p.getByRole("button", { name: "Who had it" }).click();
      const rows = p.getByRole("region", { name: "Who had the access" }).locator("tbody tr");
      await expect.poll(() => rows.count()).toBe(1);
      expect(await rows.first().textContent()).toMatch(/^ada\.lovelace.*deployers.*yes.*yes/);
      await rows.first().getByRole("button", { name: "Trace" }).click();
      await p.getByRole("heading", { level: 2, name: "Why Ada Lovelace held app:deployers" }).waitFor();
      const steps = await p.locator("ol.provenance > li").allTextContents();
      expect(steps.map((t) => t.split(":")[0])).toEqual(["hr-record", "rule", "role", "grant", "account"]);
      expect(steps[1]).toContain("department == 'Engineering'");
      await expectAccessible(p, "the access history page");
      await screenshot(p, "access-history");
      await p.context().close();
    });

    it("a requester has no reports page", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.requester);
      expect(
        await p
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: "Reports", exact: true })
          .count(),
      ).toBe(0);
      await p.goto(`${url}/reports`);
      await p.getByRole("heading", { level: 1, name: "Not available" }).waitFor();
      await p.context().close();
    });
  });
}
