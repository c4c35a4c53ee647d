import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/domain/request-types.js";
import { accessRequestRepository } from "../../src/store/access-request-repository.js";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { openStore } from "../../src/store/database.js";
import { browserMissing, launchBrowser } from "../helpers/browser.js";
import { tempDir } from "../helpers/workspace.js";
import { expectAccessible, screenshot, settled, signedInPage } from "./console-page.js";
import { type ConsoleServer, consoleMissing, type Person, startConsoleServer } from "./console-server.js";

const missing = browserMissing() ?? consoleMissing();

if (missing !== null && process.env.CI !== "true") {
  console.warn(`skipping the console's request tests: ${missing}`);
  describe.skip(`requests in the console — ${missing}`, () => {
    it("skipped", () => {});
  });
} else {
  describe("requests, approvals and elevation in the console", () => {
    let server: ConsoleServer;
    let browser: Browser;
    let dispose: () => Promise<void>;
    /** An active engineer (prod-access is for Engineering) without standing production access. */
    let engineer: Person;
    let manager: Person;
    const tokens = { engineer: "", manager: "" };

    beforeAll(async () => {
      expect(missing).toBeNull();
      let dir: string;
      ({ dir, dispose } = await tempDir("tenure-e2e-requests-"));
      // Chromium starts while the demo is built (a process of its own).
      const launching = launchBrowser().then((b) => {
        browser = b;
      });
      server = await startConsoleServer(path.join(dir, "org"));
      const byKey = new Map(server.people.map((p) => [p.sourceKey, p]));
      // Not an SRE nor a head (their standing sre role already holds what prod-access grants), with an
      // active manager to approve.
      const found = server.people.find((p) => {
        const a = p.attributes;
        const title = String(a.title ?? "");
        return (
          a.department === "Engineering" &&
          a.employmentType === "employee" &&
          title !== "SRE" &&
          !title.startsWith("Head of") &&
          typeof a.managerId === "string" &&
          byKey.has(a.managerId)
        );
      });
      if (found === undefined) throw new Error("the demo has no active engineer with an active manager");
      engineer = found;
      manager = byKey.get(String(found.attributes.managerId))!;
      tokens.engineer = await server.tokenFor("e2e-engineer", "requester", engineer.sourceKey);
      tokens.manager = await server.tokenFor("e2e-manager", "requester", manager.email);
      await launching;
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      await dispose?.();
    });

    const page = (token: string, width = 1280, height = 900): Promise<Page> =>
      signedInPage(browser, server.url, token, { width, height });

    async function open(p: Page, link: string): Promise<void> {
      await p
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: link, exact: true })
        .click();
      await p.getByRole("heading", { level: 1, name: link }).waitFor();
      await settled(p);
    }

    /** The engineer's requests in the store, newest first. */
    async function storedRequests(): Promise<AccessRequest[]> {
      const store = await openStore(`sqlite:${path.join(server.dir, "tenure.db")}`);
      try {
        return await accessRequestRepository.list(store.db, { identityId: engineer.id, limit: 100 });
      } finally {
        await store.close();
      }
    }

    async function storedGrants(requestId: string) {
      const store = await openStore(`sqlite:${path.join(server.dir, "tenure.db")}`);
      try {
        return await assignmentRepository.list(store.db, { requestId });
      } finally {
        await store.close();
      }
    }

    const isWiki = (r: AccessRequest) => r.items.some((i) => i.kind === "entitlement" && i.system === "wiki");

    it("a request for wiki:editors waits for the manager, who approves it from the inbox; the request then shows its grant", async () => {
      const p = await page(tokens.engineer);
      // A requester has no dashboard: the first page says what the role can use.
      await p.getByRole("heading", { level: 1, name: /Welcome/ }).waitFor();
      for (const link of ["Requests", "Approvals", "Elevate"]) {
        expect(await p.getByRole("main").getByRole("link", { name: link }).count()).toBe(1);
      }
      await open(p, "Requests");
      await p.getByLabel("Access", { exact: true }).selectOption({ label: "wiki:editors" });
      // The policy of the item, before asking: its longest window and who approves.
      await expect.poll(() => p.getByTestId("max-duration").textContent()).toBe("30d");
      expect(await p.locator("#new-policy").textContent()).toContain("manager");
      // What it changes, in which system, before it is asked for.
      expect(await p.getByTestId("grants").textContent()).toBe("wiki: editors");
      await expectAccessible(p, "the requests page");
      await screenshot(p, "requests-new");

      await p.getByLabel("Duration").fill("14d");
      await p.getByLabel("Justification (required)").fill("I maintain the on-call runbooks");
      await p.getByRole("button", { name: "Submit request" }).click();
      const outcome = p.getByTestId("request-outcome");
      await outcome.filter({ hasText: "pending" }).waitFor();
      expect(await outcome.textContent()).toContain(manager.displayName);
      const row = p.getByRole("row", { name: /wiki:editors/ });
      await row.filter({ hasText: "pending" }).waitFor();

      const [asked] = (await storedRequests()).filter(isWiki);
      expect(asked).toMatchObject({
        state: "pending",
        justification: "I maintain the on-call runbooks",
        durationMs: 14 * 86_400_000,
      });
      expect(asked!.steps[0]!.approvers).toEqual([manager.id]);

      // Asking again while it is pending: refused, in the server's words, and nothing more is stored.
      await p.getByLabel("Justification (required)").fill("once more");
      await p.getByRole("button", { name: "Submit request" }).click();
      await p
        .getByRole("alert")
        .filter({ hasText: /is still pending/ })
        .waitFor();
      expect((await storedRequests()).filter(isWiki)).toHaveLength(1);

      await row.getByRole("link", { name: "wiki:editors" }).click();
      await p.getByRole("heading", { level: 1, name: /wiki:editors/ }).waitFor();
      expect(await p.getByTestId("request-state").textContent()).toBe("pending");
      expect(await p.getByRole("button", { name: "Cancel request" }).count()).toBe(1);
      await settled(p);
      await expectAccessible(p, "a pending request's page");
      await screenshot(p, "request-pending");

      // The manager: the request is in their inbox with who, what, why, how long and the step.
      const m = await page(tokens.manager);
      await open(m, "Approvals");
      const waiting = m.getByRole("row", { name: new RegExp(engineer.displayName) });
      await waiting.waitFor();
      const said = (await waiting.textContent()) ?? "";
      expect(said).toContain("wiki:editors");
      expect(said).toContain("I maintain the on-call runbooks");
      expect(said).toContain("2w");
      expect(said).toContain("manager");
      await expectAccessible(m, "the approvals page");
      await screenshot(m, "approvals");
      await waiting.getByRole("button", { name: "Approve" }).click();
      const dialog = m.getByRole("dialog", { name: "Approve this request?" });
      await dialog.waitFor();
      await dialog.getByLabel("Comment (optional)").fill("Fine for the runbooks");
      await expectAccessible(m, "the approve dialog");
      await screenshot(m, "approve-dialog");
      await dialog.getByRole("button", { name: "Approve request" }).click();
      await m.getByTestId("decision-outcome").filter({ hasText: "approved, access granted" }).waitFor();
      // The inbox is read again: nothing waits any more.
      await m.getByText("Nothing is waiting for your decision.").waitFor();
      await m.context().close();

      const approved = (await storedRequests()).find((r) => r.id === asked!.id);
      expect(approved).toMatchObject({ state: "approved" });
      expect(approved!.decisions).toMatchObject([
        { by: manager.id, verdict: "approve", comment: "Fine for the runbooks" },
      ]);
      const grants = await storedGrants(asked!.id);
      expect(grants).toHaveLength(1);
      expect(grants[0]!.validUntil).not.toBeNull();

      // The engineer's page of the request: approved, by whom, and the grant with its end.
      await p.reload();
      await expect.poll(() => p.getByTestId("request-state").textContent()).toBe("approved");
      const steps = p.getByRole("region", { name: "Approval steps", exact: true });
      expect(await steps.textContent()).toContain(manager.displayName);
      const decisions = (await p.getByRole("region", { name: "Decisions", exact: true }).textContent()) ?? "";
      expect(decisions).toContain("Fine for the runbooks");
      const granted = p.getByRole("region", { name: "Access granted", exact: true });
      expect(await granted.textContent()).toContain("wiki:editors");
      expect(await granted.getByTestId("grant-status").textContent()).toBe("active");
      expect(await granted.locator("time").nth(1).getAttribute("datetime")).toBe(grants[0]!.validUntil);
      expect(await p.getByRole("button", { name: "End access now" }).count()).toBe(1);
      await expectAccessible(p, "an approved request's page");
      await screenshot(p, "request-approved");
      await p.context().close();
    });

    it("elevation on an incident ticket is granted at once and can be ended early; without one it waits and can be withdrawn; over the maximum it is refused", async () => {
      const p = await page(tokens.engineer);
      await open(p, "Elevate");
      await p.getByLabel("Role").selectOption({ label: "role prod-access" });
      expect(await p.getByTestId("max-duration").textContent()).toBe("4h");
      expect(await p.getByTestId("grants").textContent()).toBe("deploy: admins");
      expect(await p.locator("main").textContent()).toMatch(/at most 3 times per (1w|7d)/);
      await expectAccessible(p, "the elevate page");

      // Over the maximum: the server's message, and nothing stored.
      await p.getByLabel("Duration").fill("8h");
      await p.getByLabel("Reason (required)").fill("Restore the primary database");
      await p.getByLabel("Ticket (optional)").fill("INC-42");
      await p.getByRole("button", { name: "Elevate", exact: true }).click();
      const refused = p.getByRole("alert").filter({ hasText: /longer than the maximum/ });
      await refused.waitFor();
      expect(await refused.textContent()).toContain("4h");
      await screenshot(p, "elevate-refused");
      expect((await storedRequests()).filter((r) => r.kind === "elevation")).toHaveLength(0);

      // On an incident ticket: granted at once.
      await p.getByLabel("Duration").fill("2h");
      await p.getByRole("button", { name: "Elevate", exact: true }).click();
      const outcome = p.getByTestId("elevation-outcome");
      await outcome.filter({ hasText: "Granted at once" }).waitFor();
      expect(await outcome.textContent()).toContain("approved by policy");
      await expectAccessible(p, "the elevate page with its outcome");
      await screenshot(p, "elevate-granted");
      const [elevation] = (await storedRequests()).filter((r) => r.kind === "elevation");
      expect(elevation).toMatchObject({ state: "approved", autoApproved: true, ticket: "INC-42" });
      expect(elevation!.durationMs).toBe(2 * 3_600_000);

      // Ended early from the request's page, after seeing what ends.
      await outcome.getByRole("link", { name: "See the request" }).click();
      await p.getByRole("heading", { level: 1, name: /prod-access/ }).waitFor();
      expect(await p.getByTestId("grant-status").textContent()).toBe("active");
      await p.getByRole("button", { name: "End access now" }).click();
      const end = p.getByRole("dialog", { name: "End this access now?" });
      await end.waitFor();
      expect(await end.textContent()).toContain("role prod-access");
      await end.getByLabel("Reason (optional)").fill("The incident is resolved");
      await expectAccessible(p, "the end-access dialog");
      await end.getByRole("button", { name: "End access now" }).click();
      await p
        .getByRole("status")
        .filter({ hasText: /Access ended/ })
        .waitFor();
      await expect.poll(() => p.getByTestId("grant-status").textContent()).toBe("ended early");
      const [ended] = await storedGrants(elevation!.id);
      expect(ended!.revokedAt).not.toBeNull();

      // Without a ticket, the manager decides: pending, and the engineer withdraws it.
      await open(p, "Elevate");
      await p.getByLabel("Duration").fill("1h");
      await p.getByLabel("Reason (required)").fill("Look at the slow queries");
      await p.getByRole("button", { name: "Elevate", exact: true }).click();
      await p.getByTestId("elevation-outcome").filter({ hasText: "Pending" }).waitFor();
      expect(await p.getByTestId("elevation-outcome").textContent()).toContain(manager.displayName);
      await p.getByTestId("elevation-outcome").getByRole("link", { name: "See the request" }).click();
      await p.getByRole("button", { name: "Cancel request" }).click();
      const cancel = p.getByRole("dialog", { name: "Cancel this request?" });
      await cancel.waitFor();
      await expectAccessible(p, "the cancel dialog");
      await cancel.getByRole("button", { name: "Withdraw request" }).click();
      await expect.poll(() => p.getByTestId("request-state").textContent()).toBe("cancelled");
      const stored = (await storedRequests()).filter((r) => r.kind === "elevation");
      expect(stored.map((r) => r.state).sort()).toEqual(["approved", "cancelled"]);

      // The break-glass warning is on the page before anyone ticks the box, and it asks once more.
      await open(p, "Elevate");
      const warning = p.locator("#elevate-break-glass-warning");
      expect(await warning.textContent()).toMatch(/Emergency only.*security contacts/);
      await p.getByLabel("Break glass: grant at once, without approval").check();
      await p.getByLabel("Reason (required)").fill("Nobody answers");
      await p.getByRole("button", { name: "Break glass and elevate" }).click();
      const glass = p.getByRole("dialog", { name: "Break glass?" });
      await glass.waitFor();
      await expectAccessible(p, "the break-glass dialog");
      await screenshot(p, "break-glass-dialog");
      await glass.getByRole("button", { name: "Cancel", exact: true }).click();
      expect((await storedRequests()).filter((r) => r.kind === "break-glass")).toHaveLength(0);
      await p.context().close();
    });

    it("the new pages are usable at phone width", async () => {
      const p = await page(tokens.engineer, 390, 844);
      for (const link of ["Requests", "Elevate"]) {
        await p.goto(`${server.url}/${link.toLowerCase()}`);
        await p.getByRole("heading", { level: 1, name: link }).waitFor();
        await settled(p);
        await expectAccessible(p, `the ${link} page at 390 px`);
        const overflow = await p.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
        await expect(overflow, link).toBeLessThanOrEqual(0);
        await screenshot(p, `${link.toLowerCase()}-phone`);
      }
      await p.context().close();
    });
  });
}
