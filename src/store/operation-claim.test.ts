import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planned } from "../../test/fixtures/app-database.js";
import { POSTGRES_ADMIN_URL, storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { openStore } from "./database.js";
import { operationRepository as ops } from "./operation-repository.js";

const T0 = new Date("2026-12-01T09:00:00.000Z");
const ctx = { now: T0, maxAttemptsFor: () => 3 };
/** `count` disables in `system`, each of another person. */
const disables = (system: string, count: number) =>
  Array.from({ length: count }, (_, i) =>
    planned({ system, kind: "disable", identityId: `id-${system}-${i}`, username: `user${i}` }),
  );
const bound = (n: number) => () => n;

describe.each(await storeFactories())("bounded claims on %s", (name, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
  });

  const claim = (workerId: string, capacity: (system: string) => number, now = T0, limit = 64) =>
    ops.claimDue(store.db, { now, limit, workerId, leaseSeconds: 60, capacity });

  it("claims no more of a system than its bound, counting every worker's live claims", async () => {
    await ops.enqueue(store.db, disables("app", 10), ctx);
    expect(await claim("a", bound(3))).toHaveLength(3);
    // Another worker: the bound is already taken.
    expect(await claim("b", bound(3))).toHaveLength(0);
    expect(await claim("b", bound(5))).toHaveLength(2);
    // One recorded frees one place.
    const [first] = await ops.list(store.db, { state: "running", limit: 1 });
    expect(await ops.markSucceeded(store.db, first!.id, { now: T0, workerId: first!.claimedBy! })).toBe(true);
    expect(await claim("c", bound(5))).toHaveLength(1);
    // A claim whose lease ended is claimable again, so it no longer counts.
    const afterLease = new Date(T0.getTime() + 61_000);
    expect(await claim("d", bound(5), afterLease)).toHaveLength(5);
  });

  it("leaves a system at its bound out of the batch, so the others are claimed", async () => {
    // The oldest 20 are app's: a batch of 10 taken in queue order would hold nothing but app.
    await ops.enqueue(store.db, [...disables("app", 20), ...disables("wiki", 5)], ctx);
    const capacity = (system: string) => (system === "app" ? 2 : 4);
    // One claim: app's two, then — app at its bound — a second pass past app's queue reaches wiki's.
    const first = await claim("a", capacity, T0, 10);
    expect(first.map((r) => r.system).sort()).toEqual(["app", "app", "wiki", "wiki", "wiki", "wiki"]);
    expect(await claim("b", capacity, T0, 10)).toHaveLength(0);
  });

  it("skips a system whose bound other workers hold, and claims the others", async () => {
    await ops.enqueue(store.db, [...disables("app", 20), ...disables("wiki", 5)], ctx);
    expect(await claim("other", bound(2), T0, 2)).toHaveLength(2); // app's two places, taken elsewhere
    const mine = await claim("me", bound(2), T0, 10);
    expect(mine.map((r) => r.system)).toEqual(["wiki", "wiki"]);
  });

  it.runIf(name === "postgres")(
    "holds the bound when workers on separate connections claim at the same moment",
    async () => {
      await ops.enqueue(store.db, disables("app", 200), ctx);
      // Eight processes' worth of stores: each claim runs on its own pool, truly in parallel.
      const url = `${POSTGRES_ADMIN_URL}?schema=${store.schema}`;
      const workers = await Promise.all(Array.from({ length: 8 }, () => openStore(url, { migrate: false })));
      try {
        for (let round = 0; round < 5; round++) {
          const now = new Date(T0.getTime() + round * 120_000); // each round: the last round's leases ended
          const claimed = await Promise.all(
            workers.map((w, i) =>
              ops.claimDue(w.db, {
                now,
                limit: 64,
                workerId: `w${round}-${i}`,
                leaseSeconds: 60,
                capacity: bound(3),
              }),
            ),
          );
          expect(claimed.flat()).toHaveLength(3);
        }
      } finally {
        await Promise.all(workers.map((w) => w.close()));
      }
    },
  );
});
