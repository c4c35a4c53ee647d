import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freshPostgresUrl,
  postgresAvailable,
  storeFactories,
  type TestStore,
} from "../../test/helpers/databases.js";
import { recordStatements } from "../../test/helpers/pg-statements.js";
import { openStore, type Store } from "./database.js";
import { advisoryKeys, LOCK_CONNECTIONS, personLock } from "./person-lock.js";

/** A promise and its resolver, to hold a run open until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 50));

describe.each(await storeFactories())("the person lock on %s", (_kind, makeStore) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await makeStore();
  });
  afterAll(() => store.dispose());

  it("runs one key's holders one after another, in call order, and other keys beside them", async () => {
    const lock = personLock(store);
    const log: string[] = [];
    const first = gate();
    const a = lock.run(["p1"], async () => {
      log.push("a start");
      await first.promise;
      log.push("a end");
    });
    const b = lock.run(["p1"], async () => {
      log.push("b");
    });
    const c = lock.run(["p2"], async () => {
      log.push("c");
    });
    // c (another key) finishes while a holds p1; on PostgreSQL each takes its advisory lock on its own
    // connection, so which of "a start" and "c" comes first is the server's, not the lock's, order.
    await c;
    while (!log.includes("a start")) await tick();
    expect([...log].sort()).toEqual(["a start", "c"]);
    first.open();
    await Promise.all([a, b]);
    // One key: a, then b, in call order.
    expect(log.slice(2)).toEqual(["a end", "b"]);
  });

  it("passes nested runs through the push gate its outer run is inside, and releases its place", async () => {
    const lock = personLock(store);
    const admission = { limit: 1, urgent: false };
    // With one place, an inner run that queued at the gate would wait for its own outer run forever.
    const inner = await lock.run(
      ["gate-outer"],
      () => lock.run(["gate-inner"], async () => "inner ran", { admission }),
      {
        admission,
      },
    );
    expect(inner).toBe("inner ran");
    // The place is given back whether the run succeeded or threw.
    await expect(
      lock.run(["gate-a"], () => Promise.reject(new Error("boom")), { admission }),
    ).rejects.toThrow("boom");
    expect(await lock.run(["gate-b"], async () => "next", { admission })).toBe("next");
  });

  it("takes inner keys inside a run, however many runs hold keys at once", async () => {
    const lock = personLock(store);
    // More outer holders than the lock pool has connections: each nested run must use its own
    // holder's connection, or they would wait for one another forever.
    const runs = Array.from({ length: LOCK_CONNECTIONS + 4 }, (_, i) =>
      lock.run([`outer${i}`], async () => {
        await tick();
        return lock.run([`inner${i}`, "shared-inner"], async () => i);
      }),
    );
    expect(await Promise.all(runs)).toEqual(runs.map((_, i) => i));
  });

  it("lets a rejection reach its caller only and frees the key", async () => {
    const lock = personLock(store);
    await expect(lock.run(["p3"], () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await lock.run(["p3"], async () => "next")).toBe("next");
  });
});

describe.runIf(await postgresAvailable())("the person lock across processes (PostgreSQL)", () => {
  let url: string;
  let drop: () => Promise<void>;
  let one: Store;
  let two: Store;
  beforeAll(async () => {
    ({ url, drop } = await freshPostgresUrl());
    // Two stores on one schema, as two processes have: they share no memory, only the database.
    one = await openStore(url);
    two = await openStore(url);
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    await drop();
  });

  it("makes a holder in another process wait for the key, and not for other keys", async () => {
    const held = gate();
    const log: string[] = [];
    const inOne = personLock(one).run(["person-1"], async () => {
      log.push("one holds person-1");
      await held.promise;
      log.push("one releases person-1");
    });
    await tick();
    const sameInTwo = personLock(two).run(["person-1"], async () => {
      log.push("two holds person-1");
    });
    await personLock(two).run(["person-2"], async () => {
      log.push("two holds person-2");
    });
    await tick();
    expect(log).toEqual(["one holds person-1", "two holds person-2"]);
    held.open();
    await Promise.all([inOne, sameInTwo]);
    expect(log).toEqual([
      "one holds person-1",
      "two holds person-2",
      "one releases person-1",
      "two holds person-1",
    ]);
  });

  it("holds nested keys until the outermost run ends, then frees every key", async () => {
    const held = gate();
    let innerDone = false;
    const outer = personLock(one).run(["outer"], async () => {
      await personLock(one).run(["inner"], async () => {});
      innerDone = true;
      await held.promise;
    });
    while (!innerDone) await tick();
    let took = false;
    const waiter = personLock(two).run(["inner"], async () => {
      took = true;
    });
    await tick();
    expect(took).toBe(false);
    held.open();
    await Promise.all([outer, waiter]);
    expect(took).toBe(true);
  });

  /** The backends holding the advisory lock of `key` (a person-lock key of store `one`'s schema). */
  const holders = async (key: string): Promise<number[]> => {
    const [hash] = advisoryKeys(one.schema ?? "", [key]);
    const { rows } = await sql<{ pid: number }>`select pid from pg_locks where locktype = 'advisory'
      and objsubid = 1 and granted and ((classid::int8 << 32) | objid::int8) = ${hash}::int8`.execute(one.db);
    return rows.map((r) => r.pid);
  };

  it("holds the keys of runs side by side on one connection, not one each", async () => {
    const held = gate();
    const started: string[] = [];
    const runs = ["s-1", "s-2", "s-3"].map((key) =>
      personLock(one).run([key], async () => {
        await personLock(one).run([`${key}-inner`], async () => {});
        started.push(key);
        await held.promise;
      }),
    );
    while (started.length < 3) await tick();
    const pids = [...(await holders("s-1")), ...(await holders("s-2")), ...(await holders("s-3-inner"))];
    expect(pids).toHaveLength(3);
    expect(new Set(pids).size).toBe(1);
    held.open();
    await Promise.all(runs);
    // Every key given back.
    expect([...(await holders("s-1")), ...(await holders("s-3-inner"))]).toEqual([]);
  });

  it("takes and gives back the keys of runs in hand together, and a run with a key held elsewhere waits alone", async () => {
    const elsewhere = gate();
    let twoHolds = false;
    const inTwo = personLock(two).run(["b-held"], async () => {
      twoHolds = true;
      await elsewhere.promise;
    });
    while (!twoHolds) await tick();
    const { sent, restore } = recordStatements(/advisory_/);
    const done: string[] = [];
    try {
      const runs = Array.from({ length: 20 }, (_, i) =>
        personLock(one).run(i === 7 ? ["b-7", "b-held"] : [`b-${i}`], async () => {
          done.push(`b-${i}`);
        }),
      );
      while (done.length < 19) await tick();
      // Nineteen runs took their keys and gave them back; the one whose key two holds waits for it.
      expect(done).not.toContain("b-7");
      const takes = sent.filter((t) => t.includes("pg_try_advisory_lock")).length;
      const gives = sent.filter((t) => t.includes("pg_advisory_unlock")).length;
      // One statement per run each way was 40; grouped, a few.
      expect(takes + gives).toBeLessThanOrEqual(12);
      elsewhere.open();
      await Promise.all([...runs, inTwo]);
      expect(done).toContain("b-7");
    } finally {
      restore();
    }
    for (const key of ["b-0", "b-7", "b-19", "b-held"]) expect(await holders(key)).toEqual([]);
  });

  it("carries on when its connection dies: the keys it held are free, and later runs take keys again", async () => {
    const held = gate();
    let inside = false;
    const run = personLock(one).run(["d-1"], async () => {
      inside = true;
      await held.promise;
      return "done";
    });
    while (!inside) await tick();
    const [pid] = await holders("d-1");
    expect(pid).toBeDefined();
    await sql`select pg_terminate_backend(${pid})`.execute(two.db);
    // The server freed the key with the connection: another process takes it at once.
    await personLock(two).run(["d-1"], async () => {});
    held.open();
    await expect(run).resolves.toBe("done");
    // A new session: this process's runs lock and exclude the other process again.
    const again = gate();
    let holding = false;
    const next = personLock(one).run(["d-2"], async () => {
      holding = true;
      await again.promise;
    });
    while (!holding) await tick();
    let took = false;
    const waiter = personLock(two).run(["d-2"], async () => {
      took = true;
    });
    await tick();
    expect(took).toBe(false);
    again.open();
    await Promise.all([next, waiter]);
    expect(took).toBe(true);
  });
});

describe("advisory lock keys", () => {
  it("are unique, sorted, and differ between schemas", () => {
    const keys = advisoryKeys("s1", ["b", "a", "b"]);
    expect(keys).toHaveLength(2);
    expect([...keys].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))).toEqual(keys);
    expect(advisoryKeys("s2", ["a"])[0]).not.toBe(advisoryKeys("s1", ["a"])[0]);
  });
});
