/**
 * A campaign computed in two threads (workflows/review-split.ts: the second half of everyone by id in a
 * worker thread, each half scored with everyone's peer counts) is the campaign computed in one: the same
 * items with the same risk, reviewers and evidence, the same event and notifications, on a SQLite store
 * in a file and on PostgreSQL. A worker whose configuration is no longer the campaign's refuses, and the
 * campaign is then computed in one thread, the same again.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPostgresUrl, postgresAvailable } from "../../test/helpers/databases.js";
import { reviewDefinition } from "../../test/helpers/review-definition.js";
import { REVIEW_SEED_YAML, seedReviewPeople } from "../../test/helpers/review-seed.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { openStore, type Store } from "../store/database.js";
import { type ReviewItem, reviewItemRepository } from "../store/review-repository.js";
import { startCampaign } from "./review-generation.js";

const NOW = new Date("2026-12-04T09:00:00Z");

/** An item by what it is: its holder and access, without its campaign or place in a pack. */
const shape = (i: ReviewItem) => ({ ...i, id: "", campaignId: "" });
const byHolderAndAccess = (a: ReviewItem, b: ReviewItem) =>
  a.identityId === b.identityId ? (a.accessKey < b.accessKey ? -1 : 1) : a.identityId < b.identityId ? -1 : 1;

const stores: Array<[string, (dir: string) => Promise<Store & { drop?: () => Promise<void> }>]> = [
  ["sqlite in a file", (dir) => openStore(`sqlite:${path.join(dir, "t.db")}`)],
];
if (await postgresAvailable()) {
  stores.push([
    "postgres",
    async () => {
      const { url, drop } = await freshPostgresUrl();
      return { ...(await openStore(url)), drop };
    },
  ]);
}

describe.each(stores)("a campaign computed in two threads on %s", (_kind, open) => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let store: Store & { drop?: () => Promise<void> };
  let config: TenureConfig;

  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(path.join(dir.dir, "tenure.yaml"), REVIEW_SEED_YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: {} });
    store = await open(dir.dir);
    await seedReviewPeople(store.db, NOW, (n) => (n % 3 === 0 ? "Lead" : "Clerk"));
  });
  afterAll(async () => {
    await store.close();
    await store.drop?.();
    await dir.dispose();
  });

  const started = async (name: string, splitIdentities: number) => {
    const s = await startCampaign(store.db, config, reviewDefinition({ name }), {
      now: NOW,
      startedBy: "token:admin",
      kind: "ad-hoc",
      writerThreadRows: 0,
      splitIdentities,
    });
    const id = s.campaign!.id;
    const items = await reviewItemRepository.list(store.db, { campaignId: id, limit: 10_000 });
    const [event] = await queryEvents(store.db, { subject: `campaign:${id}` });
    const { rows } = await sql<{ n: number }>`
      select count(*) as n from notifications where payload like ${`%${id}%`}`.execute(store.db);
    return { s, items: [...items].sort(byHolderAndAccess), event, notices: Number(rows[0]!.n) };
  };

  const expectSame = (a: Awaited<ReturnType<typeof started>>, b: Awaited<ReturnType<typeof started>>) => {
    expect(a.s.items).toBe(126);
    expect(a.items.map(shape)).toEqual(b.items.map(shape));
    expect([...a.s.byReviewer].sort()).toEqual([...b.s.byReviewer].sort());
    expect({ ...a.event!.details, campaign: "", definition: "" }).toEqual({
      ...b.event!.details,
      campaign: "",
      definition: "",
    });
    expect([a.notices, b.notices]).toEqual([10, 10]);
  };

  it("writes the same items, event and notifications as one thread", async () => {
    const one = await started("one-thread", Number.POSITIVE_INFINITY);
    const two = await started("two-threads", 0);
    expectSame(two, one);
    expect([one.s.threads, two.s.threads]).toEqual([1, 2]);
    // Peer statistics of the whole: each group (a department and a title) has people in both halves.
    expect(new Set(two.items.map((i) => i.evidence.peers?.total))).toEqual(new Set([9, 19]));
  });

  it("leaves nothing behind when the worker fails while scoring", async () => {
    const count = async (table: string) =>
      Number(
        (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!
          .n,
      );
    const tables = ["review_campaigns", "review_item_packs", "audit_events", "notifications"];
    const before = await Promise.all(tables.map(count));
    process.env.TENURE_TEST_SPLIT_FAIL = "scoring";
    try {
      await expect(started("failing", 0)).rejects.toThrow(
        /second thread failed: failed on purpose while scoring/,
      );
    } finally {
      delete process.env.TENURE_TEST_SPLIT_FAIL;
    }
    expect(await Promise.all(tables.map(count))).toEqual(before);
  });

  it("computes everyone in one thread when the worker's configuration is not the campaign's", async () => {
    const file = path.join(dir.dir, "tenure.yaml");
    const text = await readFile(file, "utf8");
    // Changed after the campaign's configuration was loaded: the worker reads this one.
    await writeFile(file, text.replace("payments: {}", "payments: {}\n    refunds: {}"));
    try {
      const one = await started("one-thread-again", Number.POSITIVE_INFINITY);
      const refused = await started("refused", 0);
      expectSame(refused, one);
      expect(refused.s.threads).toBe(1);
    } finally {
      await writeFile(file, text);
    }
  });
});
