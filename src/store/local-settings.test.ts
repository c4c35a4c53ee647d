/**
 * Settings a large read sets for itself on PostgreSQL: in effect for its own statements, gone from the
 * pooled connection afterwards, and never set inside a caller's transaction (where they would outlast
 * the read). On SQLite the read runs as it is.
 */
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { withLocalSettings } from "./local-settings.js";
import type { Db } from "./schema-types.js";

const setting = async (db: Db, name: string) =>
  (await sql<{ v: string }>`select current_setting(${name}) as v`.execute(db)).rows[0]!.v;

describe.each(await storeFactories())("settings local to a read on %s", (kind, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("sets them for the read only, and not inside a caller's transaction", async () => {
    const settings = { work_mem: "32MB", max_parallel_workers_per_gather: "0" };
    if (kind !== "postgres") {
      expect(await withLocalSettings(store.db, settings, async (db) => db === store.db)).toBe(true);
      return;
    }
    const before = await setting(store.db, "work_mem");
    expect(before).not.toBe("32MB");
    const inside = await withLocalSettings(store.db, settings, async (db) => [
      await setting(db, "work_mem"),
      await setting(db, "max_parallel_workers_per_gather"),
    ]);
    expect(inside).toEqual(["32MB", "0"]);
    // The pool has one connection here or several: every one of them reads as before.
    const after = await Promise.all(Array.from({ length: 4 }, () => setting(store.db, "work_mem")));
    expect(after).toEqual(after.map(() => before));
    await store.db.transaction().execute(async (trx) => {
      const seen = await withLocalSettings(trx, settings, (db) => setting(db, "work_mem"));
      expect(seen).toBe(before);
      expect(await setting(trx, "work_mem")).toBe(before);
    });
  });
});
