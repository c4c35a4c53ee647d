import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPostgresUrl, POSTGRES_ADMIN_URL, postgresAvailable } from "../../test/helpers/databases.js";
import { openStore, type Store } from "../store/database.js";
import type { Database } from "../store/schema-types.js";
import { type AuditEventInput, appendEvents, queryEvents, verifyLedger } from "./ledger.js";
import { lockLedger } from "./ledger-lock.js";

const event = (subject: string): AuditEventInput => ({
  time: "2026-12-06T10:00:00.000Z",
  actor: "test",
  action: "account.recorded",
  subject,
  details: { subject },
});

type Opened = { db: Kysely<Database>; sent: string[]; close: () => Promise<void> };

/** A second handle on a store, logging the statements it sends. */
function logged(dialect: SqliteDialect | PostgresDialect, cleanup: () => Promise<void>): Opened {
  const sent: string[] = [];
  const db = new Kysely<Database>({
    dialect,
    log: (e) => void (e.level === "query" && sent.push(e.query.sql)),
  });
  return {
    db,
    sent,
    close: async () => {
      await db.destroy();
      await cleanup();
    },
  };
}

const stores: Array<[string, () => Promise<Opened>]> = [
  [
    "SQLite",
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-ledger-lock-"));
      const file = path.join(dir, "tenure.db");
      const store: Store = await openStore(`sqlite:${file}`);
      return logged(new SqliteDialect({ database: new BetterSqlite3(file) }), async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      });
    },
  ],
];
if (await postgresAvailable())
  stores.push([
    "PostgreSQL",
    async () => {
      const schema = await freshPostgresUrl();
      const store = await openStore(schema.url);
      const name = new URL(schema.url).searchParams.get("schema")!;
      const pool = new pg.Pool({ connectionString: POSTGRES_ADMIN_URL, options: `-c search_path=${name}` });
      return logged(new PostgresDialect({ pool }), async () => {
        await store.close();
        await schema.drop();
      });
    },
  ]);

describe.each(stores)("the ledger's lock on %s", (_name, open) => {
  let opened: Opened;
  beforeAll(async () => {
    opened = await open();
  });
  afterAll(() => opened.close());

  it("is taken once: the append after it uses the head the lock read, and an append after that reads it again", async () => {
    const { db, sent } = opened;
    await appendEvents(db, [event("before")]);
    sent.length = 0;
    await db.transaction().execute(async (trx) => {
      await lockLedger(trx);
      await trx.selectFrom("accounts").select("id").execute();
      await appendEvents(trx, [event("a1"), event("a2")]);
      await appendEvents(trx, [event("b1")]);
    });
    // The lock, the first append's move of the head, the second append's lock and its move (five before,
    // when the first append locked and read the head again).
    expect(sent.filter((q) => q.includes("audit_head"))).toHaveLength(4);
    // Another transaction's append locks the head itself.
    sent.length = 0;
    await db.transaction().execute((trx) => appendEvents(trx, [event("c1")]));
    expect(sent.filter((q) => q.includes("audit_head"))).toHaveLength(2);

    const events = await queryEvents(db, { action: "account.recorded", limit: 10 });
    expect(events.map((e) => [e.seq, e.subject])).toEqual([
      [1, "before"],
      [2, "a1"],
      [3, "a2"],
      [4, "b1"],
      [5, "c1"],
    ]);
    expect((await verifyLedger(db)).ok).toBe(true);
  });

  it("keeps nothing from a transaction that rolled back", async () => {
    const { db } = opened;
    const head = await db.selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow();
    await expect(
      db.transaction().execute(async (trx) => {
        await lockLedger(trx);
        await appendEvents(trx, [event("gone")]);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    await appendEvents(db, [event("after")]);
    const after = await queryEvents(db, { subject: "after" });
    expect(after.map((e) => [e.seq, e.prevHash])).toEqual([[Number(head.seq) + 1, head.hash]]);
    expect((await verifyLedger(db)).ok).toBe(true);
  });
});
