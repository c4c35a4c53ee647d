/**
 * Non-human identities in the console, in Chromium against a real API server (the api fixture,
 * listening) serving the built console: an auditor sees three declared NHIs, those with findings first
 * (no owner, a disallowed scope, an old credential), keeps only those with a finding through the URL,
 * and the page passes axe-core. A requester has no such page. The buttons follow permissions: an
 * auditor has none; the person ownership passes to confirms it; an admin assigns an owner (a refusal shown
 * in the dialog, nothing changed) and rotates a real MariaDB login's password (the new secret, from the
 * sink, logs in; the old one no longer does). A requester (no nhi:read) to whom ownership is passing sees
 * only that NHI, and confirms it; a monitor has no NHI page.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import path from "node:path";
import mysql from "mysql2/promise";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityRepository } from "../../src/store/identity-repository.js";
import { nhiRepository } from "../../src/store/nhi-repository.js";
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
// A real MariaDB login for the Rotate button: created here, dropped after.
const MARIADB = process.env.TENURE_TEST_MARIADB ?? "mysql://root@127.0.0.1:3306";
const DB_USER = `n${randomBytes(4).toString("hex")}_e2e`;
const SYSTEMS = `  appdb:
    connector: mariadb
    config:
      url: "${MARIADB}"
      passwordSink: { file: ./connector-passwords.jsonl }
`;
async function mariadb(text: string, values: unknown[] = []): Promise<void> {
  const c = await mysql.createConnection({ uri: MARIADB, connectTimeout: 3000 });
  try {
    await c.query(text, values);
  } finally {
    await c.end();
  }
}
async function logsIn(password: string): Promise<boolean> {
  const at = new URL(MARIADB);
  try {
    const c = await mysql.createConnection({
      host: at.hostname,
      port: at.port === "" ? 3306 : Number(at.port),
      user: DB_USER,
      password,
      connectTimeout: 3000,
    });
    await c.end();
    return true;
  } catch (err) {
    if ((err as { errno?: unknown }).errno === 1045) return false;
    throw err;
  }
}
const MORE = `nhi:
  rotation:
    sink: { file: ./nhi-secrets.jsonl }
  policy:
    maxCredentialAge: { api_key: 90d }
    allowedScopes: { oauth_app: [read:user] }
  inventory:
    - { name: deploy-key, type: api_key, system: app, owner: E1, created: ${daysAgo(400)}, purpose: deploys the app }
    - { name: ci-app, type: oauth_app, owner: E1, created: ${daysAgo(30)}, lastUsed: ${daysAgo(2)}, scopes: [read:user, admin:org] }
    - { name: backup-cert, type: certificate, owner: E1, created: ${daysAgo(20)}, purpose: TLS of the backup service }
    - { name: stray-token, type: api_key, created: ${daysAgo(10)} }
    - { name: ${DB_USER}, type: service_account, system: appdb, owner: E1, created: ${daysAgo(10)} }
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
    let graceReviewer = "";
    let kimRequester = "";

    beforeAll(async () => {
      expect(missing).toBeNull();
      const sqlite = (await storeFactories()).find(([kind]) => kind === "sqlite")![1];
      await mariadb("CREATE USER ?@'%' IDENTIFIED BY ?", [DB_USER, "old-secret-e2e"]);
      f = await apiFixture(sqlite, { moreYaml: MORE, moreSystems: SYSTEMS });
      await syncNhiInventory(f.store, f.config, { now: f.clock.now, actor: "test" });
      // Ownership of ci-app is passing to Grace (E2), who reviews: the state succession would leave.
      const grace = (await identityRepository.resolve(f.store.db, "E2"))!;
      const ci = (await nhiRepository.findByName(f.store.db, "ci-app"))!;
      const deadline = new Date(Date.now() + 7 * 86_400_000).toISOString();
      await nhiRepository.update(f.store.db, {
        ...ci,
        pendingOwnerId: grace.id,
        pendingSince: new Date().toISOString(),
        pendingDeadline: deadline,
        version: ci.version + 1,
      });
      // Ownership of backup-cert is passing to Kim (E3), a requester: no nhi:read, only her own NHIs.
      const kim = (await identityRepository.resolve(f.store.db, "E3"))!;
      const cert = (await nhiRepository.findByName(f.store.db, "backup-cert"))!;
      await nhiRepository.update(f.store.db, {
        ...cert,
        pendingOwnerId: kim.id,
        pendingSince: new Date().toISOString(),
        pendingDeadline: deadline,
        version: cert.version + 1,
      });
      kimRequester = (
        await f.tokens.create({
          name: "kim-requester",
          role: "requester",
          expiresAt: null,
          actor: "test",
          identity: "E3",
        })
      ).token;
      graceReviewer = (
        await f.tokens.create({
          name: "grace-reviewer",
          role: "reviewer",
          expiresAt: null,
          actor: "test",
          identity: "E2",
        })
      ).token;
      // The browser drops a session cookie that expired at the fixture's March clock: serve in the present.
      f.clock.now = new Date();
      await f.app.listen({ host: "127.0.0.1", port: 0 });
      url = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
      browser = await launchBrowser();
    }, 120_000);
    afterAll(async () => {
      await mariadb(`DROP USER IF EXISTS ?@'%'`, [DB_USER]).catch(() => {});
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
      await expect.poll(() => rows.count()).toBe(5);
      const text = await rows.allTextContents();
      // High findings first (no owner, disallowed scope, a credential far past its age), the clean one last.
      // The clean ones last, by name: backup-cert, then the database login (n…).
      expect(text.at(-2)).toMatch(/^backup-cert.*none$/);
      expect(text.at(-1)).toMatch(new RegExp(`^${DB_USER}.*none$`));
      expect(text.find((t) => t.startsWith("stray-token"))).toMatch(/high: stray-token: no owner/);
      expect(text.find((t) => t.startsWith("ci-app"))).toMatch(/scope admin:org is not allowed/);
      expect(text.find((t) => t.startsWith("deploy-key"))).toMatch(/credential is \d+ days old/);
      await expectAccessible(p, "the NHI page");
      await screenshot(p, "nhi");
      // An auditor reads: no button to confirm, rotate or assign.
      expect(
        await p.getByRole("button", { name: /^(Rotate|Assign an owner|Confirm ownership)/ }).count(),
      ).toBe(0);
      // The box follows the URL (?findings=only), which the router updates in a transition; the page
      // shows the new value at once (url-params.ts), so check() finds the box ticked right after its click.
      const onlyFindings = p.getByLabel("Only those with a finding");
      await onlyFindings.check();
      await expect.poll(() => rows.count()).toBe(3);
      expect(await rows.allTextContents()).not.toContainEqual(
        expect.stringMatching(new RegExp(`^${DB_USER}`)),
      );
      expect(p.url()).toContain("findings=only");
      await p.context().close();
    });

    it("the person ownership passes to confirms it; nobody else sees the button", async () => {
      const p = await signedInPage(browser, url, graceReviewer);
      await p.goto(`${url}/nhi`);
      await p.getByRole("heading", { level: 1, name: "Non-human identities" }).waitFor();
      // Only ci-app passes to Grace; a reviewer neither rotates nor assigns.
      // The heading shows before the inventory arrives: wait for the list, then count.
      await expect.poll(() => p.getByRole("button", { name: /^Confirm ownership of/ }).count()).toBe(1);
      expect(await p.getByRole("button", { name: /^(Rotate|Assign an owner)/ }).count()).toBe(0);
      await p.getByRole("button", { name: "Confirm ownership of ci-app" }).click();
      const dialog = p.getByRole("dialog", { name: "Take ownership of ci-app?" });
      await expectAccessible(p, "the confirm-ownership dialog");
      await dialog.getByRole("button", { name: "Confirm ownership" }).click();
      await p.getByRole("status").getByText("You now own ci-app.").waitFor();
      const row = p
        .getByRole("region", { name: "Non-human identities" })
        .locator("tbody tr", { hasText: "ci-app" });
      await expect.poll(() => row.textContent()).toMatch(/ci-app.*E2.*active/);
      expect(await p.getByRole("button", { name: /^Confirm ownership of/ }).count()).toBe(0);
      expect((await nhiRepository.findByName(f.store.db, "ci-app"))?.pendingOwnerId).toBeNull();
      await p.context().close();
    });

    it("an admin assigns an owner (a refusal changes nothing) and rotates a real database login", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.admin);
      await p.goto(`${url}/nhi`);
      await p.getByRole("heading", { level: 1, name: "Non-human identities" }).waitFor();
      const rows = p.getByRole("region", { name: "Non-human identities" }).locator("tbody tr");
      await p.getByRole("button", { name: "Assign an owner to stray-token" }).click();
      const dialog = p.getByRole("dialog", { name: "Assign an owner to stray-token" });
      await dialog.getByLabel("Owner (HR key, email or id)").fill("E99");
      await dialog.getByRole("button", { name: "Assign owner" }).click();
      await dialog
        .getByRole("alert")
        .getByText(/owner E99 is not an identity Tenure knows/)
        .waitFor();
      expect((await nhiRepository.findByName(f.store.db, "stray-token"))?.ownerId).toBeNull();
      await expectAccessible(p, "the assign-owner dialog");
      await dialog.getByLabel("Owner (HR key, email or id)").fill("grace@example.test");
      await dialog.getByLabel("Co-owners (comma-separated, optional)").fill("E1");
      await dialog.getByRole("button", { name: "Assign owner" }).click();
      await p.getByRole("status").getByText("E2 now owns stray-token.").waitFor();
      const stray = rows.filter({ hasText: "stray-token" });
      await expect.poll(() => stray.textContent()).toMatch(/stray-token.*E2assigned \d{4}-\d{2}-\d{2}.*none/);
      expect(await nhiRepository.findByName(f.store.db, "stray-token")).toMatchObject({
        ownerAssignment: { coOwnerKeys: ["E1"] },
      });

      // Rotate is offered where the NHI names a system: a real MariaDB login's password is changed.
      expect(await p.getByRole("button", { name: "Rotate stray-token" }).count()).toBe(0);
      await p.getByRole("button", { name: `Rotate ${DB_USER}` }).click();
      const rotate = p.getByRole("dialog", { name: `Rotate the credential of ${DB_USER}?` });
      await rotate.getByRole("button", { name: "Rotate now" }).click();
      await p
        .getByRole("status")
        .getByText(new RegExp(`^${DB_USER} rotated \\(rotation `))
        .waitFor();
      const lines = (await readFile(path.join(f.dir, "nhi-secrets.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { secret?: string });
      const secret = lines.find((l) => l.secret !== undefined)!.secret!;
      expect(await logsIn(secret)).toBe(true);
      expect(await logsIn("old-secret-e2e")).toBe(false);
      // Where the connector cannot rotate, the server's refusal is shown in the dialog.
      await p.getByRole("button", { name: "Rotate deploy-key" }).click();
      const refused = p.getByRole("dialog", { name: "Rotate the credential of deploy-key?" });
      await refused.getByRole("button", { name: "Rotate now" }).click();
      await refused.getByRole("alert").waitFor();
      await refused.getByRole("button", { name: "Cancel" }).click();
      await p.context().close();
    });

    it("a requester ownership passes to sees only that NHI, and confirms it", async () => {
      const p = await signedInPage(browser, url, kimRequester);
      await p
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Non-human identities", exact: true })
        .click();
      await p.getByRole("heading", { level: 1, name: "Your non-human identities" }).waitFor();
      const rows = p.getByRole("region", { name: "Non-human identities" }).locator("tbody tr");
      await expect.poll(() => rows.count()).toBe(1);
      expect(await rows.first().textContent()).toMatch(/^backup-cert.*passing to E3.*pending/);
      expect(await p.getByRole("button", { name: /^(Rotate|Assign an owner)/ }).count()).toBe(0);
      await expectAccessible(p, "the NHI page of an owner");
      await p.getByRole("button", { name: "Confirm ownership of backup-cert" }).click();
      const dialog = p.getByRole("dialog", { name: "Take ownership of backup-cert?" });
      await dialog.getByRole("button", { name: "Confirm ownership" }).click();
      await p.getByRole("status").getByText("You now own backup-cert.").waitFor();
      // Hers now: still listed, as its owner, with nothing left to confirm.
      await expect.poll(() => rows.first().textContent()).toMatch(/^backup-cert.*E3.*active/);
      expect(await p.getByRole("button", { name: /^Confirm ownership of/ }).count()).toBe(0);
      expect((await nhiRepository.findByName(f.store.db, "backup-cert"))?.pendingOwnerId).toBeNull();
      await p.context().close();
    });

    it("a requester of nobody owns none, and a monitor has no NHI page", async () => {
      const p = await signedInPage(browser, url, f.tokenFor.requester);
      await p.goto(`${url}/nhi`);
      await p.getByRole("heading", { level: 1, name: "Your non-human identities" }).waitFor();
      await p.getByText("You own no non-human identity, and none is passing to you.").waitFor();
      await p.context().close();
      const m = await signedInPage(browser, url, f.tokenFor.monitor);
      await m.goto(`${url}/nhi`);
      await m.getByRole("heading", { level: 1, name: "Not available" }).waitFor();
      await m.context().close();
    });
  });
}
