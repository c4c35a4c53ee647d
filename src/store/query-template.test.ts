import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { QueryTemplates } from "./query-template.js";

// A query built once per shape must be, for every call's values, the query built afresh with them.

interface Db {
  t: { id: string; n: number; at: string };
}
const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: new BetterSqlite3(":memory:") }) });
afterAll(() => db.destroy());

const direct = (ids: readonly string[], at: string, limit: number) =>
  db
    .updateTable("t")
    .set({ at })
    .where(
      "id",
      "in",
      db.selectFrom("t").select("id").where("id", "in", ids).where("n", "!=", 7).limit(limit),
    )
    .returningAll()
    .compile();

describe("query templates", () => {
  it("give each call's values in the places the query built afresh would, and keep its constants", () => {
    const templates = new QueryTemplates();
    let built = 0;
    const viaTemplate = (ids: readonly string[], at: string, limit: number) =>
      templates.compile(
        `${ids.length}`,
        (value) => {
          built++;
          return db
            .updateTable("t")
            .set({ at: value("at") })
            .where(
              "id",
              "in",
              db
                .selectFrom("t")
                .select("id")
                .where(
                  "id",
                  "in",
                  ids.map((_, i) => value(`id${i}`)),
                )
                .where("n", "!=", 7)
                .limit(value("limit") as unknown as number),
            )
            .returningAll();
        },
        { at, limit, ...Object.fromEntries(ids.map((id, i) => [`id${i}`, id])) },
      );
    for (const [ids, at, limit] of [
      [["a", "b"], "2026-01-01", 5],
      [["c", "d"], "2026-02-02", 9],
      [["e"], "2026-03-03", 1],
    ] as const) {
      const got = viaTemplate(ids, at, limit);
      const want = direct(ids, at, limit);
      expect({ sql: got.sql, parameters: got.parameters }).toEqual({
        sql: want.sql,
        parameters: want.parameters,
      });
    }
    expect(built).toBe(2);
  });

  it("refuses a call that leaves a value out rather than run the marker", () => {
    const templates = new QueryTemplates();
    const build = (value: (name: string) => string) =>
      db.selectFrom("t").selectAll().where("id", "=", value("id"));
    expect(() => templates.compile("k", build, {})).toThrow(/no value for id/);
  });
});
