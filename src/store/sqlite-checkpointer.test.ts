/**
 * The checkpointer of a long-running process's SQLite store: a commit that takes the write-ahead log
 * past SQLite's 1,000 pages no longer copies the log into the database itself (the file has not grown
 * when the commit returns); the thread does, shortly after; the store's own checkpoint is only a bound
 * while the thread runs, and comes back when it stops. A store in memory has nothing to checkpoint.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/helpers/workspace.js";
import { openStore, type Store } from "./database.js";
import type { Db } from "./schema-types.js";
import { startCheckpointer } from "./sqlite-checkpointer.js";
import { openWorkerConnection } from "./sqlite-worker-connection.js";

const opened: Store[] = [];
const dirs: { dispose: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await d.dispose();
});

async function fileStore(): Promise<{ store: Store; file: string }> {
  const temp = await tempDir();
  dirs.push(temp);
  const file = path.join(temp.dir, "tenure.db");
  const store = await openStore(`sqlite:${file}`);
  opened.push(store);
  return { store, file };
}

async function autocheckpoint(db: Db): Promise<number> {
  const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  return Number(rows[0]!.wal_autocheckpoint);
}

/** About 8 MB in one transaction: some 2,000 pages of the log, twice SQLite's automatic checkpoint. */
async function writeMuch(db: Db): Promise<void> {
  await sql`create table if not exists filler (n integer, text text)`.execute(db);
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < 2_000; i++) {
      await sql`insert into filler values (${i}, ${"x".repeat(4_000)})`.execute(trx);
    }
  });
}

async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe("startCheckpointer", () => {
  it("takes the log's copy out of the commit, does it from its thread, and gives it back on stop", async () => {
    const { store, file } = await fileStore();
    const before = (await stat(file)).size;

    const checkpointer = await startCheckpointer(store.db, { intervalMs: 50 });
    expect(await autocheckpoint(store.db)).toBe(20_000);
    await writeMuch(store.db);
    // The commit returned without copying: SQLite's own checkpoint would have grown the file already.
    expect((await stat(file)).size).toBeLessThan(before + 4_000_000);
    // The thread copies it.
    expect(await eventually(async () => (await stat(file)).size >= before + 8_000_000)).toBe(true);

    await checkpointer.stop();
    expect(await autocheckpoint(store.db)).toBe(1_000);
    await checkpointer.stop();
  });

  it("without it, the same commit copies the log itself (what the checkpointer avoids)", async () => {
    const { store, file } = await fileStore();
    const before = (await stat(file)).size;
    await writeMuch(store.db);
    expect((await stat(file)).size).toBeGreaterThanOrEqual(before + 8_000_000);
  });

  it("gives the store its own checkpoints back, and says so once, when the thread's checkpoint fails", async () => {
    const { store } = await fileStore();
    const errors: unknown[] = [];
    let asked = 0;
    const checkpointer = await startCheckpointer(store.db, {
      intervalMs: 10,
      onError: (err) => errors.push(err),
      connect: (file) => {
        const real = openWorkerConnection(file, { readOnly: false });
        return {
          ...real,
          query: () => {
            asked++;
            return Promise.reject(new Error("the SQLite connection's thread ended (exit code 1)"));
          },
        };
      },
    });
    expect(await eventually(async () => (await autocheckpoint(store.db)) === 1_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(errors).toHaveLength(1);
    expect(asked).toBe(1);
    await checkpointer.stop();
    expect(await autocheckpoint(store.db)).toBe(1_000);
  });

  it("does nothing for a store in memory", async () => {
    const store = await openStore("sqlite::memory:");
    opened.push(store);
    const checkpointer = await startCheckpointer(store.db);
    expect(await autocheckpoint(store.db)).toBe(1_000);
    await checkpointer.stop();
  });
});
