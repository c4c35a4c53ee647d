import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "./database.js";

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve("better-sqlite3");

/**
 * Another process writing to the store the way `tenure serve` does: short write transactions one after
 * the other (each holding the lock `holdMs`), for `forMs`. Resolves once it holds its first lock.
 */
function startWriter(file: string, holdMs: number, forMs: number): Promise<ChildProcess> {
  const script = `
    const Database = require(${JSON.stringify(BETTER_SQLITE3)});
    const db = new Database(${JSON.stringify(file)});
    db.pragma("busy_timeout = 10000");
    const insert = db.prepare("insert into writer_probe (at) values (?)");
    const spin = (ms) => { const s = Date.now(); while (Date.now() - s < ms); };
    const end = Date.now() + ${forMs};
    let first = true;
    while (Date.now() < end) {
      db.exec("BEGIN IMMEDIATE");
      insert.run(Date.now());
      if (first) { process.stdout.write("holding\\n"); first = false; }
      spin(${holdMs});
      db.exec("COMMIT");
      spin(1);
    }
    db.close();`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`the writer exited (${code}) before writing`)));
  });
}

describe("SQLite transactions next to another process that writes", () => {
  let dir: string;
  let store: Store | undefined;
  let writer: ChildProcess | undefined;
  afterEach(async () => {
    if (writer !== undefined && writer.exitCode === null) {
      const exited = new Promise((resolve) => writer?.once("exit", resolve));
      writer.kill();
      await exited;
    }
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("wait for the write lock instead of failing at once when they read before they write", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tenure-immediate-"));
    const file = path.join(dir, "tenure.db");
    store = await openStore(`sqlite:${file}`);
    await sql`create table writer_probe (at integer not null)`.execute(store.db);
    await sql`create table mine (n integer not null)`.execute(store.db);
    writer = await startWriter(file, 15, 3000);

    // The shape of `tenure token create`: check first, then insert, in one transaction. With a deferred
    // BEGIN, SQLite answered SQLITE_BUSY at the insert without waiting (the other process wrote since
    // the read), so this failed on its first round.
    for (let n = 0; n < 30; n++) {
      await store.db.transaction().execute(async (trx) => {
        await sql`select count(*) as c from writer_probe`.execute(trx);
        await sql`insert into mine (n) values (${n})`.execute(trx);
      });
    }
    const mine = await sql<{ c: number }>`select count(*) as c from mine`.execute(store.db);
    expect(mine.rows[0]?.c).toBe(30);
  }, 30_000);

  it("waits out a lock held longer than a moment, within the busy timeout", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tenure-immediate-"));
    const file = path.join(dir, "tenure.db");
    store = await openStore(`sqlite:${file}`);
    await sql`create table writer_probe (at integer not null)`.execute(store.db);
    writer = await startWriter(file, 1500, 1);
    const started = Date.now();
    await store.db.transaction().execute(async (trx) => {
      await sql`select count(*) as c from writer_probe`.execute(trx);
      await sql`insert into writer_probe (at) values (0)`.execute(trx);
    });
    // It waited for the other process's commit (the busy timeout is 10 s), then wrote.
    expect(Date.now() - started).toBeGreaterThan(500);
  }, 30_000);
});
