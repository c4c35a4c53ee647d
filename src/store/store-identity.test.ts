/**
 * Issue 10, point 15 at the store: openStore refuses a store that is not Tenure's before writing
 * anything — on SQLite and PostgreSQL — and gives an empty one Tenure's schema only when asked to.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { freshPostgresUrl, POSTGRES_ADMIN_URL, postgresAvailable } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { openStore } from "./database.js";
import { NotATenureStoreError } from "./store-errors.js";

async function pgTables(schema: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await c.connect();
  try {
    const r = await c.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = $1 order by 1",
      [schema],
    );
    return r.rows.map((x) => x.name);
  } finally {
    await c.end();
  }
}

describe("openStore on SQLite", () => {
  it("refuses a missing, empty or foreign file without create, names it, and writes nothing", async () => {
    const { dir, dispose } = await tempDir("tenure-store-id-");
    try {
      const file = path.join(dir, "t.db");
      await expect(openStore(`sqlite:${file}`, { create: false })).rejects.toThrow(/does not exist/);
      await writeFile(file, "");
      await expect(openStore(`sqlite:${file}`, { create: false })).rejects.toThrow(NotATenureStoreError);
      expect((await readFile(file)).length).toBe(0);
      const foreign = new BetterSqlite3(file);
      foreign.exec("create table invoices (id integer primary key)");
      foreign.close();
      const before = await readFile(file);
      for (const create of [false, true]) {
        await expect(openStore(`sqlite:${file}`, { create })).rejects.toThrow(
          `sqlite:${file} holds another application's tables (invoices)`,
        );
      }
      expect((await readFile(file)).equals(before)).toBe(true);
    } finally {
      await dispose();
    }
  });

  it("creates the schema in an empty file when asked, and then opens it without create", async () => {
    const { dir, dispose } = await tempDir("tenure-store-id-");
    try {
      const url = `sqlite:${path.join(dir, "t.db")}`;
      await (await openStore(url, { create: true })).close();
      const store = await openStore(url, { create: false });
      expect(await store.db.selectFrom("identities").selectAll().execute()).toEqual([]);
      await store.close();
    } finally {
      await dispose();
    }
  });
});

describe.runIf(await postgresAvailable())("openStore on PostgreSQL", () => {
  it("refuses an empty schema without create, and creates one that does not exist yet when asked", async () => {
    const { url, drop } = await freshPostgresUrl();
    const schema = new URL(url).searchParams.get("schema") ?? "";
    try {
      await expect(openStore(url, { create: false })).rejects.toThrow(
        /is an empty database without Tenure's schema/,
      );
      expect(await pgTables(schema)).toEqual([]);
      await (await openStore(url, { create: true })).close();
      expect(await pgTables(schema)).toContain("identities");
      await (await openStore(url, { create: false })).close();
    } finally {
      await drop();
    }
    // A schema named but not there yet: init creates it.
    const fresh = `${POSTGRES_ADMIN_URL}?schema=${schema}_new`;
    try {
      await (await openStore(fresh, { create: true })).close();
      expect(await pgTables(`${schema}_new`)).toContain("identities");
    } finally {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      await c.query(`drop schema if exists "${schema}_new" cascade`);
      await c.end();
    }
  });

  it("refuses another application's schema, create or not, naming it and leaving it as it was", async () => {
    const { url, drop } = await freshPostgresUrl();
    const schema = new URL(url).searchParams.get("schema") ?? "";
    const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await c.connect();
    await c.query(`create table "${schema}".orders (id int)`);
    await c.end();
    try {
      for (const create of [false, true]) {
        await expect(openStore(url, { create })).rejects.toThrow(
          /holds another application's tables \(orders\)/,
        );
      }
      expect(await pgTables(schema)).toEqual(["orders"]);
    } finally {
      await drop();
    }
  });
});
