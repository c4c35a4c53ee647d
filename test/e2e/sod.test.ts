import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { sodExceptionRepository, sodViolationRepository } from "../../src/store/sod-repository.js";
import { type ApiFixture, apiFixture } from "../helpers/api-fixture.js";
import { browserMissing, launchBrowser } from "../helpers/browser.js";
import { storeFactories } from "../helpers/databases.js";
import { expectAccessible, screenshot, settled, signedInPage } from "./console-page.js";
import { consoleMissing } from "./console-server.js";

const missing = browserMissing() ?? consoleMissing();

const MONTHLY = "Monthly review of deployments by the release owner";
// Indented two spaces first: a role added to the fixture's roles. A rule may not pair two entitlements
// one role holds by itself (the fixture's engineer holds readers and deployers), hence a role on side B.
const SOD_YAML = `  change-reviewer:
    description: Signs off changes before they are released
    when: "title == 'SRE' || employmentType == 'contractor'"
    grants: [{ system: app, entitlements: [readers] }]
sod:
  rules:
    deploy-review:
      description: Can deploy the application and sign off its changes
      severity: high
      owner: grace@example.test
      sideA: { entitlements: ["app:deployers"] }
      sideB: { roles: [change-reviewer] }
      mitigations:
        - control: ${MONTHLY}
          owner: grace@example.test
        - control: A second person confirms each production deploy
    engineers-review:
      description: Engineers review what they build
      severity: low
      scope: "department == 'Engineering'"
      sideA: { roles: [engineer] }
      sideB: { roles: [change-reviewer] }
`;

