/**
 * A campaign written from the writer thread (a SQLite store in a file, store/large-write-transaction.ts)
 * is the campaign written in line: the same items with the same risk, reviewers and evidence, the same
 * event and notifications. Two starts of one definition at once end in one campaign: the other is
 * refused as `campaign_open` (SQLite's unique violation carried back from the thread) and leaves no
 * pack, event or notification behind.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reviewDefinition } from "../../test/helpers/review-definition.js";
import { REVIEW_SEED_YAML, seedReviewPeople } from "../../test/helpers/review-seed.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { openStore, type Store } from "../store/database.js";
import { type ReviewItem, reviewItemRepository } from "../store/review-repository.js";
import { ReviewRefusedError } from "./review-decisions.js";
import { startCampaign } from "./review-generation.js";

const NOW = new Date("2026-12-04T09:00:00Z");

/** What an item is, without the campaign it belongs to. */
const shape = (i: ReviewItem) => ({ ...i, id: i.id.split(".").slice(1).join("."), campaignId: "" });

describe("a campaign written from the writer thread (SQLite in a file)", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let store: Store;
  let config: TenureConfig;

  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(path.join(dir.dir, "tenure.yaml"), REVIEW_SEED_YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: {} });
    store = await openStore(`sqlite:${path.join(dir.dir, "t.db")}`);
    await seedReviewPeople(store.db, NOW, () => "Clerk");
  });
  afterAll(async () => {
    await store.close();
    await dir.dispose();
  });

  it("writes the same items, event and notifications as the transaction in line", async () => {
    const started = async (name: string, writerThreadRows: number) => {
      const s = await startCampaign(store.db, config, reviewDefinition({ name }), {
        now: NOW,
        startedBy: "token:admin",
        kind: "ad-hoc",
        writerThreadRows,
      });
      const id = s.campaign!.id;
      const items = await reviewItemRepository.list(store.db, { campaignId: id, limit: 10_000 });
      const [event] = await queryEvents(store.db, { subject: `campaign:${id}` });
      const { rows } = await sql<{ n: number }>`
        select count(*) as n from notifications where payload like ${`%${id}%`}`.execute(store.db);
      return { s, items, event, notices: Number(rows[0]!.n) };
    };
    const inThread = await started("threaded", 0);
    const inLine = await started("in-line", 1_000_000);
    // 60 birthright reads, 60 assignments, 6 entitlements added in the target directly.
    expect(inThread.s.items).toBe(126);
    expect(inThread.items.map(shape)).toEqual(inLine.items.map(shape));
    // The reasons are there to compare: privileged, never used, rare among peers, requested.
    expect(new Set(inThread.items.flatMap((i) => i.risk.reasons.map((r) => r.code)))).toEqual(
      new Set([
        "privileged",
        "never-used",
        "unused",
        "rare-among-peers",
        "requested",
        "never-reviewed",
        "found-in-target-only",
      ]),
    );
    expect({ ...inThread.event!.details, campaign: "", definition: "" }).toEqual({
      ...inLine.event!.details,
      campaign: "",
      definition: "",
    });
    expect(inThread.notices).toBe(10);
    expect(inLine.notices).toBe(10);
  });

  it("starts one campaign of two started at once; the other is refused and leaves nothing", async () => {
    const count = async (table: string) =>
      Number(
        (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!
          .n,
      );
    const before = await Promise.all(["review_item_packs", "audit_events", "notifications"].map(count));
    const start = () =>
      startCampaign(store.db, config, reviewDefinition({ name: "twice" }), {
        now: NOW,
        startedBy: "token:admin",
        kind: "ad-hoc",
        writerThreadRows: 0,
      });
    const results = await Promise.allSettled([start(), start()]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(lost[0]!.reason).toBeInstanceOf(ReviewRefusedError);
    expect((lost[0]!.reason as ReviewRefusedError).code).toBe("campaign_open");
    const after = await Promise.all(["review_item_packs", "audit_events", "notifications"].map(count));
    // One campaign's packs (one per holder and reviewer), one event, its notices: the loser wrote none.
    const packs = await count("review_item_packs");
    expect(after).toEqual([packs, before[1]! + 1, before[2]! + 10]);
    expect(packs - before[0]!).toBe(60);
  });
});
