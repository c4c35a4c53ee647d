import { describe, expect, it } from "vitest";
import { type ClaimLoop, runClaimLoop } from "./claim-loop.js";

interface Job {
  id: string;
  lane: string;
}

/** A queue of due jobs claimed in order, leaving out excluded lanes, as a store's claim does. */
function queueOf(jobs: Job[]) {
  const due = [...jobs];
  const released: string[] = [];
  return {
    released,
    claim: async (limit: number, exclude: readonly string[]) => {
      const out: Job[] = [];
      for (let i = 0; i < due.length && out.length < limit; ) {
        if (exclude.includes(due[i]!.lane)) i++;
        else out.push(...due.splice(i, 1));
      }
      return out;
    },
    release: async (items: Job[]) => {
      released.push(...items.map((j) => j.id));
      return items.length;
    },
  };
}

function loop(
  q: ReturnType<typeof queueOf>,
  run: (job: Job) => Promise<string>,
  extra: Partial<ClaimLoop<Job, string, string>> = {},
) {
  return {
    batchSize: 4,
    laneOf: (job: Job) => job.lane,
    concurrencyOf: () => 2,
    claim: q.claim,
    run,
    record: async (done: string[]) => done,
    recordGroup: 3,
    release: q.release,
    ...extra,
  } satisfies ClaimLoop<Job, string, string>;
}

const jobs = (lane: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${lane}${i}`, lane }));

describe("runClaimLoop", () => {
  it("runs every job once, and a hung lane holds only its own jobs while the others finish", async () => {
    const q = queueOf([...jobs("hung", 6), ...jobs("ok", 10)]);
    let unblock!: () => void;
    const gate = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    const finishedOk: string[] = [];
    const result = runClaimLoop(
      loop(q, async (job) => {
        if (job.lane === "hung") await gate;
        else finishedOk.push(job.id);
        return job.id;
      }),
    );
    // Every job of the healthy lane finishes while the hung lane's calls still hang.
    while (finishedOk.length < 10) await new Promise((resolve) => setTimeout(resolve, 1));
    unblock();
    const { outcomes, claimed, released } = await result;
    expect([...outcomes].sort()).toEqual([...jobs("hung", 6), ...jobs("ok", 10)].map((j) => j.id).sort());
    expect([claimed, released]).toEqual([16, 0]);
  });

  it("on a stop starts nothing more, lets the running jobs finish and be recorded, and gives the rest back", async () => {
    const q = queueOf(jobs("a", 8));
    const controller = new AbortController();
    const { outcomes, released } = await runClaimLoop(
      loop(
        q,
        async (job) => {
          controller.abort();
          await new Promise((resolve) => setTimeout(resolve, 5));
          return job.id;
        },
        { signal: controller.signal },
      ),
    );
    expect(outcomes).toEqual(["a0", "a1"]);
    expect(released).toBe(2);
    expect(q.released).toEqual(["a2", "a3"]);
  });

  it("gives back a job it does not accept and ends the run once the rest is done", async () => {
    const q = queueOf(jobs("a", 3));
    const { outcomes, claimed, released } = await runClaimLoop(
      loop(q, async (job) => job.id, { accept: (job) => job.id !== "a1" }),
    );
    expect(outcomes.sort()).toEqual(["a0", "a2"]);
    expect([claimed, released]).toEqual([2, 1]);
    expect(q.released).toEqual(["a1"]);
  });

  it("claims no more than the limit", async () => {
    const q = queueOf(jobs("a", 10));
    const { outcomes, claimed } = await runClaimLoop(loop(q, async (job) => job.id, { limit: 5 }));
    expect([outcomes.length, claimed]).toEqual([5, 5]);
  });
});
