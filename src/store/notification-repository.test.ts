import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { type NewNotification, notificationRepository as outbox } from "./notification-repository.js";

const T0 = new Date("2026-12-01T09:00:00.000Z");
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const message = (key: string, extra: Partial<NewNotification> = {}): NewNotification => ({
  event: "operation.dead",
  dedupeKey: key,
  channel: "email",
  recipient: "secops@example.com",
  subject: `subject ${key}`,
  body: `body ${key}`,
  payload: { key },
  maxAttempts: 2,
  ...extra,
});
const claim = (db: TestStore["db"], workerId: string, now = T0, limit = 100) =>
  outbox.claimDue(db, { now, limit, workerId, leaseSeconds: 60 });

describe.each(await storeFactories())("notification repository on %s", (name, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("queues messages as pending, due at once, and a dedupe key only once, ever", async () => {
    const first = await outbox.insertMany(store.db, [message("a"), message("b"), message("a")], T0);
    expect(first.queued.map((m) => m.dedupeKey)).toEqual(["a", "b"]);
    expect(first.duplicates).toEqual(["a"]);
    expect(first.queued[0]).toMatchObject({
      state: "pending",
      attempts: 0,
      maxAttempts: 2,
      nextAttemptAt: T0.toISOString(),
      payload: { key: "a" },
      sentAt: null,
    });
    const [sent] = await claim(store.db, "w1", T0, 1);
    expect(await outbox.markSent(store.db, sent!.id, { now: T0, workerId: "w1" })).toBe(true);
    // Sent or not, the key stays taken: the same warning is never queued twice.
    const again = await outbox.insertMany(store.db, [message("a"), message("c")], later(60));
    expect(again.queued.map((m) => m.dedupeKey)).toEqual(["c"]);
    expect(again.duplicates).toEqual(["a"]);
    expect(await outbox.countByState(store.db)).toEqual({ pending: 2, sending: 0, sent: 1, dead: 0 });
  });

  it("claims due messages once, counting an attempt, until the claim expires", async () => {
    await outbox.insertMany(store.db, [message("a"), message("b")], T0);
    const mine = await claim(store.db, "w1");
    expect(mine.map((m) => [m.dedupeKey, m.state, m.attempts, m.claimedBy])).toEqual([
      ["a", "sending", 1, "w1"],
      ["b", "sending", 1, "w1"],
    ]);
    expect(mine[0]?.claimExpiresAt).toBe(later(60).toISOString());
    expect(await claim(store.db, "w2", later(59))).toEqual([]);
    // w1 died: after the lease anyone may take the messages over, and w1 can no longer record them.
    const taken = await claim(store.db, "w2", later(61));
    expect(taken.map((m) => [m.dedupeKey, m.attempts, m.claimedBy])).toEqual([
      ["a", 2, "w2"],
      ["b", 2, "w2"],
    ]);
    expect(await outbox.markSent(store.db, taken[0]!.id, { now: later(61), workerId: "w1" })).toBe(false);
    expect(await outbox.markSent(store.db, taken[0]!.id, { now: later(61), workerId: "w2" })).toBe(true);
    expect(await outbox.find(store.db, taken[0]!.id)).toMatchObject({
      state: "sent",
      sentAt: later(61).toISOString(),
    });
  });

  it("puts a failed message back to pending, due later, and to dead when its attempts are used up", async () => {
    const [queued] = (await outbox.insertMany(store.db, [message("a")], T0)).queued;
    await claim(store.db, "w1");
    const failure = { workerId: "w1", retryable: true, nextAttemptAt: later(120) };
    expect(await outbox.markFailed(store.db, queued!.id, { ...failure, now: T0, error: "refused" })).toBe(
      "pending",
    );
    expect(await outbox.find(store.db, queued!.id)).toMatchObject({
      state: "pending",
      lastError: "refused",
      nextAttemptAt: later(120).toISOString(),
      claimExpiresAt: null,
    });
    expect(await claim(store.db, "w1", later(119))).toEqual([]);
    const [retry] = await claim(store.db, "w1", later(120));
    expect(retry?.attempts).toBe(2);
    expect(
      await outbox.markFailed(store.db, queued!.id, { ...failure, now: later(120), error: "again" }),
    ).toBe("dead");
    expect(await outbox.find(store.db, queued!.id)).toMatchObject({ state: "dead", lastError: "again" });
    expect(await claim(store.db, "w1", later(9999))).toEqual([]);
    // Not retryable: dead at once. A deliverer that lost the claim changes nothing.
    const [other] = (await outbox.insertMany(store.db, [message("b")], T0)).queued;
    await claim(store.db, "w1", later(9999));
    expect(
      await outbox.markFailed(store.db, other!.id, { ...failure, workerId: "w9", now: T0, error: "x" }),
    ).toBe(undefined);
    expect(
      await outbox.markFailed(store.db, other!.id, { ...failure, retryable: false, now: T0, error: "x" }),
    ).toBe("dead");
  });

  it("gives back claims not yet sent, without counting their attempt", async () => {
    await outbox.insertMany(store.db, [message("a"), message("b")], T0);
    const [a, b] = await claim(store.db, "w1");
    expect(await outbox.releaseClaims(store.db, "w1", [b!.id])).toBe(1);
    expect(await outbox.find(store.db, b!.id)).toMatchObject({
      state: "pending",
      attempts: 0,
      claimedBy: null,
    });
    expect(await outbox.find(store.db, a!.id)).toMatchObject({ state: "sending", attempts: 1 });
    expect(await outbox.releaseClaims(store.db, "w1")).toBe(1);
    expect(await outbox.list(store.db, { state: "pending" })).toHaveLength(2);
  });

  it.runIf(name === "postgres")(
    "claims disjoint sets from concurrent deliverers and skips rows another one has locked",
    async () => {
      await outbox.insertMany(
        store.db,
        Array.from({ length: 40 }, (_, i) => message(`m${i}`)),
        T0,
      );
      const workers = ["a", "b", "c", "d"];
      const claimed = await Promise.all(workers.map((w) => claim(store.db, w, T0, 15)));
      const ids = claimed.flat().map((m) => m.id);
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);

      await outbox.insertMany(
        store.db,
        Array.from({ length: 6 }, (_, i) => message(`n${i}`)),
        later(1),
      );
      await store.db.transaction().execute(async (trx) => {
        const held = await sql<{ id: string }>`select id from notifications where state = 'pending'
          order by id limit 2 for update`.execute(trx);
        const other = await claim(store.db, "e", later(2));
        expect(other).toHaveLength(4);
        expect(other.map((m) => m.id)).not.toContain(held.rows[0]!.id);
      });
    },
  );
});
