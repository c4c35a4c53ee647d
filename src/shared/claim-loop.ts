import { createLanes } from "./lanes.js";

/**
 * The one claim-and-lease worker loop. Durable work (operations, notifications, and the workflows'
 * timers next) is claimed from the store under a lease, run in lanes, recorded, and what was claimed
 * but not started is given back. The store side (what a claim and a release mean) is the caller's;
 * this is the scheduling every worker shares:
 *
 * - It is a pipeline, not a sequence of batches: claimed items wait in their lane's queue and start as
 *   soon as that lane has a free slot; while some lane has room the next batch is claimed — leaving
 *   out the lanes whose queues are full — while the others run. So a hung lane (a frozen system, a
 *   mail server that does not answer) holds only its own items, and the others go on at their speed.
 * - Results are group-committed: they wait until `recordGroup` of them have arrived, or until nothing
 *   else is waiting to start or running — but no longer than `recordWaitMs` once nothing waits to
 *   start, so a slow item does not hold the others' results, and never longer than
 *   `RECORD_AT_MOST_MS` — and are recorded together while the work goes on. A result recorded may
 *   make more work claimable (an identity's next operation), but only in its own lane (an identity's
 *   operations queue per system), so a claim that found nothing while a record landed does not count
 *   as "drained", and a record of a lane the last claim covered sends the loop to claim again.
 * - It ends when a claim finds nothing and nothing is running, when `limit` items were claimed and
 *   are done, or when `signal` aborts: then nothing new starts, the running items finish and are
 *   recorded, and the claimed ones not started are released.
 */
export interface ClaimLoop<Item, Done, Outcome> {
  /** Items claimed at a time (fewer near `limit`). */
  batchSize: number;
  /** Claim at most this many in the run. */
  limit?: number;
  /** A graceful stop. */
  signal?: AbortSignal | undefined;
  /** The lane an item runs in, and how many of a lane's items run at once. */
  laneOf(item: Item): string;
  concurrencyOf(lane: string): number;
  /** Claims up to `limit` due items under a lease, leaving out the lanes in `exclude`. */
  claim(limit: number, exclude: readonly string[]): Promise<Item[]>;
  /**
   * Whether a claimed item runs in this run (default: yes). One that does not — a message that failed
   * earlier in this run and is already due again — is given back, and the run ends once the rest is
   * done, so a short backoff cannot spin one item through all its attempts at once.
   */
  accept?(item: Item): boolean;
  /** Runs one item. It must not throw: a failure is a result. */
  run(item: Item): Promise<Done>;
  /** Records results together and says what came of each. It must not throw for a failed item. */
  record(done: Done[]): Promise<Outcome[]>;
  /** Results recorded together at most. */
  recordGroup: number;
  /**
   * How long a result waits for the items still running once none waits to start (default 0: it is
   * recorded at once). Items started together finish within moments of each other: waiting that long
   * records them in one group instead of one each.
   */
  recordWaitMs?: number;
  /** Gives back claimed items that never started; returns how many were. Called only when none runs. */
  release(items: Item[]): Promise<number>;
  /** Told about each outcome as it is recorded, with the counts so far. */
  onOutcome?(outcome: Outcome, done: number, claimed: number): void;
}

export interface ClaimLoopResult<Outcome> {
  outcomes: Outcome[];
  /** Items claimed and run (those given back unrun are not counted). */
  claimed: number;
  /** Items given back unstarted (a stop, or not accepted). */
  released: number;
}

/** How long a claim that found all there was outside the full lanes stands for records of those lanes. */
const RECLAIM_AFTER_MS = 1000;
/**
 * How long a result waits for its group at most, however the rest goes. A group fills in moments on a
 * fast system; on a slow or hung one (items queued behind calls that wait for their deadline) it may
 * not fill for as long as the calls take, and a write done but not recorded is done again, idempotently,
 * if the process dies meanwhile — and shows as still running until it is recorded.
 */
const RECORD_AT_MOST_MS = 1000;

