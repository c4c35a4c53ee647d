import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lineage } from "../../src/domain/access-types.js";
import type { ReviewAccess, ReviewRisk } from "../../src/domain/review-types.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import {
  accessKeyOf,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../../src/store/review-repository.js";
import { type ApiFixture, apiFixture } from "../helpers/api-fixture.js";
import { browserMissing, launchBrowser } from "../helpers/browser.js";
import { storeFactories } from "../helpers/databases.js";
import { reviewDefinition } from "../helpers/review-definition.js";
import { testReviewItem } from "../helpers/review-item.js";
import { expectAccessible, screenshot, settled, signedInPage } from "./console-page.js";
import { consoleMissing } from "./console-server.js";

const missing = browserMissing() ?? consoleMissing();

const REVIEWS_YAML = `reviews:
  campaigns:
    managers:
      description: Everyone's access, by their manager
      reviewer: manager
`;

const DAY = 86_400_000;

const DEFINITION = reviewDefinition({ description: "Quarterly access review", remindDaysBefore: [3] });

const STAFF_LINEAGE: Lineage = {
  kind: "role",
  role: "staff",
  chain: ["staff"],
  rule: {
    source: "employmentType == 'employee' || employmentType == 'contractor'",
    location: { file: "tenure.yaml", line: 40, column: 5 },
  },
};

type Reason = ReviewItem["risk"]["reasons"][number];
const NEVER_USED: Reason = { code: "never-used", detail: "never logged in", weight: 30 };
const RARE: Reason = { code: "rare-among-peers", detail: "held by 1 of 3 peers (33.3%)", weight: 25 };
const NEVER_REVIEWED: Reason = { code: "never-reviewed", detail: "never reviewed before", weight: 20 };
const PRIVILEGED: Reason = { code: "privileged", detail: "privileged access", weight: 35 };

function item(
  id: string,
  holder: string,
  reviewer: string,
  access: ReviewAccess,
  score: number,
  options: Partial<Pick<ReviewItem, "privileged" | "source">> & { reasons?: Reason[] } = {},
): ReviewItem {
  const level: ReviewRisk = score >= 70 ? "high" : score >= 40 ? "medium" : "low";
  return testReviewItem({
    id,
    campaignId: "c-q",
    identityId: holder,
    access,
    accessKey: accessKeyOf(access),
    source: options.source ?? "birthright",
    privileged: options.privileged ?? false,
    risk: {
      score,
      level,
      reasons: options.reasons ?? [{ ...NEVER_REVIEWED, weight: score }],
      recommendation: score >= 70 ? "revoke" : "keep",
    },
    evidence: {
      lineage: [STAFF_LINEAGE],
      lastUsedAt: null,
      peers: { total: 3, holding: 1 },
      lastReview: null,
      sodRules: [],
    },
    reviewerId: reviewer,
    createdAt: new Date(Date.now() - DAY).toISOString(),
  });
}

const readers: ReviewAccess = { kind: "entitlement", system: "app", entitlement: "readers" };
const deployers: ReviewAccess = { kind: "entitlement", system: "app", entitlement: "deployers" };
const staff: ReviewAccess = { kind: "role", role: "staff" };

