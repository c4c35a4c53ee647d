import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { freshPostgresUrl, postgresAvailable } from "../../test/helpers/databases.js";
import { openStore } from "./database.js";
import { down, up } from "./migrations/2026-12-09T10-00-review-packs-lz4.js";
import { insertPacks } from "./review-pack-repository.js";

const available = await postgresAvailable();

/**
 * Migration 2026-12-09T10-00: on PostgreSQL a review pack's items are compressed with lz4 where the
 * server offers it (less of its CPU per campaign than its default, pglz), and read back unchanged.
 */
describe.skipIf(!available)("review packs compressed with lz4 on PostgreSQL", () => {
  it("compresses new packs with lz4 when the server has it, reads them back whole, and undoes it", async () => {
    const { url, drop } = await freshPostgresUrl();
    const store = await openStore(url);
    try {
      const offered = (
        await sql<{ lz4: boolean }>`select 'lz4' = any(enumvals) as lz4 from pg_settings
          where name = 'default_toast_compression'`.execute(store.db)
      ).rows[0]?.lz4;
      const method = async () =>
        (
          await sql<{ m: string }>`select attcompression::text as m from pg_attribute
            where attrelid = 'review_item_packs'::regclass and attname = 'items'`.execute(store.db)
        ).rows[0]?.m;
      // The store is migrated: the column's method is lz4 (the empty method is the server's default).
      expect(await method()).toBe(offered === true ? "l" : "");
      // Long enough to be compressed (PostgreSQL compresses values of about 2 kB and more).
      const items = JSON.stringify(
        Array.from({ length: 60 }, (_, n) => ["e:erp:e1", "assignment", `a-${n}`, 0, 20, "low", 0, "keep"]),
      );
      await insertPacks(store.db, [["c1", 0, "i1", "r1", 60, 0, 20, items, "2026-12-09T10:00:00.000Z"]]);
      const row = (
        await sql<{ items: string; m: string | null }>`select items, pg_column_compression(items) as m
          from review_item_packs where campaign_id = 'c1'`.execute(store.db)
      ).rows[0]!;
      expect(row.items).toBe(items);
      expect(row.m).toBe(offered === true ? "lz4" : "pglz");
      await down(store.db);
      expect(await method()).toBe("");
      await up(store.db);
      expect(await method()).toBe(offered === true ? "l" : "");
    } finally {
      await store.close();
      await drop();
    }
  });
});
