/**
 * A large write transaction in a thread of its own (SQLite in a file): what `insert` sends and what the
 * transaction runs commit together; a row that fails, or an error of the caller, leaves nothing — in
 * the table, in the ledger — and the failure keeps SQLite's code; the store's own connection waits for
 * it. Elsewhere (in memory, PostgreSQL with its inserts pipelined, few rows) it is an ordinary
 * transaction with the same contract: on PostgreSQL the failing insert's error is the one reported, not
 * the "transaction is aborted" of the statements queued after it.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { appendEvents, verifyLedger } from "../audit/ledger.js";
import { openStore, type Store } from "./database.js";
import { largeWriteTransaction } from "./large-write-transaction.js";
import type { Db } from "./schema-types.js";
import { isUniqueViolation } from "./store-errors.js";

const SPEC = { table: "writer_t", columns: ["id", "text"] } as const;

async function count(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from writer_t`.execute(db);
  return Number(rows[0]!.n);
}

async function events(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from audit_events`.execute(db);
  return Number(rows[0]!.n);
}

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => [from + i, `row ${from + i}`]);

async function writeSome(db: Db, threadRows: number, batches: unknown[][][], fail?: () => void) {
  return largeWriteTransaction(db, 1_000, { threadRows }, async (trx, insert) => {
    for (const batch of batches) await insert(SPEC, batch);
    await appendEvents(trx, [
      { time: "2026-12-05T10:00:00.000Z", actor: "test", action: "test.written", subject: "t", details: {} },
    ]);
    fail?.();
    return count(trx);
  });
}

describe("a large write transaction in a thread (SQLite in a file)", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let store: Store;

  beforeAll(async () => {
    dir = await tempDir();
    store = await openStore(`sqlite:${path.join(dir.dir, "t.db")}`);
    await sql`create table writer_t (id integer primary key, text text not null)`.execute(store.db);
  });
  afterAll(async () => {
    await store.close();
    await dir.dispose();
  });

  it("commits what insert sent with what the transaction ran, in order, and the ledger still verifies", async () => {
    const before = await events(store.db);
    const seen = await writeSome(store.db, 0, [rows(0, 1_000), rows(1_000, 1_000), [], rows(2_000, 7)]);
    // The transaction's own query saw every batch sent before it.
    expect(seen).toBe(2_007);
    expect(await count(store.db)).toBe(2_007);
    expect(await events(store.db)).toBe(before + 1);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("leaves nothing when a row fails (its SQLite code kept) or the caller throws", async () => {
    const [rowsBefore, eventsBefore] = [await count(store.db), await events(store.db)];
    // Row 5 exists: the second batch fails in the thread; the caller learns it at its next query.
    const failed = await writeSome(store.db, 0, [rows(10_000, 100), rows(5, 1)]).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(String(failed)).toMatch(/UNIQUE constraint failed: writer_t\.id/);
    expect(isUniqueViolation(failed)).toBe(true);
    const thrown = await writeSome(store.db, 0, [rows(20_000, 100)], () => {
      throw new Error("the caller's own failure");
    }).catch((e: unknown) => e);
    expect(String(thrown)).toMatch(/the caller's own failure/);
    expect([await count(store.db), await events(store.db)]).toEqual([rowsBefore, eventsBefore]);
    // The failure ended with its transaction: the next one writes.
    await writeSome(store.db, 0, [rows(30_000, 10)]);
    expect(await count(store.db)).toBe(rowsBefore + 10);
  });

  it("holds the store's connection meanwhile: the process's other store work runs after the commit", async () => {
    const order: string[] = [];
    let other: Promise<void> | undefined;
    await largeWriteTransaction(store.db, 1_000, { threadRows: 0 }, async (trx, insert) => {
      // Started inside: waits for the store's connection, so it sees the committed rows.
      other = count(store.db).then((n) => {
        order.push(`other saw ${n}`);
      });
      await insert(SPEC, rows(40_000, 50));
      await new Promise((resolve) => setTimeout(resolve, 50));
      order.push(`transaction saw ${await count(trx)}`);
    });
    await other;
    const total = await count(store.db);
    expect(order).toEqual([`transaction saw ${total}`, `other saw ${total}`]);
  });
  it("copies the log into the database after the commit, in the thread, while the caller goes on", async () => {
    const file = path.join(dir.dir, "t.db");
    const before = (await stat(file)).size;
    const wide = (from: number) => rows(from, 2_000).map(([id]) => [id, "x".repeat(1_000)]);
    await largeWriteTransaction(store.db, 1_000, { threadRows: 0 }, async (_trx, insert) => {
      for (let b = 0; b < 5; b++) await insert(SPEC, wide(100_000 + b * 2_000));
    });
    // About 10 MB: in the log at the commit (its connection does not checkpoint), in the file soon after.
    let size = (await stat(file)).size;
    for (let i = 0; i < 100 && size - before < 8_000_000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      size = (await stat(file)).size;
    }
    expect(size - before).toBeGreaterThan(8_000_000);
  });
});

describe.each(await storeFactories())("a large write transaction on %s (no thread)", (_kind, makeStore) => {
  it("commits inserts with the transaction, and leaves nothing when it fails", async () => {
    const store = await makeStore();
    try {
      await sql`create table writer_t (id integer primary key, text text not null)`.execute(store.db);
      const eventsBefore = await events(store.db);
      expect(await writeSome(store.db, 0, [rows(0, 10), [], rows(10, 5)])).toBe(15);
      const failed = await writeSome(store.db, 0, [rows(100, 10), rows(3, 1)]).catch((e: unknown) => e);
      expect(isUniqueViolation(failed)).toBe(true);
      expect([await count(store.db), await events(store.db)]).toEqual([15, eventsBefore + 1]);
    } finally {
      await store.dispose();
    }
  });
});
