import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { joiner, planned } from "../../test/fixtures/app-database.js";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import {
  type ClaimOptions,
  type OperationRecord,
  operationRepository as ops,
} from "./operation-repository.js";

const T0 = new Date("2026-12-01T09:00:00.000Z");
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const ctx = { now: T0, maxAttemptsFor: () => 3 };
const claim = (
  db: TestStore["db"],
  workerId: string,
  now = T0,
  extra: Partial<Pick<ClaimOptions, "limit" | "system" | "excludeSystems" | "owner">> = {},
) => ops.claimDue(db, { now, limit: extra.limit ?? 100, workerId, leaseSeconds: 60, ...extra });
/** `count` disables in app, each of another person: id-0 / user0, id-1 / user1, … */
const disables = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    planned({ system: "app", kind: "disable", identityId: `id-${i}`, username: `user${i}` }),
  );
const names = (records: OperationRecord[]) =>
  records.map((r) => `${r.kind}:${r.username}${r.entitlement ? `:${r.entitlement}` : ""}`);

describe.each(await storeFactories())("operation repository on %s", (name, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("queues planned operations as pending in plan order, and a change only once", async () => {
    const plan = [...joiner("app", "id-ada", "ada", ["staff", "vpn"]), ...joiner("app", "id-bob", "bob", [])];
    const first = await ops.enqueue(store.db, plan, ctx);
    expect(first.alreadyQueued).toEqual([]);
    expect(names(first.queued)).toEqual(["create:ada", "grant:ada:staff", "grant:ada:vpn", "create:bob"]);
    const stored = await ops.list(store.db);
    expect(stored.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(stored[0]).toMatchObject({
      state: "pending",
      attempts: 0,
      maxAttempts: 3,
      identityId: "id-ada",
      attributes: { email: "ada@example.test" },
      enabled: true,
      drift: false,
      nextAttemptAt: T0.toISOString(),
      lineage: [{ kind: "lifecycle", policy: "test", note: "planned by a test" }],
    });

    // Planning twice, and repeats within one plan, queue nothing new; seq continues for what is new.
    const again = await ops.enqueue(
      store.db,
      [...plan, plan[0]!, planned({ system: "app", kind: "disable", username: "eve" })],
      ctx,
    );
    expect(again.queued.map((r) => [r.username, r.seq])).toEqual([["eve", 5]]);
    expect(again.alreadyQueued).toHaveLength(5);
    expect((await ops.countByState(store.db)).pending).toBe(5);
  });

  it("queues a change again once its earlier operation has finished", async () => {
    const op = planned({ system: "app", kind: "disable", username: "eve" });
    const [queued] = (await ops.enqueue(store.db, [op], ctx)).queued;
    await claim(store.db, "w1");
    expect(await ops.markSucceeded(store.db, queued!.id, { now: T0, workerId: "w1" })).toBe(true);
    const again = await ops.enqueue(store.db, [op], ctx);
    expect(again.queued).toHaveLength(1);
    expect(again.queued[0]!.id).not.toBe(queued!.id);
  });

  it("claims only the earliest open operation of an identity in a system, in identity/system/seq order", async () => {
    await ops.enqueue(
      store.db,
      [
        ...joiner("app", "id-bob", "bob", ["staff"]),
        ...joiner("app", "id-ada", "ada", ["staff"]),
        ...joiner("crm", "id-ada", "ada", []),
        planned({ system: "app", kind: "disable", username: "orphan" }),
        planned({ system: "app", kind: "delete", username: "orphan" }),
      ],
      ctx,
    );
    const first = await claim(store.db, "w1");
    // Grants wait for their creates; the orphan's delete waits for its disable (grouped by username).
    expect(first.map((r) => `${r.system}:${names([r])[0]}`).sort()).toEqual(
      ["app:create:ada", "app:create:bob", "app:disable:orphan", "crm:create:ada"].sort(),
    );
    expect(first.every((r) => r.state === "running" && r.attempts === 1 && r.claimedBy === "w1")).toBe(true);
    expect(first[0]!.claimExpiresAt).toBe(later(60).toISOString());
    // Order: identity, then system, then seq (identity-less operations sort where the database puts NULL).
    const withIdentity = first.filter((r) => r.identityId !== null);
    expect(withIdentity.map((r) => `${r.identityId}/${r.system}`)).toEqual([
      "id-ada/app",
      "id-ada/crm",
      "id-bob/app",
    ]);

    // Nothing more is claimable while the heads run.
    expect(await claim(store.db, "w2")).toEqual([]);
    const adaCreate = first.find((r) => r.username === "ada" && r.system === "app")!;
    await ops.markSucceeded(store.db, adaCreate.id, { now: T0, workerId: "w1" });
    expect(names(await claim(store.db, "w2"))).toEqual(["grant:ada:staff"]);
  });

  it("respects limit and system filters", async () => {
    await ops.enqueue(
      store.db,
      [...joiner("app", "i1", "u1", []), ...joiner("app", "i2", "u2", []), ...joiner("crm", "i3", "u3", [])],
      ctx,
    );
    expect(await claim(store.db, "w", T0, { system: "crm" })).toHaveLength(1);
    expect(await claim(store.db, "w", T0, { limit: 1 })).toHaveLength(1);
    expect(await claim(store.db, "w", T0, { limit: 5 })).toHaveLength(1);
  });

  it("leaves out the systems a worker's lanes are full for, and records who claimed", async () => {
    await ops.enqueue(
      store.db,
      [
        ...joiner("ldap", "i1", "u1", []),
        ...joiner("ldap", "i2", "u2", []),
        ...joiner("app", "i3", "u3", []),
      ],
      ctx,
    );
    const owner = { host: "host-a", pid: 4242 };
    const got = await claim(store.db, "w", T0, { excludeSystems: ["ldap"], owner });
    expect(got.map((op) => op.system)).toEqual(["app"]);
    const row = await store.db
      .selectFrom("operations")
      .selectAll()
      .where("id", "=", got[0]!.id)
      .executeTakeFirst();
    expect(row).toMatchObject({ claim_host: "host-a", claim_pid: 4242 });
    expect((await claim(store.db, "w", T0)).map((op) => op.system)).toEqual(["ldap", "ldap"]);
  });

  it("retries a failed operation only once its time has come, and kills it after max attempts", async () => {
    const [op] = (
      await ops.enqueue(store.db, [planned({ system: "app", kind: "enable", username: "ada" })], ctx)
    ).queued;
    const fail = (now: Date, workerId: string) =>
      ops.markFailed(store.db, op!.id, {
        now,
        workerId,
        error: "app: unreachable",
        retryable: true,
        nextAttemptAt: later(100),
      });

    await claim(store.db, "w1");
    expect(await fail(T0, "w1")).toBe("failed");
    let row = (await ops.find(store.db, op!.id))!;
    expect(row).toMatchObject({
      state: "failed",
      attempts: 1,
      lastError: "app: unreachable",
      claimExpiresAt: null,
    });
    expect(row.nextAttemptAt).toBe(later(100).toISOString());
    expect(await claim(store.db, "w1", later(99))).toEqual([]);
    expect(await claim(store.db, "w1", later(100))).toHaveLength(1);
    expect(await fail(later(100), "w1")).toBe("failed");
    expect(await claim(store.db, "w1", later(200))).toHaveLength(1);
    expect(await fail(later(200), "w1")).toBe("dead");
    row = (await ops.find(store.db, op!.id))!;
    expect(row).toMatchObject({ state: "dead", attempts: 3, finishedAt: later(200).toISOString() });
    expect(await claim(store.db, "w1", later(10_000))).toEqual([]);
  });

  it("sends a non-retryable failure to dead at once", async () => {
    const [op] = (
      await ops.enqueue(store.db, [planned({ system: "app", kind: "enable", username: "ada" })], ctx)
    ).queued;
    await claim(store.db, "w1");
    const state = await ops.markFailed(store.db, op!.id, {
      now: T0,
      workerId: "w1",
      error: "app: no such table",
      retryable: false,
      nextAttemptAt: later(5),
    });
    expect(state).toBe("dead");
    expect((await ops.find(store.db, op!.id))!.attempts).toBe(1);
  });

  it("re-claims a running operation whose lease expired, and the old holder can no longer record it", async () => {
    const [op] = (
      await ops.enqueue(store.db, [planned({ system: "app", kind: "enable", username: "ada" })], ctx)
    ).queued;
    expect(await claim(store.db, "crashed")).toHaveLength(1);
    expect(await claim(store.db, "w2", later(60))).toEqual([]); // the lease ends after 60 s, not at it
    const [again] = await claim(store.db, "w2", later(61));
    expect(again).toMatchObject({ id: op!.id, claimedBy: "w2", attempts: 2, state: "running" });
    expect(await ops.markSucceeded(store.db, op!.id, { now: later(62), workerId: "crashed" })).toBe(false);
    expect(
      await ops.markFailed(store.db, op!.id, {
        now: later(62),
        workerId: "crashed",
        error: "x",
        retryable: true,
        nextAttemptAt: later(70),
      }),
    ).toBeUndefined();
    expect(await ops.markSucceeded(store.db, op!.id, { now: later(62), workerId: "w2" })).toBe(true);
    expect(await ops.find(store.db, op!.id)).toMatchObject({
      state: "succeeded",
      finishedAt: later(62).toISOString(),
    });
    // Succeeded once: a second record is refused.
    expect(await ops.markSucceeded(store.db, op!.id, { now: later(63), workerId: "w2" })).toBe(false);
  });

  it("retries a dead operation from scratch, unless the same change is open again", async () => {
    const op = planned({ system: "app", kind: "enable", username: "ada" });
    const [first] = (await ops.enqueue(store.db, [op], ctx)).queued;
    // w1, holding the claim, fails it for good.
    const kill = () =>
      ops.markFailed(store.db, first!.id, {
        now: T0,
        workerId: "w1",
        error: "bad",
        retryable: false,
        nextAttemptAt: T0,
      });
    await claim(store.db, "w1");
    await kill();

    await expect(ops.retryDead(store.db, "missing", T0)).rejects.toBeInstanceOf(NotFoundError);
    const retried = await ops.retryDead(store.db, first!.id, later(5));
    expect(retried).toMatchObject({
      state: "pending",
      attempts: 0,
      nextAttemptAt: later(5).toISOString(),
      lastError: "bad",
    });
    await expect(ops.retryDead(store.db, first!.id, later(5))).rejects.toBeInstanceOf(NotFoundError);

    // Dead again, then the same change is planned anew: the dead one cannot be reopened beside it.
    await claim(store.db, "w1", later(5));
    await kill();
    await ops.enqueue(store.db, [op], ctx);
    const err = await ops.retryDead(store.db, first!.id, later(6)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenureError);
    expect((err as TenureError).code).toBe("operation_open");
  });

  it("releases a worker's claims on graceful shutdown, giving the attempt back", async () => {
    await ops.enqueue(store.db, [...joiner("app", "i1", "u1", []), ...joiner("app", "i2", "u2", [])], ctx);
    await claim(store.db, "w1", T0, { limit: 1 });
    await claim(store.db, "w2", T0, { limit: 1 });
    expect(await ops.releaseClaims(store.db, "w1", later(1))).toBe(1);
    const rows = await ops.list(store.db);
    expect(rows.map((r) => [r.state, r.claimedBy, r.attempts])).toEqual([
      ["pending", null, 0],
      ["running", "w2", 1],
    ]);
  });

  it("lists by state, system and identity, and counts by state", async () => {
    await ops.enqueue(store.db, [...joiner("app", "i1", "u1", ["g"]), ...joiner("crm", "i2", "u2", [])], ctx);
    await claim(store.db, "w");
    expect(await ops.list(store.db, { state: "running" })).toHaveLength(2);
    expect(names(await ops.list(store.db, { system: "app" }))).toEqual(["create:u1", "grant:u1:g"]);
    expect(await ops.list(store.db, { identityId: "i2" })).toHaveLength(1);
    expect(await ops.list(store.db, { limit: 1 })).toHaveLength(1);
    expect(await ops.countByState(store.db)).toEqual({
      pending: 1,
      running: 2,
      awaiting: 0,
      succeeded: 0,
      failed: 0,
      dead: 0,
    });
    expect(await ops.countByState(store.db, { system: "crm" })).toMatchObject({ running: 1, pending: 0 });
  });

  it.runIf(name === "postgres")(
    "claims disjoint sets from concurrent workers (FOR UPDATE SKIP LOCKED)",
    async () => {
      await ops.enqueue(store.db, disables(60), ctx);
      const workers = ["a", "b", "c", "d"];
      const claimed = await Promise.all(workers.map((w) => claim(store.db, w, T0, { limit: 20 })));
      const ids = claimed.flat().map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(60);
      const rows = await ops.list(store.db, { limit: 100 });
      for (const [i, w] of workers.entries()) {
        expect(rows.filter((r) => r.claimedBy === w).length).toBe(claimed[i]!.length);
      }
    },
  );

  it.runIf(name === "postgres")(
    "skips rows another transaction has locked instead of waiting for them",
    async () => {
      await ops.enqueue(store.db, disables(10), ctx);
      await store.db.transaction().execute(async (trx) => {
        // Another worker mid-claim: it holds row locks on the first four and has not committed.
        const held = await sql<{
          id: string;
        }>`select id from operations order by seq limit 4 for update`.execute(trx);
        expect(held.rows).toHaveLength(4);
        const other = await claim(store.db, "w2");
        expect(other).toHaveLength(6);
        expect(other.map((r) => r.id)).not.toContain(held.rows[0]!.id);
      });
    },
  );
});
