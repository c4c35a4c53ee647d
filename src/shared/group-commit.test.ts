import { AsyncLocalStorage } from "node:async_hooks";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createGroupCommit } from "./group-commit.js";

/** A group commit whose runs are recorded, each answering `item * 10` unless told otherwise. */
function recorder(options: { maxBatch?: number; maxInFlight?: number; failRun?: boolean } = {}) {
  const runs: { group: string; items: number[] }[] = [];
  const alone: number[] = [];
  const context = new AsyncLocalStorage<string>();
  const contexts: (string | undefined)[] = [];
  const gc = createGroupCommit<number, number>({
    maxBatch: options.maxBatch ?? 8,
    maxInFlight: options.maxInFlight ?? 1,
    run: async (group, items) => {
      runs.push({ group, items: [...items] });
      contexts.push(context.getStore());
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (options.failRun === true) throw new Error("the group failed");
      return items.map((i) => i * 10);
    },
    alone: async (_group, item) => {
      alone.push(item);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (item < 0) throw new Error(`item ${item} is refused`);
      return item * 10;
    },
  });
  return { gc, runs, alone, context, contexts };
}

describe("createGroupCommit", () => {
  it("runs a lone call alone, at once", async () => {
    const { gc, runs, alone } = recorder();
    expect(await gc.submit("a", 3)).toBe(30);
    expect(runs).toEqual([]);
    expect(alone).toEqual([3]);
  });

  it("groups the calls made together and answers each with its own result", async () => {
    const { gc, runs } = recorder();
    const answers = await Promise.all([1, 2, 3, 4].map((i) => gc.submit("a", i)));
    expect(answers).toEqual([10, 20, 30, 40]);
    expect(runs).toEqual([{ group: "a", items: [1, 2, 3, 4] }]);
  });

  it("groups calls that wait for a running group, at most maxBatch, one group key per run", async () => {
    const { gc, runs, alone } = recorder({ maxBatch: 3 });
    const first = gc.submit("a", 0);
    await new Promise((resolve) => setImmediate(resolve));
    // The first runs alone; these wait for it and then go in groups of at most 3, by key.
    const rest = [1, 2, 3, 4, 5].map((i) => gc.submit(i % 2 === 0 ? "b" : "a", i));
    expect(await Promise.all([first, ...rest])).toEqual([0, 10, 20, 30, 40, 50]);
    expect(alone).toEqual([0]);
    expect(runs).toEqual([
      { group: "a", items: [1, 3, 5] },
      { group: "b", items: [2, 4] },
    ]);
  });

  it("runs at most maxInFlight groups at once", async () => {
    let running = 0;
    let most = 0;
    const gc = createGroupCommit<number, number>({
      maxBatch: 2,
      maxInFlight: 2,
      run: async (_g, items) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return items;
      },
      alone: async (_g, item) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return item;
      },
    });
    const items = Array.from({ length: 20 }, (_, i) => i);
    expect(await Promise.all(items.map((i) => gc.submit("g", i)))).toEqual(items);
    expect(most).toBe(2);
    expect(gc.running()).toBe(0);
    expect(gc.waiting()).toBe(0);
  });

  it("lets a call of another group use a free slot while a group forms, not after it", async () => {
    const finished: string[] = [];
    const gc = createGroupCommit<string, string>({
      maxBatch: 8,
      maxInFlight: 2,
      run: async (group, items) => {
        await new Promise((resolve) => setTimeout(resolve, group === "slow" ? 50 : 1));
        finished.push(...items);
        return items;
      },
      alone: async (group, item) => {
        await new Promise((resolve) => setTimeout(resolve, group === "slow" ? 50 : 1));
        finished.push(item);
        return item;
      },
    });
    // "c" queues to join "a"'s forming group; "b", of another group, queues behind it.
    await Promise.all([gc.submit("slow", "a"), gc.submit("slow", "c"), gc.submit("fast", "b")]);
    expect(finished).toEqual(["b", "a", "c"]);
  });

  it("when a group fails, each call runs alone and gets its own answer or error", async () => {
    const { gc, runs, alone } = recorder({ failRun: true });
    const settled = await Promise.allSettled([1, -2, 3].map((i) => gc.submit("a", i)));
    expect(runs).toHaveLength(1);
    expect(alone.sort()).toEqual([-2, 1, 3]);
    expect(settled[0]).toEqual({ status: "fulfilled", value: 10 });
    expect(settled[1]).toMatchObject({ status: "rejected", reason: { message: "item -2 is refused" } });
    expect(settled[2]).toEqual({ status: "fulfilled", value: 30 });
  });

  it("a lone call's error is its own, and the next calls go on", async () => {
    const { gc } = recorder();
    await expect(gc.submit("a", -1)).rejects.toThrow("item -1 is refused");
    expect(await gc.submit("a", 2)).toBe(20);
  });

  it("runs a group in its leader's async context", async () => {
    const { gc, context, contexts } = recorder();
    const first = context.run("first", () => gc.submit("a", 0));
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = ["x", "y", "z"].map((name, i) => context.run(name, () => gc.submit("a", i + 1)));
    await Promise.all([first, ...waiting]);
    // The group of the three waiters ran in the first waiter's context, not in the caller's that freed the slot.
    expect(contexts).toEqual(["x"]);
  });

  it("answers every call exactly once, whatever the arrivals (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            group: fc.constantFrom("a", "b"),
            delay: fc.nat(3),
            item: fc.integer({ min: -3, max: 50 }),
          }),
          {
            maxLength: 30,
          },
        ),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        async (calls, maxBatch, maxInFlight) => {
          const { gc } = recorder({ maxBatch, maxInFlight });
          const settled = await Promise.allSettled(
            calls.map(async (c) => {
              await new Promise((resolve) => setTimeout(resolve, c.delay));
              return gc.submit(c.group, c.item);
            }),
          );
          for (const [i, s] of settled.entries()) {
            const item = calls[i]!.item;
            if (s.status === "fulfilled") expect(s.value).toBe(item * 10);
            else expect(item).toBeLessThan(0);
          }
          expect(gc.running()).toBe(0);
          expect(gc.waiting()).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
