import { describe, expect, it } from "vitest";
import { createKeyedLock, createSerialQueue } from "./keyed-lock.js";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe("createKeyedLock", () => {
  it("runs calls on one key one at a time, in call order", async () => {
    const lock = createKeyedLock();
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        lock.run(["a"], async () => {
          inside++;
          most = Math.max(most, inside);
          await tick();
          log.push(String(i));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(log).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(lock.size()).toBe(0);
  });

  it("runs calls on different keys side by side", async () => {
    const lock = createKeyedLock();
    let inside = 0;
    let most = 0;
    await Promise.all(
      ["a", "b", "c"].map((key) =>
        lock.run([key], async () => {
          inside++;
          most = Math.max(most, inside);
          await tick();
          inside--;
        }),
      ),
    );
    expect(most).toBe(3);
  });

  it("takes all keys of a call at once: overlapping sets and two-level nesting do not deadlock", async () => {
    const lock = createKeyedLock();
    const order: string[] = [];
    // Two runs hold a person key each and then take the same two identity keys in opposite orders:
    // mutexes taken one by one could deadlock; a place on both keys at once cannot.
    const a = lock.run(["key:1"], async () => {
      await tick();
      await lock.run(["id:x", "id:y"], async () => {
        await tick();
        order.push("A");
      });
    });
    const b = lock.run(["key:2"], async () => {
      await tick();
      await lock.run(["id:y", "id:x"], async () => {
        order.push("B");
      });
    });
    await Promise.all([a, b]);
    expect(order).toEqual(["A", "B"]);
    // A call on x and y holds both: a later call on x waits for it.
    const both = lock.run(["x", "y"], async () => {
      await tick();
      order.push("xy");
    });
    const x = lock.run(["x"], async () => order.push("x"));
    await Promise.all([both, x]);
    expect(order.slice(-2)).toEqual(["xy", "x"]);
    expect(lock.size()).toBe(0);
  });

  it("releases the keys when the function fails, and the failure reaches only its caller", async () => {
    const lock = createKeyedLock();
    const failing = lock.run(["a"], async () => {
      throw new Error("boom");
    });
    const next = lock.run(["a"], async () => "ran");
    await expect(failing).rejects.toThrow("boom");
    await expect(next).resolves.toBe("ran");
    expect(lock.size()).toBe(0);
  });

  it("idle() waits for every run started before it, failed ones included", async () => {
    const lock = createKeyedLock();
    const done: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    void lock.run(["a"], async () => {
      await gate;
      done.push("a");
    });
    const failing = lock.run(["b"], async () => {
      await gate;
      done.push("b");
      throw new Error("boom");
    });
    failing.catch(() => undefined);
    const idle = lock.idle().then(() => done.push("idle"));
    await tick();
    expect(done).toEqual([]);
    open();
    await idle;
    expect(done).toEqual(["a", "b", "idle"]);
  });
});

describe("createSerialQueue", () => {
  it("runs one function at a time in call order, and a failure does not stop the queue", async () => {
    const serial = createSerialQueue();
    const order: string[] = [];
    let running = 0;
    const job = (name: string, fail = false) =>
      serial(async () => {
        running++;
        expect(running).toBe(1);
        await tick();
        order.push(name);
        running--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job("1"), job("2", true), job("3")]);
    expect(order).toEqual(["1", "2", "3"]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});