if (missing !== null && process.env.CI !== "true") {
  console.warn(`skipping the console's separation-of-duties tests: ${missing}`);
  describe.skip(`separation of duties in the console — ${missing}`, () => {
    it("skipped", () => {});
  });
} else {
  describe("separation of duties in the console", () => {
    let f: ApiFixture;
    let url: string;
    let browser: Browser;
    const ids = { ada: "", cy: "", grace: "" };
    const tokens = { grace: "", ada: "" };

    beforeAll(async () => {
      expect(missing).toBeNull();
      const sqlite = (await storeFactories()).find(([kind]) => kind === "sqlite")![1];
      f = await apiFixture(sqlite, { moreYaml: SOD_YAML });
      // The fixture's clock is in March; the browser drops a session cookie that expired then.
      f.clock.now = new Date();
      for (const [name, email] of [
        ["ada", "ada@example.test"],
        ["cy", "cy@example.test"],
        ["grace", "grace@example.test"],
      ] as const) {
        ids[name] = (await identityRepository.resolve(f.store.db, email))!.id;
      }
      // Cy (a contractor: change-reviewer by birthright) is given deployers by an admin: the scan finds it.
      await assignmentRepository.insert(
        f.store.db,
        {
          id: "cy-deployers",
          identityId: ids.cy,
          target: { system: "app", entitlement: "deployers" },
          employment: 1,
          validFrom: new Date(f.clock.now.getTime() - 3_600_000).toISOString(),
          validUntil: null,
          reason: "release cover",
          approvedBy: "admin",
          revokedAt: null,
        },
        f.clock.now.toISOString(),
      );
      const reviewer = async (name: string, identity: string) =>
        (await f.tokens.create({ name, role: "reviewer", identity, expiresAt: null, actor: "test" })).token;
      tokens.grace = await reviewer("e2e-grace", "grace@example.test");
      tokens.ada = await reviewer("e2e-ada", "ada@example.test");
      await f.app.listen({ host: "127.0.0.1", port: 0 });
      url = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
      browser = await launchBrowser();
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      await f?.dispose();
    });

    const page = (token: string, width = 1280, height = 900): Promise<Page> =>
      signedInPage(browser, url, token, { width, height });

    async function openSod(p: Page): Promise<void> {
      await p
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Separation of duties", exact: true })
        .click();
      await p.getByRole("heading", { level: 1, name: "Separation of duties" }).waitFor();
      await settled(p);
    }

    /** Rows of the open-violations table, as text. */
    async function violationRows(p: Page): Promise<string[]> {
      const table = p.getByRole("region", { name: "Open violations, riskiest first" });
      return table.locator("tbody tr").allTextContents();
    }

    it("the admin scans; the rule's owner sees the violations riskiest first, opens one, reads both sides' reasons, accepts it with an exception and revokes it", async () => {
      // Before: the sync's scan found Ada's two; Cy's assignment is not scanned yet.
      const before = await sodViolationRepository.open(f.store.db);
      expect(before.map((v) => `${v.identityId}:${v.rule}`).sort()).toEqual(
        [`${ids.ada}:deploy-review`, `${ids.ada}:engineers-review`].sort(),
      );

      const admin = await page(f.tokenFor.admin);
      await openSod(admin);
      await admin.getByRole("button", { name: "Scan now" }).click();
      const scanned = admin.getByTestId("scan-outcome");
      await scanned.filter({ hasText: "Scanned" }).waitFor();
      expect(await scanned.textContent()).toContain("3 open violations (1 new, 0 closed)");
      await expect
        .poll(() => admin.getByTestId("trend-summary").textContent())
        .toMatch(/^3 open at the last scan: 2 high, 0 medium, 1 low/);
      await admin.getByRole("link", { name: "Cy Contract" }).waitFor();
      await admin.context().close();

      const p = await page(tokens.grace);
      await openSod(p);
      // A reviewer does not scan.
      expect(await p.getByRole("button", { name: "Scan now" }).count()).toBe(0);
      const rows = await violationRows(p);
      expect(rows).toHaveLength(3);
      // Riskiest first: both high ones, then the low one.
      expect(rows[0]).toMatch(/deploy-review.*high.*open.*app:deployers \+ role change-reviewer/);
      expect(rows[1]).toMatch(/deploy-review.*high.*open/);
      expect(rows[2]).toMatch(
        /Ada Lovelace.*engineers-review.*low.*open.*role engineer \+ role change-reviewer/,
      );
      expect(rows.slice(0, 2).some((r) => r.includes("Cy Contract"))).toBe(true);
      await expectAccessible(p, "the separation-of-duties page");
      await screenshot(p, "sod-violations");

      // Filters live in the URL: by severity, then by rule.
      await p.getByLabel("Severity", { exact: true }).selectOption("low");
      await expect.poll(() => violationRows(p)).toHaveLength(1);
      expect(p.url()).toContain("severity=low");
      expect((await violationRows(p))[0]).toContain("engineers-review");
      await p.getByLabel("Severity", { exact: true }).selectOption("");
      await p.getByLabel("Rule", { exact: true }).selectOption("deploy-review");
      await expect.poll(() => violationRows(p)).toHaveLength(2);
      expect(p.url()).toContain("rule=deploy-review");
      await p.getByLabel("Rule", { exact: true }).selectOption("");

      // The rules, with owner, conflict and open counts.
      await p.getByRole("link", { name: "Rules", exact: true }).click();
      const rules = p.getByRole("region", { name: "Separation-of-duties rules" });
      const rule = rules.getByRole("row", { name: /deploy-review/ });
      await rule.waitFor();
      const ruleText = (await rule.textContent()) ?? "";
      expect(ruleText).toContain("grace@example.test");
      expect(ruleText).toContain("app:deployers with role change-reviewer");
      expect(ruleText).toMatch(/tenure\.yaml:\d+/);
      expect(await rule.getByRole("link", { name: "2 open violations of deploy-review" }).count()).toBe(1);
      await expectAccessible(p, "the rules view");
      await p.getByRole("link", { name: "Violations", exact: true }).click();

      // Cy's violation: both sides, each with why it is held.
      await p.getByRole("link", { name: "Cy Contract" }).click();
      await p.getByRole("heading", { level: 1, name: "deploy-review: Cy Contract" }).waitFor();
      expect(await p.getByTestId("violation-status").textContent()).toBe("open");
      expect(await p.getByTestId("violation-risk").textContent()).toBe(
        "Can deploy the application and sign off its changes",
      );
      expect(await p.getByRole("link", { name: "Cy Contract" }).getAttribute("href")).toBe(
        `/identities/${ids.cy}`,
      );
      const sides = p.getByTestId("violation-side");
      expect(await sides.count()).toBe(2);
      const deployers = sides.filter({ has: p.getByRole("heading", { name: "app:deployers" }) });
      const reviewer = sides.filter({ has: p.getByRole("heading", { name: "role change-reviewer" }) });
      expect(await deployers.locator("li").allTextContents()).toEqual([
        "app:deployers by assignment cy-deployers (an administrator's)",
      ]);
      expect(await reviewer.locator("li").allTextContents()).toEqual([
        expect.stringMatching(
          /^birthright role change-reviewer \(title == 'SRE' \|\| employmentType == 'contractor' at tenure\.yaml:\d+\)$/,
        ),
      ]);
      expect(await p.getByRole("region", { name: "Exception" }).textContent()).toContain(
        "nobody has accepted",
      );
      await expectAccessible(p, "a violation's page");
      await screenshot(p, "sod-violation");

      // Accept it: the control comes from the rule's mitigations; justification and expiry are asked.
      await p.getByRole("button", { name: "Accept with exception" }).click();
      const dialog = p.getByRole("dialog", { name: "Accept this violation with an exception?" });
      await dialog.waitFor();
      expect(await dialog.getByLabel("Mitigating control").inputValue()).toBe(MONTHLY);
      expect(await dialog.textContent()).toContain("A second person confirms each production deploy");
      // Without a justification the server refuses, in its words, and nothing is stored.
      const expiry = new Date(Date.now() + 90 * 86_400_000);
      const day = `${expiry.getFullYear()}-${String(expiry.getMonth() + 1).padStart(2, "0")}-${String(expiry.getDate()).padStart(2, "0")}`;
      await dialog.getByLabel("Expires after (required)").fill(day);
      await dialog.getByRole("button", { name: "Accept with exception" }).click();
      await dialog.getByRole("alert").filter({ hasText: "a justification is required" }).waitFor();
      expect(await sodExceptionRepository.list(f.store.db, { now: new Date().toISOString() })).toEqual([]);
      await dialog
        .getByLabel("Justification (required)")
        .fill("Cy covers releases until the new hire starts");
      await expectAccessible(p, "the exception dialog");
      await screenshot(p, "sod-exception-dialog");
      await dialog.getByRole("button", { name: "Accept with exception" }).click();
      await p.getByTestId("violation-outcome").filter({ hasText: "Accepted until" }).waitFor();
      await expect.poll(() => p.getByTestId("violation-status").textContent()).toBe("excepted");
      const details = (await p.getByTestId("exception-details").textContent()) ?? "";
      expect(details).toContain("Grace Hopper");
      expect(details).toContain(MONTHLY);
      expect(details).toContain("Cy covers releases until the new hire starts");
      expect(await p.getByRole("button", { name: "Accept with exception" }).count()).toBe(0);
      expect(await p.getByRole("button", { name: "Revoke exception" }).count()).toBe(1);
      await expectAccessible(p, "an excepted violation's page");
      await screenshot(p, "sod-violation-excepted");

      const stored = await sodExceptionRepository.list(f.store.db, { now: new Date().toISOString() });
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        identityId: ids.cy,
        rule: "deploy-review",
        approvedBy: ids.grace,
        control: MONTHLY,
        justification: "Cy covers releases until the new hire starts",
        revokedAt: null,
      });
      // The expiry is the end of the chosen day in the browser's time zone (the test's, here).
      const until = new Date(stored[0]!.expiresAt);
      expect([until.getFullYear(), until.getMonth(), until.getDate(), until.getHours()]).toEqual([
        expiry.getFullYear(),
        expiry.getMonth(),
        expiry.getDate(),
        23,
      ]);

      // The list says so too, and the exceptions view has it with its approver, control and expiry.
      await p.getByRole("link", { name: "← Separation of duties" }).click();
      const cyRow = p
        .getByRole("region", { name: "Open violations, riskiest first" })
        .getByRole("row", { name: /Cy Contract/ });
      await cyRow.filter({ hasText: "excepted" }).waitFor();
      await p.getByRole("link", { name: "Exceptions", exact: true }).click();
      const exceptionRow = p
        .getByRole("region", { name: "Exceptions, newest first" })
        .getByRole("row", { name: /Cy Contract/ });
      await exceptionRow.waitFor();
      const exceptionText = (await exceptionRow.textContent()) ?? "";
      expect(exceptionText).toContain("in force");
      expect(exceptionText).toContain("Grace Hopper");
      expect(exceptionText).toContain(MONTHLY);
      await expectAccessible(p, "the exceptions view");

      // The CSV report, with the session's cookie, names the exception's approver.
      const csv = await p.context().request.get(`${url}/api/sod/reports/violations?format=csv`);
      expect(csv.status()).toBe(200);
      expect(await csv.text()).toMatch(/Cy Contract,deploy-review,high,excepted,.*Grace Hopper/);

      // Revoked from the violation's page: open again, and the store says who revoked it.
      await exceptionRow.getByRole("link", { name: "Cy Contract" }).click();
      await p.getByRole("button", { name: "Revoke exception" }).click();
      const revoke = p.getByRole("dialog", { name: "Revoke this exception?" });
      expect(await revoke.textContent()).toContain(MONTHLY);
      await expectAccessible(p, "the revoke dialog");
      await revoke.getByRole("button", { name: "Revoke exception" }).click();
      await p.getByTestId("violation-outcome").filter({ hasText: "open again" }).waitFor();
      await expect.poll(() => p.getByTestId("violation-status").textContent()).toBe("open");
      expect(await p.getByRole("button", { name: "Accept with exception" }).count()).toBe(1);
      const [revoked] = await sodExceptionRepository.list(f.store.db, { now: new Date().toISOString() });
      expect(revoked).toMatchObject({ id: stored[0]!.id, revokedBy: ids.grace });
      expect(revoked!.revokedAt).not.toBeNull();
      await p.context().close();
    });

    it("the holder, a reviewer too, is refused accepting their own violation; an auditor sees without buttons; a requester has no such page", async () => {
      const [own] = await sodViolationRepository.open(f.store.db, {
        identityIds: [ids.ada],
        rule: "deploy-review",
      });
      expect(own).toBeDefined();
      const p = await page(tokens.ada);
      await p.goto(`${url}/sod/violations/${own!.id}`);
      await p.getByRole("heading", { level: 1, name: "deploy-review: Ada Lovelace" }).waitFor();
      await p.getByRole("button", { name: "Accept with exception" }).click();
      const dialog = p.getByRole("dialog", { name: "Accept this violation with an exception?" });
      await dialog.getByLabel("Justification (required)").fill("I need both");
      const expiry = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
      await dialog.getByLabel("Expires after (required)").fill(expiry);
      await dialog.getByRole("button", { name: "Accept with exception" }).click();
      const refusal = dialog.getByRole("alert");
      await refusal.filter({ hasText: "nobody accepts their own violation" }).waitFor();
      expect(await refusal.textContent()).toContain("nothing was changed");
      await screenshot(p, "sod-own-refused");
      await dialog.getByRole("button", { name: "Cancel", exact: true }).click();
      expect(await p.getByTestId("violation-status").textContent()).toBe("open");
      const exceptions = await sodExceptionRepository.list(f.store.db, {
        now: new Date().toISOString(),
        identityId: ids.ada,
      });
      expect(exceptions).toEqual([]);
      await p.context().close();

      const auditor = await page(f.tokenFor.auditor);
      await openSod(auditor);
      expect(await violationRows(auditor)).toHaveLength(3);
      expect(await auditor.getByRole("button", { name: "Scan now" }).count()).toBe(0);
      await auditor.getByRole("link", { name: "Ada Lovelace" }).first().click();
      await auditor.getByRole("heading", { level: 1, name: /Ada Lovelace/ }).waitFor();
      await settled(auditor);
      expect(await auditor.getByRole("button", { name: "Accept with exception" }).count()).toBe(0);
      await auditor.context().close();

      const requester = await page(f.tokenFor.requester);
      expect(
        await requester
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: "Separation of duties" })
          .count(),
      ).toBe(0);
      await requester.goto(`${url}/sod`);
      await requester.getByRole("heading", { level: 1, name: "Not available" }).waitFor();
      await requester.context().close();
    });

    it("the pages are usable at phone width", async () => {
      const [one] = await sodViolationRepository.open(f.store.db, { identityIds: [ids.cy] });
      const p = await page(tokens.grace, 390, 844);
      for (const [where, heading] of [
        ["/sod", "Separation of duties"],
        [`/sod/violations/${one!.id}`, "deploy-review: Cy Contract"],
      ] as const) {
        await p.goto(`${url}${where}`);
        await p.getByRole("heading", { level: 1, name: heading }).waitFor();
        await settled(p);
        await expectAccessible(p, `${where} at 390 px`);
        const overflow = await p.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
        expect(overflow, where).toBeLessThanOrEqual(0);
      }
      await screenshot(p, "sod-violation-phone");
      await p.context().close();
    });
  });
}