export async function runClaimLoop<Item, Done, Outcome>(
  loop: ClaimLoop<Item, Done, Outcome>,
): Promise<ClaimLoopResult<Outcome>> {
  const limit = loop.limit ?? Number.POSITIVE_INFINITY;
  const outcomes: Outcome[] = [];
  const refused: Item[] = [];
  let claimed = 0;
  const lanes = createLanes<Item>(loop.laneOf, loop.concurrencyOf);
  /**
   * The lanes left out when the last claim found all there was (nothing, or fewer than it asked for):
   * every other lane is known to have nothing claimable (undefined: not known, claim). A record landing
   * may have unblocked items behind it, but only in its own lane — so a record of a lane left out (its
   * queue full) changes nothing a claim could find; a lane whose queue is no longer full may have more.
   * Without that distinction, every group of results a full lane recorded set off a claim of the other
   * lanes that found nothing — on SQLite a walk of the whole queue (3.8 ms at 16,000 open operations,
   * 751 of them while 4,000 people were provisioned into OpenLDAP). Work queued by others meanwhile
   * (a push, a plan) is not a record of this loop's: a record of any lane looks again once
   * `RECLAIM_AFTER_MS` have passed since the claim, so a lane that stays full (a frozen system whose
   * calls end at their deadline) does not keep the other lanes' new work waiting.
   */
  let drainedWith: Set<string> | undefined;
  let drainedAt = 0;
  /**
   * Counts recorded groups. A claim that found nothing while a record landed may have looked before the
   * record committed (on PostgreSQL they run on different connections): it does not count as drained.
   */
  let recordsLanded = 0;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const nextEvent = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  const pendingRecords: Done[] = [];
  /** The lanes of `pendingRecords`. */
  let pendingLanes = new Set<string>();
  let recording: Promise<void> | undefined;
  const recordLoop = async () => {
    while (pendingRecords.length > 0) {
      const lanesRecorded = pendingLanes;
      pendingLanes = new Set();
      for (const outcome of await loop.record(pendingRecords.splice(0))) {
        outcomes.push(outcome);
        loop.onOutcome?.(outcome, outcomes.length, claimed);
      }
      const left = drainedWith;
      if (
        left !== undefined &&
        (performance.now() - drainedAt >= RECLAIM_AFTER_MS ||
          [...lanesRecorded].some((lane) => !left.has(lane)))
      )
        drainedWith = undefined;
      recordsLanded++;
      wakeUp();
    }
    recording = undefined;
    wakeUp();
  };
  let recordTimer: ReturnType<typeof setTimeout> | undefined;
  /** When `recordTimer` fires (performance.now()). */
  let recordDue = 0;
  /** Records what is pending within `ms` from now, or sooner if already set to. */
  const recordWithin = (ms: number) => {
    const due = performance.now() + ms;
    if (recordTimer !== undefined && recordDue <= due) return;
    clearTimeout(recordTimer);
    recordDue = due;
    recordTimer = setTimeout(flush, ms);
  };
  const flush = () => {
    clearTimeout(recordTimer);
    recordTimer = undefined;
    // Only with something to record: recordLoop on nothing settles at once, and the settled promise
    // kept in `recording` would make `recorded()` wait on it forever.
    if (pendingRecords.length > 0) recording ??= recordLoop();
  };
  const recorded = async () => {
    if (pendingRecords.length > 0) flush();
    while (recording !== undefined) await recording;
  };

  const start = (item: Item) => {
    void loop.run(item).then((done) => {
      const lane = loop.laneOf(item);
      lanes.finished(lane);
      pendingRecords.push(done);
      pendingLanes.add(lane);
      const wait = loop.recordWaitMs ?? 0;
      if (
        pendingRecords.length >= loop.recordGroup ||
        (lanes.waiting === 0 && (lanes.running === 0 || wait <= 0))
      )
        flush();
      else recordWithin(lanes.waiting === 0 ? wait : RECORD_AT_MOST_MS);
      wakeUp();
    });
  };

  for (;;) {
    if (loop.signal?.aborted) break;
    for (const item of lanes.startable()) start(item);
    const full = lanes.full();
    if (drainedWith !== undefined && [...drainedWith].some((lane) => !full.includes(lane)))
      drainedWith = undefined;
    if (claimed < limit && drainedWith === undefined && refused.length === 0) {
      const landedBefore = recordsLanded;
      const want = Math.min(loop.batchSize, limit - claimed);
      const batch = await loop.claim(want, full);
      const accepted = loop.accept === undefined ? batch : batch.filter((item) => loop.accept!(item));
      if (accepted.length < batch.length) refused.push(...batch.filter((item) => !accepted.includes(item)));
      claimed += accepted.length;
      lanes.add(accepted);
      if (batch.length < want && recordsLanded === landedBefore) {
        drainedWith = new Set(full);
        drainedAt = performance.now();
      }
      // Items may have finished during the claim (their wake-up found nobody waiting): look again.
      continue;
    }
    if (lanes.running === 0 && lanes.waiting === 0) {
      // Results not yet recorded may unblock the items queued behind them.
      if (pendingRecords.length > 0 || recording !== undefined) {
        await recorded();
        continue;
      }
      if (drainedWith !== undefined || claimed >= limit || refused.length > 0) break;
      continue;
    }
    await nextEvent();
  }

  while (lanes.running > 0) await nextEvent();
  await recorded();
  clearTimeout(recordTimer);
  const unstarted = [...lanes.drain(), ...refused];
  // Nothing of ours is running any more, so giving the claims back is safe.
  const released = unstarted.length > 0 ? await loop.release(unstarted) : 0;
  return { outcomes, claimed, released };
}
