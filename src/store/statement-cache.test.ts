import BetterSqlite3 from "better-sqlite3";
import { Kysely, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { withStatementCache } from "./database.js";
import { ImmediateSqliteDialect } from "./sqlite-immediate-dialect.js";

// The SQLite statement cache of openStore: what it saves (compiling) and what it must not change (results).

interface Counted {
  db: Kysely<Record<string, Record<string, unknown>>>;
  /** Statements SQLite compiled so far. */
  compiled: () => number;
}

let open: Counted["db"][] = [];

function cachedDb(size?: number): Counted {
  const sqlite = new BetterSqlite3(":memory:");
  let compiled = 0;
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((text: string) => {
    compiled++;
    return prepare(text);
  }) as typeof sqlite.prepare;
  const db = new Kysely<Record<string, Record<string, unknown>>>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite, size) }),
  });
  open.push(db);
  return { db, compiled: () => compiled };
}

afterEach(async () => {
  await Promise.all(open.map((db) => db.destroy()));
  open = [];
});

describe("the SQLite statement cache", () => {
  it("compiles a statement once, whatever kind, and runs it with each call's parameters", async () => {
    const { db, compiled } = cachedDb();
    await sql`create table t (id integer primary key, name text)`.execute(db);
    const before = compiled();
    for (let i = 1; i <= 5; i++) {
      await db
        .insertInto("t")
        .values({ id: i, name: `n${i}` })
        .execute();
      await db
        .updateTable("t")
        .set({ name: `m${i}` })
        .where("id", "=", i)
        .execute();
      const row = await db.selectFrom("t").select("name").where("id", "=", i).executeTakeFirst();
      expect(row).toEqual({ name: `m${i}` });
    }
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom("t").where("id", "=", 1).execute();
    });
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom("t").where("id", "=", 2).execute();
    });
    // insert, update, select, delete, begin immediate, commit: six texts, each compiled once.
    expect(compiled() - before).toBe(6);
    expect((await db.selectFrom("t").select("id").execute()).map((r) => r.id)).toEqual([3, 4, 5]);
  });

  it("keeps at most its size, dropping the least recently used", async () => {
    const { db, compiled } = cachedDb(2);
    const one = sql`select 1 as v`;
    const two = sql`select 2 as v`;
    const three = sql`select 3 as v`;
    await one.execute(db);
    await two.execute(db);
    await one.execute(db); // one is now the most recently used
    expect(compiled()).toBe(2);
    await three.execute(db); // drops two
    await one.execute(db);
    expect(compiled()).toBe(3);
    await two.execute(db);
    expect(compiled()).toBe(4);
    expect((await three.execute(db)).rows).toEqual([{ v: 3 }]);
  });

  it("answers from the schema as it is now after a table changes or is made again", async () => {
    const { db } = cachedDb();
    await sql`create table t (a integer)`.execute(db);
    await sql`insert into t values (1)`.execute(db);
    const all = sql<Record<string, unknown>>`select * from t`;
    expect((await all.execute(db)).rows).toEqual([{ a: 1 }]);
    await sql`alter table t add column b text default 'x'`.execute(db);
    expect((await all.execute(db)).rows).toEqual([{ a: 1, b: "x" }]);
    await sql`drop table t`.execute(db);
    await expect(all.execute(db)).rejects.toThrow(/no such table/);
    await sql`create table t (c text)`.execute(db);
    await sql`insert into t values ('z')`.execute(db);
    expect((await all.execute(db)).rows).toEqual([{ c: "z" }]);
  });

  it("gives a fresh statement while the cached one is still being read, and the cached one after", () => {
    const sqlite = new BetterSqlite3(":memory:");
    try {
      const cached = withStatementCache(sqlite);
      cached.exec("create table t (id integer); insert into t values (0), (1), (2)");
      const text = "select id from t order by id";
      const first = cached.prepare(text);
      const rows = first.iterate() as IterableIterator<{ id: number }>;
      expect(rows.next().value).toEqual({ id: 0 });
      const second = cached.prepare(text);
      expect(second).not.toBe(first);
      expect(second.all()).toEqual([{ id: 0 }, { id: 1 }, { id: 2 }]);
      expect([...rows]).toEqual([{ id: 1 }, { id: 2 }]);
      expect(cached.prepare(text)).toBe(first);
    } finally {
      sqlite.close();
    }
  });
});
