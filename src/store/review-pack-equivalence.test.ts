import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories } from "../../test/helpers/databases.js";
import { testReviewItem } from "../../test/helpers/review-item.js";
import { PRIVILEGED_DETAIL, RISK_WEIGHTS } from "../domain/review-risk.js";
import type { RemovalState, ReviewItemState } from "../domain/review-types.js";
import { encodePackItem, packItemId } from "./review-pack-codec.js";
import { insertPacks } from "./review-pack-repository.js";
import { reviewProgressRepository } from "./review-progress-repository.js";
import {
  type ItemChange,
  type ItemFilter,
  type ReviewItem,
  reviewItemRepository,
} from "./review-repository.js";
import type { Db } from "./schema-types.js";

/**
 * A campaign stored packed (review_item_packs) reads exactly as the same campaign stored one row per item
 * (the path of campaigns started before packs), through every change the workflows make: after each
 * step of a random sequence, every read of the item and progress repositories answers the same on both.
 */

const CREATED = "2026-12-07T09:00:00.000Z";
/** Reviewers of the current run (an inbox spans campaigns: each run's own keeps the pages few). */
let REVIEWERS: readonly string[] = [];

interface Group {
  identity: number;
  reviewer: number | null;
  items: Array<{ role: number | null; ent: number; score: number; privileged: boolean; found: boolean }>;
}

const groupArb = fc.record({
  identity: fc.integer({ min: 0, max: 3 }),
  reviewer: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
  items: fc.array(
    fc.record({
      role: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
      ent: fc.integer({ min: 0, max: 3 }),
      // Few scores: ties are ordered by id.
      score: fc.constantFrom(10, 40, 40, 75, 90),
      privileged: fc.boolean(),
      found: fc.boolean(),
    }),
    { minLength: 1, maxLength: 6 },
  ),
});

type Op =
  | { kind: "decide"; item: number; state: "certified" | "revoked"; by: number }
  | { kind: "delegate"; item: number; to: number }
  | { kind: "reroute"; item: number; to: number | null }
  | { kind: "stage2"; item: number; to: number }
  | { kind: "removal"; item: number; state: RemovalState }
  | { kind: "stale"; item: number; state: "certified" | "revoked" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("decide" as const),
    item: fc.nat(),
    state: fc.constantFrom("certified" as const, "revoked" as const),
    by: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({ kind: fc.constant("delegate" as const), item: fc.nat(), to: fc.integer({ min: 0, max: 2 }) }),
  fc.record({
    kind: fc.constant("reroute" as const),
    item: fc.nat(),
    to: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
  }),
  fc.record({ kind: fc.constant("stage2" as const), item: fc.nat(), to: fc.integer({ min: 0, max: 2 }) }),
  fc.record({
    kind: fc.constant("removal" as const),
    item: fc.nat(),
    state: fc.constantFrom<RemovalState>("pending", "applied", "failed"),
  }),
  fc.record({
    kind: fc.constant("stale" as const),
    item: fc.nat(),
    state: fc.constantFrom("certified" as const, "revoked" as const),
  }),
);

function itemsOf(campaignId: string, groups: readonly Group[]): ReviewItem[][] {
  return groups.map((g, p) =>
    g.items.map((x, n): ReviewItem => {
      const access =
        x.role !== null
          ? { kind: "role" as const, role: `role-${x.role}` }
          : { kind: "entitlement" as const, system: "erp", entitlement: `ent-${x.ent}` };
      const reasons = x.found
        ? [{ code: "found-in-target-only" as const, detail: `found on account a${n}`, weight: 15 }]
        : x.privileged
          ? [{ code: "privileged" as const, detail: PRIVILEGED_DETAIL, weight: RISK_WEIGHTS.privileged }]
          : [];
      return testReviewItem({
        id: packItemId(campaignId, p, n),
        campaignId,
        identityId: `id-${g.identity}`,
        access,
        accessKey: access.kind === "role" ? `role:${access.role}` : `entitlement:erp:${access.entitlement}`,
        source: x.found ? "found" : "assignment",
        assignmentId: x.found ? null : `asg-${p}-${n}`,
        privileged: x.privileged,
        risk: {
          score: x.score,
          level: x.score >= 70 ? "high" : x.score >= 40 ? "medium" : "low",
          reasons,
          recommendation: x.score >= 70 ? "revoke" : "keep",
        },
        evidence: {
          lineage: x.found
            ? []
            : [
                {
                  kind: "assignment",
                  assignmentId: `asg-${p}-${n}`,
                  target: access.kind === "role" ? `role ${access.role}` : `erp:${access.entitlement}`,
                  validUntil: null,
                },
              ],
          lastUsedAt: null,
          peers: n % 2 === 0 ? null : { total: 10, holding: 2 },
          lastReview: null,
          sodRules: [],
        },
        reviewerId: g.reviewer === null ? null : REVIEWERS[g.reviewer]!,
        ruleReviewerId: n % 3 === 1 ? "rule-owner" : null,
        rerouteReason: n % 3 === 1 ? "self-review" : null,
        createdAt: CREATED,
      });
    }),
  );
}

