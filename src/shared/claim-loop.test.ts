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
    /** The jobs not yet claimed: a test may queue more while the loop runs. */
    due,
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

  /** Four jobs of lane "a" run side by side, job aN taking durations[N] ms; results recorded by `record`. */
  const timedRun = (
    durations: readonly number[],
    extra: Pick<ClaimLoop<Job, string, string>, "recordGroup" | "recordWaitMs" | "record">,
  ) =>
    runClaimLoop(
      loop(
        queueOf(jobs("a", 4)),
        async (job) => {
          await new Promise((resolve) => setTimeout(resolve, durations[Number(job.id.slice(1))]));
          return job.id;
        },
        { concurrencyOf: () => 4, ...extra },
      ),
    );

  it("records results that end close together in one group when they may wait for each other", async () => {
    const groups: string[][] = [];
    const run = (waitMs: number) =>
      timedRun([1, 2, 3, 4], {
        recordGroup: 32,
        recordWaitMs: waitMs,
        record: async (done) => {
          groups.push([...done]);
          return done;
        },
      });
    const waited = await run(200);
    expect([...waited.outcomes].sort()).toEqual(["a0", "a1", "a2", "a3"]);
    expect(groups).toEqual([["a0", "a1", "a2", "a3"]]);
    groups.length = 0;
    await run(0);
    expect(groups.length).toBeGreaterThan(1);
  });

  it("ends when a result's wait runs out after its result was recorded with another group", async () => {
    // a0 and a1 fill a group; a2 ends while that group is recorded and waits (its timer set); the
    // recording takes a2 along; a2's timer then fires with nothing left to record; a3 ends last.
    const recorded: string[] = [];
    const { outcomes } = await timedRun([1, 2, 4, 60], {
      recordGroup: 2,
      recordWaitMs: 20,
      record: async (done) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        recorded.push(...done);
        return done;
      },
    });
    expect([...outcomes].sort()).toEqual(["a0", "a1", "a2", "a3"]);
    expect(recorded.sort()).toEqual(["a0", "a1", "a2", "a3"]);
  });

  it("records a result within a second though the items queued behind it in its lane hang", async () => {
    // a0 and a1 end at once; a2 and a3 hang, a4 and a5 wait behind them: the group never fills and
    // something always waits to start, so only the bound gets a0 and a1 recorded before the hang ends.
    const q = queueOf(jobs("a", 6));
    let unblock!: () => void;
    const gate = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    const recorded: string[] = [];
    const result = runClaimLoop(
      loop(
        q,
        async (job) => {
          if (job.id !== "a0" && job.id !== "a1") await gate;
          return job.id;
        },
        {
          record: async (done) => {
            recorded.push(...done);
            return done;
          },
        },
      ),
    );
    const end = Date.now() + 5_000;
    while (recorded.length < 2 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(recorded.sort()).toEqual(["a0", "a1"]);
    unblock();
    expect((await result).outcomes).toHaveLength(6);
  });
});

describe("runClaimLoop's claims", () => {
  it("does not claim again for each result a full lane records: only that lane's work was unblocked", async () => {
    const q = queueOf(jobs("a", 40));
    const claims: { exclude: readonly string[]; got: number }[] = [];
    const result = await runClaimLoop(
      loop(
        q,
        async (job) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return job.id;
        },
        {
          claim: async (limit, exclude) => {
            const got = await q.claim(limit, exclude);
            claims.push({ exclude, got: got.length });
            return got;
          },
          // Each result recorded by itself, as a lane's results are when they end apart.
          recordGroup: 1,
        },
      ),
    );
    expect(result.outcomes).toHaveLength(40);
    // Ten batches of 4 and the claim that finds the queue empty. With the lane full, a claim leaving it
    // out can find nothing its own results unblocked: one such claim per batch at most, not one per result.
    const emptyWhileFull = claims.filter((c) => c.got === 0 && c.exclude.includes("a")).length;
    expect(claims.filter((c) => c.got > 0)).toHaveLength(10);
    expect(emptyWhileFull).toBeLessThanOrEqual(10);
  });

  it("claims again when a lane the last claim covered records a result, though that claim found too few", async () => {
    // Lane b's second job is claimable only once its first is recorded (as an identity's next operation).
    const q = queueOf([{ id: "b0", lane: "b" }]);
    const claims: number[] = [];
    const result = await runClaimLoop(
      loop(
        q,
        async (job) => {
          if (job.id === "b0") q.due.push({ id: "b1", lane: "b" });
          return job.id;
        },
        {
          claim: async (limit, exclude) => {
            const got = await q.claim(limit, exclude);
            claims.push(got.length);
            return got;
          },
        },
      ),
    );
    expect(result.outcomes).toEqual(["b0", "b1"]);
    expect(claims).toEqual([1, 1, 0]);
  });
});

describe("runClaimLoop's claims while a lane stays full", () => {
  it("still finds the other lanes' work queued after it started, though only the full lane records", async () => {
    // A frozen system: each call ends at its deadline. Its lane is full for most of the run.
    const q = queueOf(jobs("frozen", 16));
    const finished: string[] = [];
    let claims = 0;
    const result = await runClaimLoop({
      ...loop(q, async (job) => {
        await new Promise((resolve) => setTimeout(resolve, job.lane === "frozen" ? 250 : 1));
        finished.push(job.id);
        return job.id;
      }),
      batchSize: 16,
      claim: async (limit, exclude) => {
        const out = await q.claim(limit, exclude);
        // Work of another system queued by someone else just after a claim found nothing outside the full lane.
        if (++claims === 2) q.due.push(...jobs("ok", 2));
        return out;
      },
      recordGroup: 1,
    });
    expect(result.outcomes).toHaveLength(18);
    // The frozen lane's queue stays full until its 14th call ends (7 rounds of 250 ms); the other lane's
    // work is claimed within about a second of the claim that last found nothing.
    const okDone = Math.max(finished.indexOf("ok0"), finished.indexOf("ok1"));
    expect(finished.slice(0, okDone).filter((id) => id.startsWith("frozen")).length).toBeLessThan(14);
  });
});
