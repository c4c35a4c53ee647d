/**
 * Access reviews through the REST API on SQLite and PostgreSQL, with campaigns and items written
 * through the repositories (generation is tested on its own): a reviewer sees only their own items
 * (and those of whoever delegated to them), riskiest first and paged; decisions one at a time and in
 * bulk; delegation; nobody reviews their own access; nothing is decided once a campaign is closed; an
 * auditor reads everything and decides nothing, a requester nothing at all; and the auditors' CSV
 * with a formula-looking comment escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer, FIXTURE_NOW } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { reviewDefinition } from "../../test/helpers/review-definition.js";
import { testReviewItem } from "../../test/helpers/review-item.js";
import { queryEvents } from "../audit/ledger.js";
import type { ReviewAccess, ReviewRisk } from "../domain/review-types.js";
import { delegationRepository } from "../store/delegation-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewExclusionRepository } from "../store/review-exclusion-repository.js";
import {
  accessKeyOf,
  type ReviewCampaign,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";

const DEFINITION = reviewDefinition({ description: "Quarterly access review", remindDaysBefore: [3] });

const iso = (days: number) => new Date(FIXTURE_NOW.getTime() + days * 86_400_000).toISOString();

function campaign(id: string, status: "open" | "closed"): ReviewCampaign {
  return {
    id,
    definition: "quarterly",
    kind: "ad-hoc",
    status,
    settings: DEFINITION,
    subjectIdentityId: null,
    startedAt: iso(-1),
    startedBy: "test",
    deadline: iso(13),
    closedAt: status === "closed" ? iso(-0.5) : null,
    closedBy: status === "closed" ? "test" : null,
    items: 0,
  };
}

function item(
  id: string,
  campaignId: string,
  holder: string,
  reviewer: string,
  access: ReviewAccess,
  score: number,
  options: { privileged?: boolean } = {},
): ReviewItem {
  const level: ReviewRisk = score >= 70 ? "high" : score >= 40 ? "medium" : "low";
  return testReviewItem({
    id,
    campaignId,
    identityId: holder,
    access,
    accessKey: accessKeyOf(access),
    privileged: options.privileged ?? false,
    risk: {
      score,
      level,
      reasons: [{ code: "rare-among-peers", detail: "held by 1 of 3 peers (33.3%)", weight: score }],
      recommendation: score >= 70 ? "revoke" : "keep",
    },
    evidence: {
      lineage: [
        {
          kind: "role",
          role: "staff",
          chain: ["staff"],
          rule: "employmentType == 'employee'",
          location: { file: "tenure.yaml", line: 30, column: 5 },
        } as unknown as ReviewItem["evidence"]["lineage"][number],
      ],
      lastUsedAt: null,
      peers: { total: 3, holding: 1 },
      lastReview: null,
      sodRules: [],
    },
    reviewerId: reviewer,
    createdAt: iso(-1),
  });
}

const readers: ReviewAccess = { kind: "entitlement", system: "app", entitlement: "readers" };
const deployers: ReviewAccess = { kind: "entitlement", system: "app", entitlement: "deployers" };
const staff: ReviewAccess = { kind: "role", role: "staff" };

describe.each(await storeFactories())("access reviews through the API on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const token: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    f = await apiFixture(makeStore);
    for (const key of ["E1", "E2", "E3", "E4"]) {
      ids[key] = (await identityRepository.resolve(f.store.db, key))!.id;
      token[key] = (
        await f.tokens.create({
          name: `rev-${key}`,
          role: "reviewer",
          expiresAt: null,
          actor: "test",
          identity: key,
        })
      ).token;
    }
    const { E1, E2, E3, E4 } = ids as Record<"E1" | "E2" | "E3" | "E4", string>;
    await reviewCampaignRepository.insert(f.store.db, campaign("c-open", "open"));
    await reviewCampaignRepository.insert(f.store.db, campaign("c-closed", "closed"));
    // Ada (E1) manages Grace, Kim and Cy; Grace reviews one item of Cy's; Ada's own item is hers to review
    // by a mistake of the rule (the workflow refuses it).
    await reviewItemRepository.insertMany(f.store.db, [
      item("i-grace-readers", "c-open", E2, E1, readers, 10),
      item("i-cy-readers", "c-open", E4, E1, readers, 20),
      item("i-kim-readers", "c-open", E3, E1, readers, 15),
      item("i-cy-deployers", "c-open", E4, E2, deployers, 50),
      item("i-ada-deployers", "c-open", E1, E1, deployers, 80, { privileged: true }),
      item("i-grace-staff", "c-open", E2, E1, staff, 70),
      item("i-late", "c-closed", E2, E1, readers, 30),
    ]);
  });
  afterAll(() => f.dispose());

  const call = (method: "GET" | "POST", url: string, who: string, payload?: object) =>
    f.app.inject({
      method,
      url,
      headers: bearer(token[who] ?? f.tokenFor[who as keyof typeof f.tokenFor]),
      ...(payload ? { payload } : {}),
    });
  const ledger = async () => (await queryEvents(f.store.db, { limit: 100_000 })).length;
  const itemIds = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((i) => i.id);

  it("shows a reviewer only their own items, riskiest first and paged; admin and auditor see all", async () => {
    const ada = await call("GET", "/api/reviews/items?campaign=c-open", "E1");
    expect(ada.statusCode).toBe(200);
    expect(itemIds(ada)).toEqual([
      "i-ada-deployers",
      "i-grace-staff",
      "i-cy-readers",
      "i-kim-readers",
      "i-grace-readers",
    ]);
    const first = ada.json().items[0];
    expect(first).toMatchObject({
      holder: { id: ids.E1, name: "Ada Lovelace", employeeId: "E1" },
      label: "app:deployers",
      privileged: true,
      reviewer: { name: "Ada Lovelace" },
      campaign: { id: "c-open", definition: "quarterly", status: "open" },
      risk: { level: "high", reasons: [{ detail: "held by 1 of 3 peers (33.3%)" }] },
      evidence: { peers: { total: 3, holding: 1 }, lineage: [{ kind: "role", role: "staff" }] },
    });
    expect(itemIds(await call("GET", "/api/reviews/items", "E2"))).toEqual(["i-cy-deployers"]);

    const page1 = await call("GET", "/api/reviews/items?campaign=c-open&limit=2", "E1");
    expect(itemIds(page1)).toEqual(["i-ada-deployers", "i-grace-staff"]);
    const page2 = await call(
      "GET",
      `/api/reviews/items?campaign=c-open&limit=2&cursor=${page1.json().nextCursor}`,
      "E1",
    );
    expect(itemIds(page2)).toEqual(["i-cy-readers", "i-kim-readers"]);
    expect((await call("GET", "/api/reviews/items?limit=500", "E1")).statusCode).toBe(400);

    expect((await call("GET", "/api/reviews/items?view=all", "E2")).statusCode).toBe(403);
    const all = await call("GET", "/api/reviews/items?campaign=c-open", "auditor");
    expect(itemIds(all)).toHaveLength(6);
    const byGrace = await call("GET", `/api/reviews/items?view=all&reviewer=E2`, "admin");
    expect(itemIds(byGrace)).toEqual(["i-cy-deployers"]);
    // A reviewer token of nobody has no items; a requester may not look.
    expect(itemIds(await call("GET", "/api/reviews/items", "reviewer"))).toEqual([]);
    expect((await call("GET", "/api/reviews/items", "requester")).statusCode).toBe(403);
    expect((await call("GET", "/api/reviews/campaigns", "requester")).statusCode).toBe(403);

    // One item: 404 for an item that is not yours, as for one that does not exist.
    const mine = await call("GET", "/api/reviews/items/i-grace-readers", "E1");
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ holder: { name: "Grace Hopper" }, state: "pending" });
    const notMine = await call("GET", "/api/reviews/items/i-grace-readers", "E2");
    expect(notMine.statusCode).toBe(404);
    expect(notMine.json().error).toMatchObject({
      code: "not_found",
      message: 'no review item has the id "i-grace-readers"',
    });
    expect((await call("GET", "/api/reviews/items/i-grace-readers", "auditor")).statusCode).toBe(200);

    const campaigns = await call("GET", "/api/reviews/campaigns", "E1");
    expect(campaigns.statusCode).toBe(200);
    const open = campaigns.json().campaigns.find((c: { id: string }) => c.id === "c-open");
    expect(open).toMatchObject({
      total: 6,
      pending: 6,
      decided: 0,
      mine: { pending: 5 },
      description: "Quarterly access review",
    });
    // The report (other reviewers' figures) is for admin and auditor.
    expect((await call("GET", "/api/reviews/campaigns/c-open", "E1")).json().report).toBeNull();
    expect((await call("GET", "/api/reviews/campaigns/c-open", "auditor")).json().report).toMatchObject({
      total: 6,
      decided: 0,
    });
  });

  it("decides one item, refuses self-review, a revocation without a reason and the auditor, changing nothing", async () => {
    const before = await ledger();
    const self = await call("POST", "/api/reviews/items/i-ada-deployers/decision", "E1", {
      decision: "certify",
    });
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe("self_review");
    const noReason = await call("POST", "/api/reviews/items/i-grace-staff/decision", "E1", {
      decision: "revoke",
    });
    expect(noReason.statusCode).toBe(422);
    expect(noReason.json().error.code).toBe("reason_required");
    const notHers = await call("POST", "/api/reviews/items/i-cy-readers/decision", "E2", {
      decision: "certify",
    });
    // Not hers to see either: as if it did not exist.
    expect(notHers.statusCode).toBe(404);
    const auditor = await call("POST", "/api/reviews/items/i-grace-staff/decision", "auditor", {
      decision: "certify",
    });
    expect(auditor.statusCode).toBe(403);
    expect(auditor.json().error.code).toBe("forbidden");
    const nobody = await call("POST", "/api/reviews/items/i-grace-staff/decision", "admin", {
      decision: "certify",
    });
    expect(nobody.statusCode).toBe(403);
    expect(nobody.json().error.code).toBe("no_person");
    expect(await ledger()).toBe(before);

    const ok = await call("POST", "/api/reviews/items/i-grace-staff/decision", "E1", {
      decision: "certify",
      comment: '=HYPERLINK("http://evil")',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      state: "certified",
      decidedBy: { id: ids.E1, name: "Ada Lovelace" },
      decidedAt: FIXTURE_NOW.toISOString(),
    });
    const twice = await call("POST", "/api/reviews/items/i-grace-staff/decision", "E1", {
      decision: "revoke",
      comment: "x",
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe("already_decided");

    const late = await call("POST", "/api/reviews/items/i-late/decision", "E1", { decision: "certify" });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe("campaign_closed");
  });

  it("decides in bulk (never a privileged item), delegates, and lets a delegate in force decide", async () => {
    const privileged = await call("POST", "/api/reviews/items/decisions", "E1", {
      itemIds: ["i-cy-readers", "i-ada-deployers"],
      decision: "certify",
      comment: "checked against the team list",
    });
    expect(privileged.statusCode).toBe(422);
    expect(privileged.json().error.code).toBe("privileged_item");
    expect((await call("GET", "/api/reviews/items/i-cy-readers", "E1")).json().state).toBe("pending");

    const bulk = await call("POST", "/api/reviews/items/decisions", "E1", {
      itemIds: ["i-cy-readers", "i-grace-readers"],
      decision: "certify",
      comment: "checked against the team list",
    });
    expect(bulk.statusCode).toBe(200);
    expect(bulk.json().decided.map((i: { state: string; bulk: boolean }) => [i.state, i.bulk])).toEqual([
      ["certified", true],
      ["certified", true],
    ]);

    // Ada hands Kim's item to Grace; Grace sees and may show it, Ada no longer lists it.
    const moved = await call("POST", "/api/reviews/items/i-kim-readers/delegate", "E1", {
      to: "grace@example.test",
      comment: "Grace sits with Kim",
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({
      reviewer: { id: ids.E2 },
      ruleReviewer: { id: ids.E1 },
      rerouteReason: "delegated",
    });
    expect(itemIds(await call("GET", "/api/reviews/items?state=pending&campaign=c-open", "E2"))).toEqual([
      "i-cy-deployers",
      "i-kim-readers",
    ]);
    expect(itemIds(await call("GET", "/api/reviews/items?state=pending&campaign=c-open", "E1"))).toEqual([
      "i-ada-deployers",
    ]);
    const toHolder = await call("POST", "/api/reviews/items/i-cy-deployers/delegate", "E2", { to: "E4" });
    expect(toHolder.statusCode).toBe(403);
    expect(toHolder.json().error.code).toBe("self_review");

    // Grace is away: Ada decides for her while the delegation is in force.
    await delegationRepository.insert(f.store.db, {
      id: "d-grace-ada",
      delegatorId: ids.E2!,
      delegateId: ids.E1!,
      validFrom: iso(-1),
      validUntil: iso(7),
      createdAt: iso(-1),
      createdBy: "test",
      revokedAt: null,
    });
    expect(itemIds(await call("GET", "/api/reviews/items?state=pending&campaign=c-open", "E1"))).toEqual([
      "i-ada-deployers",
      "i-cy-deployers",
      "i-kim-readers",
    ]);
    const forGrace = await call("POST", "/api/reviews/items/i-cy-deployers/decision", "E1", {
      decision: "revoke",
      comment: "Cy does not deploy",
    });
    expect(forGrace.statusCode).toBe(200);
    expect(forGrace.json()).toMatchObject({
      state: "revoked",
      removalState: "pending",
      decidedBy: { id: ids.E1 },
    });
  });

  it("gives the auditors' report as CSV with formulas escaped, a reviewer only their rows; closes (admin only)", async () => {
    const csv = await call("GET", "/api/reviews/campaigns/c-open/report?format=csv", "auditor");
    expect(csv.statusCode).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split("\n");
    expect(lines[0]).toBe(
      "item,campaign,employeeId,holder,access,source,privileged,risk,score,reasons,recommendation,reviewer,reroute,state,decidedBy,decidedAt,bulk,comment,removal,confirmedAt",
    );
    expect(lines).toHaveLength(7);
    const staffLine = lines.find((l) => l.startsWith("i-grace-staff,"))!;
    expect(staffLine).toContain("Grace Hopper");
    expect(staffLine).toContain(`"'=HYPERLINK(""http://evil"")"`);

    const json = await call("GET", "/api/reviews/campaigns/c-open/report", "E2");
    expect(json.statusCode).toBe(200);
    expect(json.json().rows.map((r: { item: string }) => r.item)).toEqual([
      "i-cy-deployers",
      "i-kim-readers",
    ]);

    expect((await call("POST", "/api/reviews/campaigns/c-open/close", "E1", {})).statusCode).toBe(403);
    expect((await call("POST", "/api/reviews/campaigns/c-open/close", "auditor", {})).statusCode).toBe(403);
    const closed = await call("POST", "/api/reviews/campaigns/c-open/close", "admin", {});
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toMatchObject({
      campaign: { status: "closed", pending: 0 },
      report: { byState: { "kept-no-response": 2, certified: 3, revoked: 1 } },
    });
    const again = await call("POST", "/api/reviews/campaigns/c-open/close", "admin", {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("campaign_closed");

    const unknown = await call("POST", "/api/reviews/campaigns", "admin", { definition: "nope" });
    expect(unknown.statusCode).toBe(404);
    expect((await call("POST", "/api/reviews/campaigns", "E1", { definition: "nope" })).statusCode).toBe(403);
  });

  it("lists the exclusions reviewers recorded and lifts one with a reason (admin only), at once back in the plan", async () => {
    await reviewExclusionRepository.insert(f.store.db, {
      identityId: ids.E2!,
      employment: 1,
      target: { system: "app", entitlement: "readers" },
      itemId: "i-grace-readers",
      campaignId: "c-open",
      createdAt: iso(0),
      createdBy: ids.E1!,
    });
    expect((await call("GET", "/api/reviews/exclusions", "E1")).statusCode).toBe(403);
    const list = await call("GET", "/api/reviews/exclusions?identity=E2", "admin");
    expect(list.statusCode).toBe(200);
    const [x] = list.json().exclusions;
    expect(x).toMatchObject({
      holder: "Grace Hopper",
      access: "app:readers",
      itemId: "i-grace-readers",
      liftedAt: null,
    });

    const before = await ledger();
    const noReason = await call("POST", `/api/reviews/exclusions/${x.id}/lift`, "admin", { reason: " " });
    expect(noReason.statusCode).toBe(422);
    expect(await ledger()).toBe(before);
    const lifted = await call("POST", `/api/reviews/exclusions/${x.id}/lift`, "admin", {
      reason: "refused by mistake",
    });
    expect(lifted.statusCode).toBe(200);
    expect(lifted.json().exclusion.liftedAt).not.toBeNull();
    expect((await call("GET", "/api/reviews/exclusions", "admin")).json().exclusions).toEqual([]);
    const events = await queryEvents(f.store.db, { subject: `identity:${ids.E2}`, limit: 1000 });
    expect(events.map((e) => e.action)).toContain("review.exclusion_lifted");
    expect(
      (await call("POST", `/api/reviews/exclusions/${x.id}/lift`, "admin", { reason: "again" })).statusCode,
    ).toBe(404);
  });
});