async function storePacked(db: Db, campaignId: string, packs: readonly ReviewItem[][]): Promise<void> {
  await insertPacks(
    db,
    packs.map((items, p) => [
      campaignId,
      p,
      items[0]!.identityId,
      items[0]!.reviewerId,
      items.length,
      items.filter((i) => i.risk.level === "high").length,
      Math.max(...items.map((i) => i.risk.score)),
      `[${items.map((i) => encodePackItem(i, CREATED)).join(",")}]`,
      CREATED,
    ]),
  );
}

function changeOf(
  op: Op,
  item: ReviewItem,
  step: number,
): { change: ItemChange; states?: ReviewItemState[] } {
  const at = new Date(Date.parse(CREATED) + step * 60_000).toISOString();
  switch (op.kind) {
    case "decide":
    case "stale":
      return {
        change: {
          state: op.state,
          decidedBy: `p${op.kind === "decide" ? op.by : 0}`,
          decidedAt: at,
          comment: "ok",
        },
        states: ["pending"],
      };
    case "delegate":
      return {
        change: {
          reviewerId: REVIEWERS[op.to]!,
          ruleReviewerId: item.reviewerId,
          rerouteReason: "delegated",
        },
        states: ["pending"],
      };
    case "reroute":
      return {
        change: { reviewerId: op.to === null ? null : REVIEWERS[op.to]!, rerouteReason: "escalated" },
      };
    case "stage2":
      return {
        change: { stage: 1, reviewerId: REVIEWERS[op.to]!, ruleReviewerId: null },
        states: ["pending"],
      };
    case "removal":
      return {
        change: {
          removalState: op.state,
          removalAttempts: op.state === "failed" ? 1 : 0,
          removalNextAt: op.state === "pending" ? null : at,
          removalDetail: op.state === "failed" ? "target down" : null,
        },
      };
  }
}

/** Every page of `filter`, following `after`. */
async function pages(db: Db, filter: ItemFilter): Promise<ReviewItem[][]> {
  const out: ReviewItem[][] = [];
  let after: ItemFilter["after"];
  for (let n = 0; n < 100; n++) {
    const page = await reviewItemRepository.list(db, {
      ...filter,
      ...(after === undefined ? {} : { after }),
    });
    out.push(page);
    const last = page.at(-1);
    if (last === undefined || page.length < (filter.limit ?? 50)) return out;
    after = { score: last.risk.score, id: last.id };
  }
  throw new Error("paging did not end");
}

