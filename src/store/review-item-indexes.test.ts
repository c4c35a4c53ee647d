import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { type CompiledQuery, Kysely, SqliteDialect } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "./database.js";
import { reviewItemRepository } from "./review-repository.js";
import type { Database } from "./schema-types.js";

/**
 * The last-decision and removal indexes hold only decided items and items with a removal under way, so a
 * campaign's million fresh items are written without them; a partial index serves only a query whose
 * condition implies its own. These read SQLite's plan of the queries the repository sends.
 */
describe("review item partial indexes (SQLite)", () => {
  let dir: string;
  let store: Store;
  let sqlite: BetterSqlite3.Database;
  let logged: Kysely<Database>;
  const sent: CompiledQuery[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tenure-review-idx-"));
    const file = path.join(dir, "tenure.db");
    store = await openStore(`sqlite:${file}`);
    sqlite = new BetterSqlite3(file);
    logged = new Kysely<Database>({
      dialect: new SqliteDialect({ database: sqlite }),
      log: (event) => {
        if (event.level === "query") sent.push(event.query);
      },
    });
  });
  afterAll(async () => {
    await logged.destroy();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function planOf(run: (db: Kysely<Database>) => Promise<unknown>): Promise<string> {
    sent.length = 0;
    await run(logged);
    expect(sent).toHaveLength(1);
    const query = sent[0]!;
    const rows = sqlite.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[]));
    return (rows as Array<{ detail: string }>).map((r) => r.detail).join("\n");
  }

  it("stores the two indexes as partial", () => {
    const rows = sqlite
      .prepare("select name, sql from sqlite_master where type = 'index' and tbl_name = 'review_items'")
      .all() as Array<{ name: string; sql: string }>;
    const byName = new Map(rows.map((r) => [r.name, r.sql]));
    expect(byName.get("review_items_access_idx")).toMatch(/where "decided_at" is not null/i);
    expect(byName.get("review_items_removal_idx")).toMatch(/where "removal_state" is not null/i);
  });

  it("a reviewer's first page reads their packs through the packs' reviewer index", async () => {
    sent.length = 0;
    await reviewItemRepository.list(logged, { reviewerId: "m1", states: ["pending"], limit: 50 });
    const query = sent.find((q) => /from "review_item_packs"/.test(q.sql));
    expect(query).toBeDefined();
    const rows = sqlite.prepare(`explain query plan ${query!.sql}`).all(...(query!.parameters as unknown[]));
    expect((rows as Array<{ detail: string }>).map((r) => r.detail).join("\n")).toContain(
      "review_item_packs_reviewer_idx",
    );
  });

  it("the removal timer reads the removal index", async () => {
    const plan = await planOf((db) => reviewItemRepository.removalsDue(db, "2026-12-04T00:00:00.000Z"));
    expect(plan).toContain("review_items_removal_idx");
  });

  it("the last decisions of some identities read the access index", async () => {
    const plan = await planOf((db) => reviewItemRepository.lastDecisions(db, ["i-1", "i-2"]));
    expect(plan).toContain("review_items_access_idx");
  });
});
