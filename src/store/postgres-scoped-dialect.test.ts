import { randomBytes } from "node:crypto";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPostgresUrl, POSTGRES_ADMIN_URL, postgresAvailable } from "../../test/helpers/databases.js";
import { openStore } from "./database.js";
import { ScopedPostgresDialect } from "./postgres-scoped-dialect.js";

const up = await postgresAvailable();

describe.skipIf(!up)("a PostgreSQL store's introspection", () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
  });

  it("sees only the store's own schema, not a neighbour's tables", async () => {
    const own = await freshPostgresUrl();
    const other = `n_${randomBytes(6).toString("hex")}`;
    await admin.query(`create schema "${other}"`);
    await admin.query(`create table "${other}".kysely_migration (name text, id serial)`);
    const schema = new URL(own.url).searchParams.get("schema") ?? "";
    const pool = new pg.Pool({ connectionString: POSTGRES_ADMIN_URL, options: `-c search_path=${schema}` });
    const db = new Kysely({ dialect: new ScopedPostgresDialect({ pool }) });
    try {
      await db.schema.createTable("mine").addColumn("id", "serial").execute();
      const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
      expect(tables.map((t) => [t.schema, t.name])).toEqual([[schema, "mine"]]);
      // Kysely's own introspector reads the neighbour too: the scan this dialect exists to avoid.
      const stock = new Kysely({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: POSTGRES_ADMIN_URL }) }),
      });
      const all = await stock.introspection.getTables({ withInternalKyselyTables: true });
      await stock.destroy();
      expect(all.some((t) => t.schema === other)).toBe(true);
    } finally {
      await db.destroy();
      await admin.query(`drop schema "${other}" cascade`);
      await own.drop();
    }
  });

  it("opens and migrates stores while other schemas are created and dropped around it", async () => {
    let churning = true;
    const churn = (async () => {
      while (churning) {
        const name = `c_${randomBytes(6).toString("hex")}`;
        await admin.query(`create schema "${name}"; create table "${name}".t (id serial, a text, b text)`);
        await admin.query(`drop schema "${name}" cascade`);
      }
    })();
    try {
      for (let i = 0; i < 8; i++) {
        const { url, drop } = await freshPostgresUrl();
        const store = await openStore(url);
        await store.close();
        await drop();
      }
    } finally {
      churning = false;
      await churn;
    }
  });
});