async function reads(db: Db, campaignId: string, ids: readonly string[]): Promise<Record<string, unknown>> {
  const lists: Record<string, unknown> = {};
  for (const reviewerId of [undefined, ...REVIEWERS]) {
    for (const states of [undefined, ["pending"], ["certified", "revoked"], []] as Array<
      ReviewItemState[] | undefined
    >) {
      // Unscoped and without a reviewer, a list spans every run's campaigns: only the first page.
      for (const scoped of reviewerId === undefined ? [true] : [true, false]) {
        const filter: ItemFilter = {
          limit: 3,
          ...(reviewerId === undefined ? {} : { reviewerId }),
          ...(states === undefined ? {} : { states }),
          ...(scoped ? { campaignId } : {}),
        };
        lists[JSON.stringify(filter)] = await pages(db, filter);
      }
    }
  }
  lists.firstPage = await reviewItemRepository.list(db, { limit: 5 });
  lists.identity = await pages(db, { campaignId, identityId: "id-1", limit: 2 });
  return {
    ...lists,
    find: await Promise.all(ids.map((id) => reviewItemRepository.find(db, id))),
    findMany: await reviewItemRepository.findMany(db, [...ids, "missing", `${campaignId}.999.0`]),
    all: await reviewItemRepository.all(db, { campaignId }, 4),
    allReviewer: await reviewItemRepository.all(db, { reviewerId: REVIEWERS[1]!, states: ["pending"] }, 3),
    countByState: await reviewItemRepository.countByState(db, campaignId),
    lastDecisions: [
      ...(await reviewItemRepository.lastDecisions(db, ["id-0", "id-1", "id-2", "id-3"])),
    ].sort(),
    // Ordered by decision time only: ties in any order.
    removalsDue: (await reviewItemRepository.removalsDue(db, "2099-01-01T00:00:00.000Z")).sort((a, b) =>
      a.id < b.id ? -1 : 1,
    ),
    byReviewer: await reviewProgressRepository.byReviewer(db, campaignId),
    byReviewerDecided: await reviewProgressRepository.byReviewer(db, campaignId, ["pending", "certified"]),
    decisionTimes: await reviewProgressRepository.decisionTimes(db, campaignId),
    removalCounts: await reviewProgressRepository.removalCounts(db, campaignId),
  };
}

describe.each(await storeFactories())("review items packed or as rows (%s)", (name, factory) => {
  let rows: Awaited<ReturnType<typeof factory>>;
  let packed: Awaited<ReturnType<typeof factory>>;
  beforeAll(async () => {
    rows = await factory();
    packed = await factory();
  });
  afterAll(async () => {
    await rows.dispose();
    await packed.dispose();
  });

  async function same(campaignId: string, ids: readonly string[]): Promise<void> {
    const want = await reads(rows.db, campaignId, ids);
    const got = await reads(packed.db, campaignId, ids);
    for (const key of Object.keys(want)) expect(got[key], key).toEqual(want[key]);
  }

  it("reads the same through every change", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(groupArb, { minLength: 1, maxLength: 12 }),
        fc.array(opArb, { minLength: 1, maxLength: 8 }),
        async (groups, ops) => {
          // A campaign per run: earlier runs' campaigns stay, the same in both stores (an inbox spans them).
          const campaignId = `c${name}${run}`;
          REVIEWERS = [`r1-${run}`, `r2-${run}`, `r3-${run}`];
          run++;
          const packs = itemsOf(campaignId, groups);
          // A campaign started before packs, whose items are rows in both stores, for the same reviewers.
          const older = itemsOf(`old-${campaignId}`, groups.slice(0, 2))
            .flat()
            .map((i, n) => ({ ...i, id: `0190aaaa-0000-7000-8000-${String(n).padStart(12, "0")}${run}` }));
          await reviewItemRepository.insertMany(rows.db, older);
          await reviewItemRepository.insertMany(packed.db, older);
          const items = packs.flat();
          const ids = items.map((i) => i.id);
          await reviewItemRepository.insertMany(rows.db, items);
          await storePacked(packed.db, campaignId, packs);
          await same(campaignId, ids);
          for (const [step, op] of ops.entries()) {
            const id = ids[op.item % ids.length]!;
            const current = (await reviewItemRepository.find(rows.db, id))!;
            expect(await reviewItemRepository.find(packed.db, id)).toEqual(current);
            const { change, states } = changeOf(op, current, step);
            // A stale writer: another changed the item since it was read.
            const version = op.kind === "stale" ? current.version + 1 : current.version;
            const done = await reviewItemRepository.update(rows.db, id, version, change, states);
            expect(await reviewItemRepository.update(packed.db, id, version, change, states)).toBe(done);
            // The same change again at the version read: only one of two writers at once wins.
            expect(await reviewItemRepository.update(packed.db, id, version, change, states)).toBe(
              await reviewItemRepository.update(rows.db, id, version, change, states),
            );
            await same(campaignId, ids);
          }
        },
      ),
      { numRuns: name === "sqlite" ? 30 : 12 },
    );
  }, 300_000);
});
