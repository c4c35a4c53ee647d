/**
 * Group commit: calls made at about the same time are handed to one `run` together, so work whose cost
 * is mostly per call — a transaction, a ledger append, a round trip per statement — is paid once per
 * group. `submit(group, item)` resolves with that item's own answer from `run`.
 *
 * When: a call that finds a free slot (fewer than `maxInFlight` groups running) leads a new group; it
 * lets the calls already under way in this turn of the event loop join (one `setImmediate`) and runs.
 * Calls that find every slot taken wait; when a group ends, the first waiter leads the next group with
 * the waiters after it (same `group` key, at most `maxBatch`). Nothing waits for a timer: an idle
 * process runs a lone call at once, a busy one makes its groups as large as the wait it had anyway.
 *
 * Where: a group runs in its leader's call — inside the leader's async context (its locks, its trace)
 * — and each follower's call waits for it. Callers hold whatever they held before they submitted.
 *
 * Failure: when `run` throws, no item gets that error: each caller runs `alone(item)` itself, in its own
 * context, and gets its own answer or error, as without grouping. So `run` must leave nothing behind
 * that `alone` would not tolerate — a run that failed before its commit wrote nothing; one that failed
 * after it must make `alone` find the work done (the callers of this make their work idempotent).
 */
export interface GroupCommit<I, O> {
  submit(group: string, item: I): Promise<O>;
  /** Groups running and calls waiting (for tests and diagnostics). */
  running(): number;
  waiting(): number;
}

export interface GroupCommitOptions<I, O> {
  /** The work of some items of one group, one answer per item, in their order. */
  run: (group: string, items: readonly I[]) => Promise<readonly O[]>;
  /** One item's work on its own: a group of one, and what each item falls back to when `run` throws. */
  alone: (group: string, item: I) => Promise<O>;
  maxBatch: number;
  maxInFlight: number;
}

type Outcome<O> = { kind: "value"; value: O } | { kind: "error"; error: unknown } | { kind: "alone" };

interface Member<I, O> {
  item: I;
  outcome: Promise<Outcome<O>>;
  settle: (outcome: Outcome<O>) => void;
}

interface Waiting<I, O> {
  group: string;
  member: Member<I, O>;
  /** Called with the members this caller is to lead, or null when another caller's group took it. */
  wake: (members: Member<I, O>[] | null) => void;
}

export function createGroupCommit<I, O>(options: GroupCommitOptions<I, O>): GroupCommit<I, O> {
  const { maxBatch, maxInFlight } = options;
  let running = 0;
  const queue: Waiting<I, O>[] = [];
  /** Groups whose leader is letting this turn's calls join: calls of that group queue to join it. */
  const forming = new Set<string>();

  /** Takes up to `room` waiters of `group` from the queue, in their order. */
  function take(group: string, room: number): Waiting<I, O>[] {
    const taken: Waiting<I, O>[] = [];
    for (let i = 0; i < queue.length && taken.length < room; ) {
      if (queue[i]!.group === group) taken.push(...queue.splice(i, 1));
      else i++;
    }
    return taken;
  }

  /** Slots are free: the first waiter leads the next group, the waiters of its group after it follow. */
  function next(): void {
    while (running < maxInFlight && queue.length > 0) {
      const [leader, ...followers] = take(queue[0]!.group, maxBatch);
      running++;
      for (const f of followers) f.wake(null);
      leader!.wake([leader!.member, ...followers.map((f) => f.member)]);
    }
  }

  /** Runs a group in the leader's call and settles every member. */
  async function lead(group: string, members: readonly Member<I, O>[]): Promise<void> {
    try {
      if (members.length === 1) {
        const [only] = members;
        try {
          only!.settle({ kind: "value", value: await options.alone(group, only!.item) });
        } catch (error) {
          only!.settle({ kind: "error", error });
        }
        return;
      }
      let answers: readonly O[] | undefined;
      try {
        answers = await options.run(
          group,
          members.map((m) => m.item),
        );
      } catch {
        answers = undefined;
      }
      for (const [i, m] of members.entries()) {
        m.settle(
          answers?.length === members.length ? { kind: "value", value: answers[i]! } : { kind: "alone" },
        );
      }
    } finally {
      running--;
      next();
    }
  }

  return {
    async submit(group, item) {
      let settle!: (o: Outcome<O>) => void;
      const outcome = new Promise<Outcome<O>>((resolve) => {
        settle = resolve;
      });
      const member: Member<I, O> = { item, outcome, settle };
      let members: Member<I, O>[] | null;
      if (running < maxInFlight && queue.length === 0 && !forming.has(group)) {
        running++;
        // Calls already under way in this turn of the event loop join before the group starts.
        forming.add(group);
        await new Promise<void>((resolve) => setImmediate(resolve));
        forming.delete(group);
        const followers = take(group, maxBatch - 1);
        for (const f of followers) f.wake(null);
        members = [member, ...followers.map((f) => f.member)];
        // Calls of other groups that queued while this one formed may take the slots still free.
        next();
      } else {
        members = await new Promise<Member<I, O>[] | null>((wake) => {
          queue.push({ group, member, wake });
        });
      }
      // The group runs here, after this call's own await: in this caller's async context.
      if (members !== null) await lead(group, members);
      const settled = await outcome;
      if (settled.kind === "value") return settled.value;
      if (settled.kind === "error") throw settled.error;
      return options.alone(group, item);
    },
    running: () => running,
    waiting: () => queue.length,
  };
}