if (missing !== null && process.env.CI !== "true") {
  console.warn(`skipping the console's access review tests: ${missing}`);
  describe.skip(`access reviews in the console — ${missing}`, () => {
    it("skipped", () => {});
  });
} else {
  describe("access reviews in the console", () => {
    let f: ApiFixture;
    let url: string;
    let browser: Browser;
    const ids = { ada: "", grace: "", kim: "", cy: "" };
    const tokens = { ada: "" };
    const REASON = "Grace moved to Sales: staff access is given by her new role";

    beforeAll(async () => {
      expect(missing).toBeNull();
      const sqlite = (await storeFactories()).find(([kind]) => kind === "sqlite")![1];
      f = await apiFixture(sqlite, { moreYaml: REVIEWS_YAML });
      // The fixture's clock is in March; the browser drops a session cookie that expired then.
      f.clock.now = new Date();
      for (const [name, email] of [
        ["ada", "ada@example.test"],
        ["grace", "grace@example.test"],
        ["kim", "kim@example.test"],
        ["cy", "cy@example.test"],
      ] as const) {
        ids[name] = (await identityRepository.resolve(f.store.db, email))!.id;
      }
      const now = f.clock.now.getTime();
      await reviewCampaignRepository.insert(f.store.db, {
        id: "c-q",
        definition: "quarterly",
        kind: "ad-hoc",
        status: "open",
        settings: DEFINITION,
        subjectIdentityId: null,
        startedAt: new Date(now - DAY).toISOString(),
        startedBy: "test",
        deadline: new Date(now + 13 * DAY).toISOString(),
        closedAt: null,
        closedBy: null,
        items: 6,
      });
      const { ada, grace, kim, cy } = ids;
      await reviewItemRepository.insertMany(f.store.db, [
        item("i-grace-readers", grace, ada, readers, 10),
        item("i-kim-readers", kim, ada, readers, 15, { source: "assignment" }),
        item("i-cy-readers", cy, ada, readers, 20, { source: "found" }),
        item("i-cy-deployers", cy, ada, deployers, 55, {
          privileged: true,
          reasons: [PRIVILEGED, { ...NEVER_REVIEWED, weight: 20 }],
        }),
        item("i-grace-staff", grace, ada, staff, 75, { reasons: [NEVER_USED, RARE, NEVER_REVIEWED] }),
        // Grace reviews Ada's: Ada never sees it, though it is the riskiest.
        item("i-ada-deployers", ada, grace, deployers, 90, { privileged: true }),
      ]);
      tokens.ada = (
        await f.tokens.create({
          name: "e2e-ada",
          role: "reviewer",
          identity: "ada@example.test",
          expiresAt: null,
          actor: "test",
        })
      ).token;
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

    async function openReviews(p: Page): Promise<void> {
      await p
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Reviews", exact: true })
        .click();
      await p.getByRole("heading", { level: 1, name: "Reviews" }).waitFor();
      await settled(p);
    }

    const inbox = (p: Page) => p.getByRole("region", { name: "Your review items, riskiest first" });
    const rows = (p: Page) => inbox(p).getByTestId("review-row");
    const row = (p: Page, holder: string, access: string) =>
      rows(p)
        .filter({ hasText: holder })
        .filter({ has: p.getByRole("link", { name: access, exact: true }) });

    it("a reviewer sees only their items riskiest first with the evidence, revokes one with a reason, certifies low-risk ones in bulk, and sees a refusal", async () => {
      const p = await page(tokens.ada);
      await openReviews(p);
      await rows(p).first().waitFor();
      const texts = await rows(p).allTextContents();
      expect(texts).toHaveLength(5);
      // Riskiest first; Ada's own item (Grace reviews it) is not hers to see.
      expect(texts.map((t) => /^(\w+ \w+)/.exec(t)?.[1])).toEqual([
        "Grace Hopper",
        "Cy Contract",
        "Cy Contract",
        "Kim Future",
        "Grace Hopper",
      ]);
      expect(texts.some((t) => t.startsWith("Ada Lovelace"))).toBe(false);
      expect(texts[0]).toMatch(/role staff/);
      expect(texts[1]).toMatch(/app:deployers.*privileged/);
      // The evidence in the row: risk, top reasons in words, recommendation, last use, peers, source.
      const top = texts[0]!;
      for (const words of [
        "high 75",
        "never logged in; held by 1 of 3 peers (33.3%)",
        "(+1 more)",
        "revoke",
        "never",
        "1 of 3 peers",
        "birthright",
      ]) {
        expect(top).toContain(words);
      }
      expect(texts[2]).toContain("found in target");
      expect(texts[3]).toContain("requested");
      expect(await p.getByTestId("waiting-campaigns").textContent()).toContain(
        "quarterly: 5 undecided for you",
      );

      // Bulk only on low-risk, non-privileged rows: the privileged row's box is disabled and says why.
      const privilegedBox = row(p, "Cy Contract", "app:deployers").getByRole("checkbox");
      expect(await privilegedBox.isDisabled()).toBe(true);
      expect(await privilegedBox.getAttribute("title")).toMatch(/privileged access: decide it on its own/);
      const highBox = row(p, "Grace Hopper", "role staff").getByRole("checkbox");
      expect(await highBox.isDisabled()).toBe(true);
      expect(await highBox.getAttribute("title")).toMatch(
        /high risk: bulk decisions in this campaign cover low risk at most/,
      );
      expect(await row(p, "Grace Hopper", "app:readers").getByRole("checkbox").isDisabled()).toBe(false);
      await expectAccessible(p, "the review inbox");
      await screenshot(p, "reviews-inbox");

      // Revoke Grace's staff role: without a reason the server refuses, in its words, and nothing changes.
      await row(p, "Grace Hopper", "role staff").getByRole("button", { name: "Revoke" }).click();
      const dialog = p.getByRole("dialog", { name: "Revoke this access?" });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain("withheld from this person's birthright");
      await dialog.getByRole("button", { name: "Revoke access" }).click();
      await dialog.getByRole("alert").filter({ hasText: "a revocation needs a reason" }).waitFor();
      expect((await reviewItemRepository.find(f.store.db, "i-grace-staff"))!.state).toBe("pending");
      await dialog.getByLabel("Reason (required)").fill(REASON);
      await expectAccessible(p, "the revoke dialog");
      await screenshot(p, "reviews-revoke-dialog");
      await dialog.getByRole("button", { name: "Revoke access" }).click();
      await p
        .getByTestId("review-outcome")
        .filter({ hasText: "You revoked role staff for Grace Hopper" })
        .waitFor();
      await expect.poll(() => rows(p).count()).toBe(4);
      expect(await row(p, "Grace Hopper", "role staff").count()).toBe(0);
      const revoked = (await reviewItemRepository.find(f.store.db, "i-grace-staff"))!;
      expect(revoked).toMatchObject({
        state: "revoked",
        decidedBy: ids.ada,
        comment: REASON,
        removalState: "pending",
        bulk: false,
      });

      // Two low-risk items at once, with one comment.
      await row(p, "Grace Hopper", "app:readers").getByRole("checkbox").check();
      await row(p, "Kim Future", "app:readers").getByRole("checkbox").check();
      await p.getByRole("button", { name: "Certify selected" }).click();
      const bulk = p.getByRole("dialog", { name: "Certify 2 items at once?" });
      expect(await bulk.getByTestId("bulk-items").locator("li").count()).toBe(2);
      await bulk.getByLabel("What you checked (required)").fill("Both read the app for their daily work");
      await expectAccessible(p, "the bulk dialog");
      await bulk.getByRole("button", { name: "Certify 2 items" }).click();
      await p.getByTestId("review-outcome").filter({ hasText: "You certified 2 items at once" }).waitFor();
      await expect.poll(() => rows(p).count()).toBe(2);
      for (const id of ["i-grace-readers", "i-kim-readers"]) {
        expect(await reviewItemRepository.find(f.store.db, id)).toMatchObject({
          state: "certified",
          bulk: true,
          decidedBy: ids.ada,
        });
      }

      // Decided meanwhile (another tab): Certify is refused with the server's message, nothing changes.
      const cy = (await reviewItemRepository.find(f.store.db, "i-cy-readers"))!;
      const at = new Date().toISOString();
      expect(
        await reviewItemRepository.update(f.store.db, cy.id, cy.version, {
          state: "certified",
          decidedBy: ids.ada,
          decidedAt: at,
        }),
      ).toBe(true);
      await row(p, "Cy Contract", "app:readers").getByRole("button", { name: "Certify" }).click();
      const refusal = p.getByRole("alert").filter({ hasText: "was already decided" });
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain("nothing was changed");
      await screenshot(p, "reviews-refused");

      // The item page: every reason with its weight, why it is held, peers, last review.
      await row(p, "Cy Contract", "app:deployers").getByRole("link", { name: "app:deployers" }).click();
      await p.getByRole("heading", { level: 1, name: "app:deployers: Cy Contract" }).waitFor();
      const reasons = p.getByRole("region", { name: "Risk reasons, heaviest first" });
      expect(await reasons.locator("tbody tr").allTextContents()).toEqual([
        "privileged access (privileged)35",
        "never reviewed before (never-reviewed)20",
      ]);
      const evidence = (await p.getByTestId("evidence").textContent()) ?? "";
      expect(evidence).toContain(
        "role staff, rule employmentType == 'employee' || employmentType == 'contractor' at tenure.yaml:40",
      );
      expect(evidence).toContain("1 of 3 peers (33.3%)");
      expect(evidence).toContain("never reviewed before");
      expect(await p.getByRole("button", { name: "Certify" }).count()).toBe(1);
      await expectAccessible(p, "an item's page");
      await screenshot(p, "reviews-item");

      // The revoked item's page: the removal, pending, then confirmed in the target with its time.
      await p.goto(`${url}/reviews/items/i-grace-staff`);
      await p.getByRole("heading", { level: 1, name: "role staff: Grace Hopper" }).waitFor();
      expect(await p.getByTestId("item-state").textContent()).toBe("revoked");
      expect(await p.getByTestId("decision").textContent()).toContain(REASON);
      expect(await p.getByTestId("removal").textContent()).toMatch(/^pending/);
      expect(await p.getByRole("button", { name: "Certify" }).count()).toBe(0);
      const confirmedAt = new Date().toISOString();
      expect(
        await reviewItemRepository.update(f.store.db, revoked.id, revoked.version, {
          removalState: "confirmed",
          confirmedAt,
        }),
      ).toBe(true);
      await p.reload();
      await p.getByTestId("removal").filter({ hasText: "confirmed gone in the target" }).waitFor();
      expect(await p.getByTestId("removal").locator("time").getAttribute("datetime")).toBe(confirmedAt);
      await expectAccessible(p, "a revoked item's page");
      await screenshot(p, "reviews-item-revoked");

      // The campaign link of the notifications shows what is left for her.
      await p.goto(`${url}/reviews/c-q`);
      await p.getByRole("heading", { level: 1, name: "Campaign quarterly" }).waitFor();
      const mine = p.getByRole("region", { name: "Your items in this campaign, riskiest first" });
      await mine.getByTestId("review-row").first().waitFor();
      expect(await mine.getByTestId("review-row").allTextContents()).toEqual([
        expect.stringMatching(/^Cy Contract.*app:deployers/),
      ]);
      // A reviewer gets no report of other reviewers.
      expect(await p.getByTestId("campaign-report").count()).toBe(0);
      await expectAccessible(p, "the campaign page for a reviewer");
      await p.context().close();
    });

    it("an auditor reads the campaign report without buttons; a requester has no review pages", async () => {
      const p = await page(f.tokenFor.auditor);
      await openReviews(p);
      await p.getByRole("link", { name: "Campaigns", exact: true }).click();
      await p.getByRole("heading", { level: 1, name: "Review campaigns" }).waitFor();
      const campaigns = p.getByRole("region", { name: "Review campaigns, newest first" });
      const line = campaigns.getByRole("row", { name: /quarterly/ });
      await line.waitFor();
      expect(await line.textContent()).toMatch(/ad-hoc.*open.*4 of 6 \(67%\)/);
      expect(await p.getByRole("button", { name: "Start campaign" }).count()).toBe(0);
      await expectAccessible(p, "the campaigns page");
      await line.getByRole("link", { name: "quarterly" }).click();
      await p.getByRole("heading", { level: 1, name: "Campaign quarterly" }).waitFor();
      await p.getByTestId("campaign-report").waitFor();
      expect(await p.getByTestId("report-completion").textContent()).toBe(
        "66.7% decided by a reviewer (4 of 6)",
      );
      expect(await p.getByTestId("report-states").textContent()).toBe("2 pending, 3 certified, 1 revoked");
      expect(await p.getByTestId("report-revocations").textContent()).toBe(
        "0 pending, 0 applied, 1 confirmed in the target, 0 failed, 0 not needed",
      );
      const reviewers = p.getByRole("region", { name: "Decisions by reviewer" });
      const ada = reviewers.getByRole("row", { name: /Ada Lovelace/ });
      expect(await ada.textContent()).toMatch(/^Ada Lovelace4/);
      expect(await p.getByRole("button", { name: "Close campaign" }).count()).toBe(0);
      await expectAccessible(p, "the campaign report");
      await screenshot(p, "reviews-campaign-report");

      // The downloads, with the session's cookie.
      const csv = await p.context().request.get(`${url}/api/reviews/campaigns/c-q/report?format=csv`);
      expect(csv.status()).toBe(200);
      expect(await csv.text()).toContain(REASON);
      expect(await p.getByRole("link", { name: "CSV" }).getAttribute("href")).toBe(
        "/api/reviews/campaigns/c-q/report?format=csv",
      );
      await p.context().close();

      const requester = await page(f.tokenFor.requester);
      expect(
        await requester
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: "Reviews" })
          .count(),
      ).toBe(0);
      await requester.goto(`${url}/reviews`);
      await requester.getByRole("heading", { level: 1, name: "Not available" }).waitFor();
      await requester.context().close();
    });

    it("an admin starts a campaign of tenure.yaml and closes one after a confirmation", async () => {
      const p = await page(f.tokenFor.admin);
      await p.goto(`${url}/reviews/campaigns`);
      await p.getByRole("heading", { level: 1, name: "Review campaigns" }).waitFor();
      // A name tenure.yaml does not define: the server's refusal.
      await p.getByLabel("Campaign", { exact: true }).fill("nonexistent");
      await p.getByRole("button", { name: "Start campaign" }).click();
      await p.getByRole("alert").filter({ hasText: "nonexistent" }).waitFor();
      await p.getByLabel("Campaign", { exact: true }).fill("managers");
      await p.getByRole("button", { name: "Start campaign" }).click();
      // The outcome, or whatever the server answered instead (so a failure says why).
      const started = p
        .getByTestId("start-outcome")
        .filter({ hasText: "Started" })
        .or(p.getByRole("alert").filter({ hasNotText: "nonexistent" }));
      await started.first().waitFor();
      expect(await started.first().textContent()).toMatch(/^Started managers with \d+ items?, due/);
      await p
        .getByRole("region", { name: "Review campaigns, newest first" })
        .getByRole("row", { name: /managers/ })
        .waitFor();
      await expectAccessible(p, "the campaigns page for an admin");

      await p.goto(`${url}/reviews/c-q`);
      await p.getByRole("heading", { level: 1, name: "Campaign quarterly" }).waitFor();
      await p.getByRole("button", { name: "Close campaign" }).click();
      const dialog = p.getByRole("dialog", { name: "Close this campaign now?" });
      expect(await dialog.textContent()).toContain("onNoResponse");
      await expectAccessible(p, "the close dialog");
      // The page's refetch after the close made slow: the outcome must not show before the page agrees.
      await p.route(`${url}/api/reviews/campaigns/c-q`, async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await route.continue();
      });
      await dialog.getByRole("button", { name: "Close campaign" }).click();
      await p.getByTestId("campaign-outcome").filter({ hasText: "is closed" }).waitFor();
      expect(await p.getByRole("button", { name: "Close campaign" }).count()).toBe(0);
      await expect
        .poll(async () => (await reviewCampaignRepository.find(f.store.db, "c-q"))?.status)
        .toBe("closed");
      await screenshot(p, "reviews-campaign-closed");
      await p.context().close();
    });

    it("the pages are usable at phone width", async () => {
      const p = await page(tokens.ada, 390, 844);
      for (const [where, heading] of [
        ["/reviews?state=any", "Reviews"],
        ["/reviews/items/i-cy-deployers", "app:deployers: Cy Contract"],
        ["/reviews/c-q", "Campaign quarterly"],
      ] as const) {
        await p.goto(`${url}${where}`);
        await p.getByRole("heading", { level: 1, name: heading }).waitFor();
        await settled(p);
        await expectAccessible(p, `${where} at 390 px`);
        const overflow = await p.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
        expect(overflow, where).toBeLessThanOrEqual(0);
      }
      await screenshot(p, "reviews-phone");
      await p.context().close();
    });
  });
}
