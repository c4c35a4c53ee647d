/**
 * Issue 10, point 14 through the API: a sync while another process runs one is 409 `sync_running`
 * naming the holder, and changes nothing; a store that cannot take a write (a full disk) is said in
 * one line naming the store, never a raw driver error.
 */
import { appendFile } from "node:fs/promises";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer, FIXTURE_NOW } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { withRunLock } from "../store/run-lock.js";

async function count(f: ApiFixture, table: "audit_events" | "identities"): Promise<number> {
  const row = await f.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe.each(await storeFactories())("the API on %s when the store is taken or full", (kind, makeStore) => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture(makeStore);
  });
  afterAll(() => f.dispose());
  const sync = () =>
    f.app.inject({ method: "POST", url: "/api/sync", headers: bearer(f.tokenFor.admin), payload: {} });

  it("POST /api/sync while another process runs a sync: 409 sync_running naming it; nothing changes", async () => {
    const before = await count(f, "audit_events");
    let release: () => void = () => {};
    const held = withRunLock(
      f.store,
      "sync",
      { command: "tenure sync (elsewhere)", now: FIXTURE_NOW },
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    try {
      await expect
        .poll(async () => (await f.store.db.selectFrom("run_locks").selectAll().execute()).length)
        .toBe(1);
      const res = await sync();
      expect(res.statusCode, res.body).toBe(409);
      const body = res.json();
      expect(body.error.code).toBe("sync_running");
      expect(body.error.message).toContain("a sync is running");
      expect(body.error.message).toContain(`pid ${process.pid}`);
      expect(body.error.message).toContain("tenure sync (elsewhere)");
      expect(await count(f, "audit_events")).toBe(before);
    } finally {
      release();
      await held;
    }
    // Once the other sync has finished, a sync runs.
    expect((await sync()).statusCode).toBe(200);
    expect(await f.store.db.selectFrom("run_locks").selectAll().execute()).toEqual([]);
  });

  it.runIf(kind === "sqlite")(
    "a full disk: 507 store_full, one line naming the store, no driver error",
    async () => {
      const more = Array.from(
        { length: 400 },
        (_, i) => `N${i},New${i},Person${i},n${i}@example.test,Eng,Dev,,employee,active,2026-01-05,,`,
      );
      await appendFile(path.join(f.dir, "hr.csv"), `${more.join("\n")}\n`);
      // SQLite's own limit on the database's size: the next page it needs is refused with SQLITE_FULL,
      // exactly as when the disk under the file is full.
      const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(f.store.db)).rows[0]
        ?.page_count;
      await sql.raw(`pragma max_page_count = ${pages}`).execute(f.store.db);
      try {
        const res = await sync();
        expect(res.statusCode, res.body).toBe(507);
        const body = res.json();
        expect(body.error.code).toBe("store_full");
        expect(body.error.message).toContain(`the disk holding ${f.store.describe} is full`);
        expect(body.error.message).not.toContain("\n");
        expect(res.body).not.toMatch(/SqliteError|at .*\.ts:\d+/);
      } finally {
        await sql.raw("pragma max_page_count = 1073741823").execute(f.store.db);
      }
    },
  );
});
