/**
 * The review population's reader thread: a SQLite connection of its own that answers compiled queries
 * with rows as arrays, sees what the store committed, fails a bad statement with SQLite's words, and
 * refuses queries once closed. `sqliteFileOf` names the file only for a SQLite store in a file.
 */
import path from "node:path";
import { CompiledQuery } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { openStore, type Store, sqliteFileOf } from "./database.js";
import { openArrayRowReader } from "./review-population-reader.js";

describe("the review population's reader thread", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let store: Store;
  let file: string;

  beforeAll(async () => {
    dir = await tempDir();
    file = path.join(dir.dir, "t.db");
    store = await openStore(`sqlite:${file}`);
  });
  afterAll(async () => {
    await store.close();
    await dir.dispose();
  });

  it("names the file of a SQLite store in a file, and nothing else", async () => {
    expect(sqliteFileOf(store.db)).toBe(file);
    await store.db.transaction().execute(async (trx) => {
      expect(sqliteFileOf(trx)).toBeNull();
    });
    for (const [kind, make] of await storeFactories()) {
      const other = await make();
      try {
        // The factories' SQLite store is in memory.
        expect([kind, sqliteFileOf(other.db)]).toEqual([kind, null]);
      } finally {
        await other.dispose();
      }
    }
  });

  it("answers with rows as arrays, sees what is committed, and reports a failing statement", async () => {
    await store.db.executeQuery(CompiledQuery.raw("create table t (a integer, b text)"));
    await store.db.executeQuery(CompiledQuery.raw("insert into t values (1, 'x'), (2, null)"));
    const reader = openArrayRowReader(file);
    try {
      const select = CompiledQuery.raw("select a, b from t where a >= ? order by a", [1]);
      expect(await reader.query(select)).toEqual([
        [1, "x"],
        [2, null],
      ]);
      await store.db.executeQuery(CompiledQuery.raw("insert into t values (3, 'y')"));
      expect(await reader.query(select)).toHaveLength(3);
      await expect(reader.query(CompiledQuery.raw("select x from nowhere"))).rejects.toThrow(
        /no such table: nowhere/,
      );
      // It only reads (a statement returning no rows is refused before SQLite would refuse the write).
      await expect(reader.query(CompiledQuery.raw("delete from t"))).rejects.toThrow();
      expect(await reader.query(select)).toHaveLength(3);
    } finally {
      await reader.close();
    }
    await expect(reader.query(CompiledQuery.raw("select 1"))).rejects.toThrow(/ended/);
  });

  it("closes with a query still pending without rejecting it (nobody awaits a page asked for ahead)", async () => {
    const reader = openArrayRowReader(file);
    // Not awaited, as a load's page asked for ahead when the load fails: a rejection would be unhandled
    // (vitest fails the run on one).
    void reader.query(
      CompiledQuery.raw(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 300000) select count(*) from n",
      ),
    );
    await reader.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(reader.query(CompiledQuery.raw("select 1"))).rejects.toThrow(/ended/);
  });
});
