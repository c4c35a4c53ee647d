/**
 * The console's plan page, in Chromium against a real API server (the api fixture, listening) serving the
 * built console: an auditor previews a future date and sees, in its own section, the non-human identities
 * owner succession would disable by then (issue 17) — none today, Ada's key once she has left with nobody
 * to pass it to, with what becomes of its credential — and the page passes axe-core.
 */
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityRepository } from "../../src/store/identity-repository.js";
import { syncNhiInventory } from "../../src/workflows/nhi-inventory.js";
import { type ApiFixture, apiFixture } from "../helpers/api-fixture.js";
import { browserMissing, launchBrowser } from "../helpers/browser.js";
import { storeFactories } from "../helpers/databases.js";
import { expectAccessible, screenshot, signedInPage } from "./console-page.js";
import { consoleMissing } from "./console-server.js";

const missing = browserMissing() ?? consoleMissing();
// The console runs on the real clock (its session cookie must not expire to the browser): dates from today.
const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const LEAVES = inDays(10);
const MORE = `nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
    - { name: ada-key, type: api_key, owner: E1, purpose: deploys }
    - { name: grace-key, type: api_key, owner: E2 }
`;

if (missing !== null && process.env.CI !== "true") {
  console.warn(`skipping the console's plan tests: ${missing}`);
  describe.skip(`the plan page — ${missing}`, () => {
    it("skipped", () => {});
  });
} else {
  describe("the plan page", () => {
    let f: ApiFixture;
    let url: string;
    let browser: Browser;

    beforeAll(async () => {
      expect(missing).toBeNull();
      const sqlite = (await storeFactories()).find(([kind]) => kind === "sqlite")![1];
      f = await apiFixture(sqlite, { moreYaml: MORE });
      await syncNhiInventory(f.store, f.config, { now: f.clock.now, actor: "test" });
      // Ada (E1, nobody's report) has an end date ten days from now: her key has nobody to pass to.
      const ada = (await identityRepository.resolve(f.store.db, "E1"))!;
      await identityRepository.upsertMany(f.store.db, [
        { ...ada, attributes: { ...ada.attributes, endDate: LEAVES } },
      ]);
      f.clock.now = new Date();
      await f.app.listen({ host: "127.0.0.1", port: 0 });
      url = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
      browser = await launchBrowser();
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      await f?.dispose();
    });

    it("shows the NHIs owner succession would disable by the date previewed, in their own section", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.auditor);
      await p.goto(`${url}/plan`);
      await p.getByRole("heading", { level: 1, name: "Plan" }).waitFor();
      const section = p.getByRole("region", { name: /^Non-human identities that would be disabled/ });
      await section.getByText("None: no owner leaves and no pending ownership lapses by then.").waitFor();

      const by = inDays(20);
      await p.getByLabel("Preview at").fill(by);
      await p.getByRole("button", { name: "Show plan" }).click();
      await p
        .getByRole("heading", { level: 2, name: `Non-human identities that would be disabled by ${by}` })
        .waitFor();
      const rows = p
        .getByRole("region", { name: "Non-human identities that would be disabled" })
        .locator("tbody tr");
      await expect.poll(() => rows.count()).toBe(1);
      const text = (await rows.first().textContent()) ?? "";
      expect(text).toContain("ada-key");
      expect(text).toContain(`the owner E1 left on ${LEAVES} and there is nobody to pass ownership to`);
      expect(text).toContain("cannot be disabled by Tenure");
      expect(text).not.toContain("grace-key");
      await expectAccessible(p, "the plan page with NHI disables");
      await screenshot(p, "plan-nhi");
      await p.context().close();
    });
  });
}
