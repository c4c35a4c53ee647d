import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPostgresUrl, POSTGRES_ADMIN_URL, postgresAvailable } from "../../test/helpers/databases.js";
import { recordStatements } from "../../test/helpers/pg-statements.js";
import { openStore, type Store } from "./database.js";
import { slotKey, systemSlots } from "./system-slots.js";

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `n` holders of `system` on `store`, each busy a few ticks, counting how many run at once. */
function crowd(store: Store, system: string, limit: number, n: number, seen: { now: number; max: number }) {
  return Array.from({ length: n }, () =>
    systemSlots(store).hold(system, limit, async () => {
      seen.now++;
      seen.max = Math.max(seen.max, seen.now);
      await tick(10);
      seen.now--;
    }),
  );
}

describe("system slots without PostgreSQL", () => {
  it("on SQLite, runs at once: one process per store, its lanes are the bound", async () => {
    const store = await openStore("sqlite::memory:", { create: true });
    try {
      const seen = { now: 0, max: 0 };
      await Promise.all(crowd(store, "directory", 2, 6, seen));
      expect(seen.max).toBe(6);
    } finally {
      await store.close();
    }
  });
});

describe.runIf(await postgresAvailable())("system slots across processes (PostgreSQL)", () => {
  let url: string;
  let drop: () => Promise<void>;
  // Two stores on one schema: two sessions, as two processes have.
  let one: Store;
  let two: Store;
  beforeAll(async () => {
    ({ url, drop } = await freshPostgresUrl());
    one = await openStore(url, { create: true });
    two = await openStore(url);
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    await drop();
  });

  it("never runs more than a system's limit at once over both, and uses all of it", async () => {
    const seen = { now: 0, max: 0 };
    await Promise.all([...crowd(one, "directory", 3, 12, seen), ...crowd(two, "directory", 3, 12, seen)]);
    expect(seen.max).toBe(3);
    expect(seen.now).toBe(0);
  });

  it("takes and gives back the slots of writes in hand together, not a statement each", async () => {
    const { sent, restore } = recordStatements(/advisory_(unlock|lock)|try_advisory/);
    try {
      const seen = { now: 0, max: 0 };
      await Promise.all(crowd(one, "grouped", 32, 24, seen));
      expect(seen.max).toBe(24);
      // Wait for the parked slots to go back (PARK_MS), then count.
      await tick(200);
      // 24 takes and 24 give-backs were a statement each.
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.length).toBeLessThanOrEqual(12);
    } finally {
      restore();
    }
  });

  it("bounds each system apart: a full system does not hold another", async () => {
    const a = { now: 0, max: 0 };
    const b = { now: 0, max: 0 };
    await Promise.all([
      ...crowd(one, "erp", 1, 4, a),
      ...crowd(two, "erp", 1, 4, a),
      ...crowd(one, "crm", 2, 4, b),
      ...crowd(two, "crm", 2, 4, b),
    ]);
    expect(a.max).toBe(1);
    expect(b.max).toBe(2);
  });

  it("gives another process its turn while one writes without pause", async () => {
    // One process keeps its slot from write to write (parked between them); the other must still get in.
    let stop = false;
    let steady = 0;
    const stream = (async () => {
      while (!stop) {
        await systemSlots(one).hold("ldap", 1, async () => {
          steady++;
          await tick(10);
        });
      }
    })();
    await tick(50);
    const before = steady;
    await systemSlots(two).hold("ldap", 1, async () => {});
    const during = steady;
    stop = true;
    await stream;
    expect(before).toBeGreaterThan(0);
    // The other process got in while the stream still ran, not after it stopped.
    expect(steady).toBeGreaterThan(during);
  });

  it("frees the slots of a process whose connection dies, and carries on without one meanwhile", async () => {
    let release!: () => void;
    const held = systemSlots(one).hold(
      "hr",
      1,
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    await tick(50);
    const key = slotKey(one.schema ?? "", "hr", 0);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      // The slot is held: by one session, on the lock's key.
      const holder = await admin.query<{ pid: number }>(
        "select pid from pg_locks where locktype = 'advisory' and ((classid::int8 << 32) | (objid::int8 & 4294967295)) = $1::int8",
        [key],
      );
      expect(holder.rows).toHaveLength(1);
      // The other process waits for it.
      let ran = false;
      const waiting = systemSlots(two).hold("hr", 1, async () => {
        ran = true;
      });
      await tick(100);
      expect(ran).toBe(false);
      // The holder's connection dies (a crash, a network cut): the server frees the slot.
      await admin.query("select pg_terminate_backend($1)", [holder.rows[0]!.pid]);
      await waiting;
      expect(ran).toBe(true);
      release();
      await held;
      // The first process takes slots again, on a new connection.
      const seen = { now: 0, max: 0 };
      await Promise.all([...crowd(one, "hr", 1, 3, seen), ...crowd(two, "hr", 1, 3, seen)]);
      expect(seen.max).toBe(1);
    } finally {
      release?.();
      await admin.end();
    }
  });
});
