/**
 * Review decisions and the campaign clock over a real store (SQLite and PostgreSQL), with items written
 * through the repository (generation is tested on its own): a second stage, two reviewers deciding at
 * once, a holder who leaves and access removed from the configuration mid-campaign, reminders sent once,
 * `onNoResponse` per risk with one escalation round, deciding after close, and the time per item that
 * flags a rubber stamp.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, FIXTURE_NOW } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { reviewDefinition } from "../../test/helpers/review-definition.js";
import { testReviewItem } from "../../test/helpers/review-item.js";
import { queryEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import type { ReviewAccess, ReviewDefinition, ReviewRisk } from "../domain/review-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { delegationRepository } from "../store/delegation-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewNoticeRepository } from "../store/review-progress-repository.js";
import {
  accessKeyOf,
  type ReviewCampaign,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";
import { closeCampaign, reviewTick } from "./review-closing.js";
import { decideItem, type ReviewActor } from "./review-decisions.js";
import { campaignReport } from "./review-report.js";

const DAY = 86_400_000;
const at = (days: number) => new Date(FIXTURE_NOW.getTime() + days * DAY);

function definition(overrides: Partial<ReviewDefinition> = {}): ReviewDefinition {
  return reviewDefinition({
    onNoResponse: { high: "revoke", medium: "escalate", low: "keep" },
    ...overrides,
  });
}

let n = 0;

const readers: ReviewAccess = { kind: "entitlement", system: "app", entitlement: "readers" };
const deployers: ReviewAccess = { kind: "entitlement", system: "app", entitlement: "deployers" };

describe.each(await storeFactories())("review decisions and closing on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const people: Record<string, Identity> = {};

  beforeAll(async () => {
    f = await apiFixture(makeStore);
    for (const key of ["E1", "E2", "E3", "E4"])
      people[key] = (await identityRepository.resolve(f.store.db, key))!;
  });
  afterAll(() => f.dispose());

  const actor = (key: string): ReviewActor => ({
    person: people[key]!,
    asAdmin: false,
    label: `identity:${people[key]!.id}`,
  });

  async function campaign(def: ReviewDefinition = definition()): Promise<ReviewCampaign> {
    // One open campaign per definition: each test's runs under its own name.
    const id = `c-${++n}`;
    const c: ReviewCampaign = {
      id,
      definition: `${def.name}-${id}`,
      kind: "ad-hoc",
      status: "open",
      settings: def,
      subjectIdentityId: null,
      startedAt: at(0).toISOString(),
      startedBy: "test",
      deadline: at(def.durationDays).toISOString(),
      closedAt: null,
      closedBy: null,
      items: 0,
    };
    await reviewCampaignRepository.insert(f.store.db, c);
    return c;
  }

  async function item(
    c: ReviewCampaign,
    holder: string,
    reviewer: string | null,
    risk: ReviewRisk,
    access: ReviewAccess = readers,
  ): Promise<ReviewItem> {
    const score = risk === "high" ? 80 : risk === "medium" ? 40 : 10;
    const i = testReviewItem({
      id: `i-${++n}`,
      campaignId: c.id,
      identityId: people[holder]!.id,
      access,
      accessKey: accessKeyOf(access),
      risk: { score, level: risk, reasons: [], recommendation: "keep" },
      evidence: { lineage: [], lastUsedAt: null, peers: null, lastReview: null, sodRules: [] },
      reviewerId: reviewer === null ? null : people[reviewer]!.id,
      createdAt: at(0).toISOString(),
    });
    await reviewItemRepository.insertMany(f.store.db, [i]);
    return i;
  }

  const actions = async (identityKey: string) =>
    (await queryEvents(f.store.db, { subject: `identity:${people[identityKey]!.id}`, limit: 10_000 }))
      .filter((e) => e.action.startsWith("review."))
      .map((e) => `${e.action}:${String((e.details as { item?: string }).item)}`);

  it("moves a certification to the second stage's reviewer, who certifies it; a revocation is final at once", async () => {
    const c = await campaign(
      definition({
        stages: [{ reviewer: { kind: "manager" } }, { reviewer: { kind: "person", person: "E2" } }],
      }),
    );
    const first = await item(c, "E4", "E1", "low");
    const advanced = await decideItem(
      f.store,
      f.config,
      { itemId: first.id, decision: "certify" },
      actor("E1"),
      at(1),
    );
    expect(advanced).toMatchObject({ state: "pending", stage: 1, reviewerId: people.E2!.id });
    // The second stage's reviewer is told (once that day).
    const day = at(1).toISOString().slice(0, 10);
    expect(
      await reviewNoticeRepository.has(f.store.db, `assigned:${c.id}:${people.E2!.id}:second stage:${day}`),
    ).toBe(true);
    // The first stage's reviewer does not decide the second.
    await expect(
      decideItem(f.store, f.config, { itemId: first.id, decision: "certify" }, actor("E1"), at(1)),
    ).rejects.toMatchObject({ code: "not_your_item" });
    const done = await decideItem(
      f.store,
      f.config,
      { itemId: first.id, decision: "certify" },
      actor("E2"),
      at(2),
    );
    expect(done).toMatchObject({ state: "certified", decidedBy: people.E2!.id, stage: 1 });

    const second = await item(c, "E3", "E1", "low");
    const revoked = await decideItem(
      f.store,
      f.config,
      { itemId: second.id, decision: "revoke", comment: "left the project" },
      actor("E1"),
      at(1),
    );
    expect(revoked).toMatchObject({
      state: "revoked",
      removalState: "pending",
      stage: 0,
      comment: "left the project",
    });
    const events = [...(await actions("E4")), ...(await actions("E3"))];
    expect(events).toEqual(
      expect.arrayContaining([
        `review.item_advanced:${first.id}`,
        `review.item_certified:${first.id}`,
        `review.item_revoked:${second.id}`,
      ]),
    );
  });

  it("keeps exactly one of two decisions made at the same moment (the reviewer and a delegate)", async () => {
    const c = await campaign();
    await delegationRepository.insert(f.store.db, {
      id: `d-${++n}`,
      delegatorId: people.E1!.id,
      delegateId: people.E2!.id,
      validFrom: at(0).toISOString(),
      validUntil: at(30).toISOString(),
      createdAt: at(0).toISOString(),
      createdBy: "test",
      revokedAt: null,
    });
    for (let round = 0; round < 4; round++) {
      const i = await item(c, "E3", "E1", "medium");
      const results = await Promise.allSettled([
        decideItem(f.store, f.config, { itemId: i.id, decision: "certify" }, actor("E1"), at(1)),
        decideItem(
          f.store,
          f.config,
          { itemId: i.id, decision: "revoke", comment: "not needed" },
          actor("E2"),
          at(1),
        ),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(["decided_concurrently", "already_decided"]).toContain(refused.reason.code);
      const stored = (await reviewItemRepository.find(f.store.db, i.id))!;
      expect(stored.version).toBe(1);
      const mine = (await actions("E3")).filter((a) => a.endsWith(`:${i.id}`));
      expect(mine).toHaveLength(1);
    }
  });

  it("makes an item void when its holder left or its access is no longer configured, and says so", async () => {
    const c = await campaign();
    const gone = await item(c, "E4", "E1", "low", deployers);
    const without: TenureConfig = {
      ...f.config,
      policy: {
        ...f.config.policy,
        entitlements: { app: { readers: f.config.policy.entitlements.app!.readers! } },
      },
    };
    await expect(
      decideItem(f.store, without, { itemId: gone.id, decision: "certify" }, actor("E1"), at(1)),
    ).rejects.toMatchObject({ code: "access_gone", httpStatus: 409 });
    expect(await reviewItemRepository.find(f.store.db, gone.id)).toMatchObject({ state: "void" });

    const leaver = await item(c, "E3", "E1", "low");
    const e3 = people.E3!;
    await identityRepository.upsertMany(f.store.db, [{ ...e3, state: "terminated" }]);
    try {
      await expect(
        decideItem(f.store, f.config, { itemId: leaver.id, decision: "certify" }, actor("E1"), at(1)),
      ).rejects.toMatchObject({ code: "holder_left" });
      expect(await reviewItemRepository.find(f.store.db, leaver.id)).toMatchObject({
        state: "void",
        comment: "the holder left",
      });
    } finally {
      await identityRepository.upsertMany(f.store.db, [e3]);
    }
  });

  it("reminds each reviewer once per reminder day, then at the deadline keeps, revokes or escalates by risk, and closes after the escalation round", async () => {
    const c = await campaign();
    const high = await item(c, "E4", "E1", "high");
    const low = await item(c, "E3", "E1", "low");
    // E2 reviews (their manager is E1): the medium item escalates to E1.
    const medium = await item(c, "E4", "E2", "medium");
    const undecided = await item(c, "E4", "E1", "low", deployers);

    expect((await reviewTick(f.store, f.config, { now: at(5), actor: "scheduler" })).reminded).toBe(0);
    const reminded = await reviewTick(f.store, f.config, { now: at(11.5), actor: "scheduler" });
    expect(reminded.reminded).toBe(2);
    expect((await reviewTick(f.store, f.config, { now: at(11.6), actor: "scheduler" })).reminded).toBe(0);
    // The next reminder day sends again, once.
    expect((await reviewTick(f.store, f.config, { now: at(13.2), actor: "scheduler" })).reminded).toBe(2);

    await decideItem(f.store, f.config, { itemId: undecided.id, decision: "certify" }, actor("E1"), at(12));
    const first = await reviewTick(f.store, f.config, { now: at(14), actor: "scheduler" });
    expect(first.extended).toEqual([c.id]);
    expect(await reviewItemRepository.find(f.store.db, high.id)).toMatchObject({
      state: "revoked-no-response",
      removalState: "pending",
    });
    expect(await reviewItemRepository.find(f.store.db, low.id)).toMatchObject({ state: "kept-no-response" });
    expect(await reviewItemRepository.find(f.store.db, medium.id)).toMatchObject({
      state: "pending",
      reviewerId: people.E1!.id,
      ruleReviewerId: people.E2!.id,
      rerouteReason: "escalated",
    });
    const extended = (await reviewCampaignRepository.find(f.store.db, c.id))!;
    expect(extended).toMatchObject({ status: "open", deadline: at(21).toISOString() });

    const second = await reviewTick(f.store, f.config, { now: at(21), actor: "scheduler" });
    expect(second.closed).toEqual([c.id]);
    expect(await reviewItemRepository.find(f.store.db, medium.id)).toMatchObject({
      state: "kept-no-response",
    });
    await expect(
      decideItem(f.store, f.config, { itemId: medium.id, decision: "certify" }, actor("E1"), at(22)),
    ).rejects.toMatchObject({ code: "campaign_closed", httpStatus: 409 });
    await expect(
      closeCampaign(f.store, f.config, c.id, { now: at(22), actor: "test", by: null }),
    ).rejects.toMatchObject({ code: "campaign_closed" });

    const report = await campaignReport(f.store, c.id, at(22));
    expect(report).toMatchObject({
      total: 4,
      decided: 1,
      completion: 25,
      byState: { certified: 1, "kept-no-response": 2, "revoked-no-response": 1 },
      revocations: { pending: 1 },
    });
    expect(report.overdueReviewers.map((r) => r.reviewerId).sort()).toEqual([people.E1!.id]);
    const closedEvents = await queryEvents(f.store.db, { subject: `campaign:${c.id}`, limit: 10 });
    expect(closedEvents.map((e) => e.action)).toEqual(["review.campaign_extended", "review.campaign_closed"]);
  });

  it("keeps an escalate item whose reviewer has nobody above, and closes at once rather than extend for nothing", async () => {
    const c = await campaign();
    // E1 has no manager: nobody to escalate to.
    const medium = await item(c, "E3", "E1", "medium");
    const closed = await closeCampaign(f.store, f.config, c.id, { now: at(14), actor: "test", by: null });
    expect(closed.status).toBe("closed");
    expect(await reviewItemRepository.find(f.store.db, medium.id)).toMatchObject({
      state: "kept-no-response",
    });
  });

  it("flags a reviewer whose one-by-one decisions take a second each as a rubber stamp", async () => {
    const c = await campaign();
    const items: ReviewItem[] = [];
    for (let i = 0; i < 12; i++) items.push(await item(c, i % 2 === 0 ? "E3" : "E4", "E1", "low"));
    for (const [i, it] of items.entries()) {
      await decideItem(
        f.store,
        f.config,
        { itemId: it.id, decision: "certify" },
        actor("E1"),
        new Date(at(1).getTime() + i * 1000),
      );
    }
    const report = await campaignReport(f.store, c.id, at(2));
    expect(report.reviewers).toEqual([
      expect.objectContaining({
        reviewerId: people.E1!.id,
        decided: 12,
        certified: 12,
        medianSecondsPerItem: 1,
        rubberStamp: true,
      }),
    ]);
  });
});
