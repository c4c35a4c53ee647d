import { sql } from "kysely";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { freshPostgresUrl, POSTGRES_ADMIN_URL, postgresAvailable } from "../../test/helpers/databases.js";
import { openStore, type Store } from "./database.js";
import { scimResourceRepository } from "./scim-resource-repository.js";

// A PostgreSQL store sends its parameterised statements named (pg-prepared.ts): parsed once per
// connection. What it must not change: results, also after the tables change under it.

const up = await postgresAvailable();
let open: Array<{ store: Store; drop: () => Promise<void> }> = [];

afterEach(async () => {
  for (const { store, drop } of open) {
    await store.close();
    await drop();
  }
  open = [];
});

async function freshStore(): Promise<Store> {
  const { url, drop } = await freshPostgresUrl();
  const store = await openStore(url);
  open.push({ store, drop });
  return store;
}

describe.skipIf(!up)("named statements on PostgreSQL", () => {
  it("prepares a parameterised statement once on a connection and runs it with each call's values", async () => {
    const { db } = await freshStore();
    const names = await db.transaction().execute(async (trx) => {
      const read = (seq: number) =>
        trx.selectFrom("audit_head").select(["seq", "hash"]).where("seq", "=", seq).execute();
      expect(await read(0)).toHaveLength(1);
      expect(await read(1)).toHaveLength(0);
      const { rows } = await sql<{ name: string; statement: string }>`
        select name, statement from pg_prepared_statements`.execute(trx);
      return rows.filter((r) => r.statement.includes('from "audit_head"'));
    });
    expect(names).toHaveLength(1);
    expect(names[0]!.name).toMatch(/^tenure_\d+_\d+$/);
  });

  it("never prepares a lookup by keys: it is planned on each run, with the table as it is then", async () => {
    const { db } = await freshStore();
    const prepared = await db.connection().execute(async (conn) => {
      // More runs than PostgreSQL makes custom plans before it settles on a generic one.
      for (let i = 0; i < 8; i++) await scimResourceRepository.findUserHolders(conn, `user.${i}`, `P${i}`);
      const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
        conn,
      );
      return rows.filter((r) => r.statement.includes("scim_resources"));
    });
    expect(prepared).toEqual([]);
  });

  it("keeps answering right when a table changes under statements it ran before", async () => {
    const store = await freshStore();
    const { db } = store;
    // Sequential queries run on the pool's one idle connection, which prepared them the first time.
    const star = () => db.selectFrom("audit_head").selectAll().where("id", "=", 1).execute();
    const listed = () => db.selectFrom("audit_head").select(["id", "seq"]).where("id", "=", 1).execute();
    expect(Object.keys((await star())[0]!)).toEqual(["id", "seq", "hash"]);
    expect(await listed()).toHaveLength(1);
    // Another process migrates: a prepared `select *` would fail "cached plan must not change result type".
    const other = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await other.connect();
    try {
      await other.query(`alter table "${store.schema}".audit_head add column note text`);
    } finally {
      await other.end();
    }
    expect(Object.keys((await star())[0]!)).toEqual(["id", "seq", "hash", "note"]);
    // This process migrates: what it prepared before is prepared again.
    await sql`alter table audit_head alter column seq type numeric`.execute(db);
    expect((await listed()).map((r) => String(r.seq))).toEqual(["0"]);
  });
});
