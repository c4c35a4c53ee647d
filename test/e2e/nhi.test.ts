/**
 * Non-human identities in the console, in Chromium against a real API server (the api fixture,
 * listening) serving the built console: an auditor sees three declared NHIs, those with findings first
 * (no owner, a disallowed scope, an old credential), keeps only those with a finding through the URL,
 * and the page passes axe-core. A requester has no such page.
 */
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncNhiInventory } from "../../src/workflows/nhi-inventory.js";
import { type ApiFixture, apiFixture } from "../helpers/api-fixture.js";
import { browserMissing, launchBrowser } from "../helpers/browser.js";
import { storeFactories } from "../helpers/databases.js";
import { expectAccessible, screenshot, signedInPage } from "./console-page.js";
import { consoleMissing } from "./console-server.js";

const missing = browserMissing() ?? consoleMissing();
// The console runs on the real clock (its session cookie must not be expired to the browser), so the
// credential dates are relative to today: one clean, one far past its age, the others recent.
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const MORE = `nhi:
  policy:
    maxCredentialAge: { api_key: 90d }
    allowedScopes: { oauth_app: [read:user] }
  inventory:
    - { name: deploy-key, type: api_key, owner: E1, created: ${daysAgo(400)}, purpose: deploys the app }
    - { name: ci-app, type: oauth_app, owner: E1, created: ${daysAgo(30)}, scopes: [read:user, admin:org] }
    - { name: backup-cert, type: certificate, owner: E1, created: ${daysAgo(20)}, purpose: TLS of the backup service }
    - { name: stray-token, type: api_key, created: ${daysAgo(10)} }
`;

if (missing !== null && process.env.CI !== "true") {
  console.warn(`skipping the console's NHI tests: ${missing}`);
  describe.skip(`non-human identities in the console — ${missing}`, () => {
    it("skipped", () => {});
  });
} else {
  describe("non-human identities in the console", () => {
    let f: ApiFixture;
    let url: string;
    let browser: Browser;

    beforeAll(async () => {
      expect(missing).toBeNull();
      const sqlite = (await storeFactories()).find(([kind]) => kind === "sqlite")![1];
      f = await apiFixture(sqlite, { moreYaml: MORE });
      await syncNhiInventory(f.store, f.config, { now: f.clock.now, actor: "test" });
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

    it("an auditor sees the NHIs with findings first, and keeps only those", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.auditor);
      await p
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Non-human identities", exact: true })
        .click();
      await p.getByRole("heading", { level: 1, name: "Non-human identities" }).waitFor();
      const rows = p.getByRole("region", { name: "Non-human identities" }).locator("tbody tr");
      await expect.poll(() => rows.count()).toBe(4);
      const text = await rows.allTextContents();
      // High findings first (no owner, disallowed scope, a credential far past its age), the clean one last.
      expect(text.at(-1)).toMatch(/^backup-cert.*none$/);
      expect(text.find((t) => t.startsWith("stray-token"))).toMatch(/high: stray-token: no owner/);
      expect(text.find((t) => t.startsWith("ci-app"))).toMatch(/scope admin:org is not allowed/);
      expect(text.find((t) => t.startsWith("deploy-key"))).toMatch(/credential is \d+ days old/);
      await expectAccessible(p, "the NHI page");
      await screenshot(p, "nhi");
      await p.getByLabel("Only those with a finding").check();
      await expect.poll(() => rows.count()).toBe(3);
      expect(p.url()).toContain("findings=only");
      await p.context().close();
    });

    it("a requester has no NHI page", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.requester);
      await p.goto(`${url}/nhi`);
      await p.getByRole("heading", { level: 1, name: "Not available" }).waitFor();
      await p.context().close();
    });
  });
}
