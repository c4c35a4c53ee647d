/**
 * At most `limit` holders at once; the others wait, urgent ones first. `enter(keys, urgent, limit)`
 * resolves with the function that lets the holder out.
 *
 * Why: a burst of 32 SCIM creates worked on all at once shares the CPU 33 ways, so a leaver pushed in
 * the middle of it waits as long as every create (1.2 s p99 on PostgreSQL). Admitting a few at a time
 * keeps the throughput (the CPU is as busy) and lets the leaver go first: its access goes in the time
 * of a few pushes, not of the whole burst.
 *
 * Order: waiters are let in first come, first served, except that an urgent waiter goes before the
 * ordinary ones — unless an earlier waiter shares one of its keys. Pushes for one person keep their
 * call order that way: a termination never overtakes the update HR sent before it, which would then
 * be applied last. A waiter holds nothing while it waits (its keys are taken after it is let in), so
 * the gate adds no wait-for cycle to the locks behind it.
 */
export interface AdmissionGate {
  enter(keys: readonly string[], urgent: boolean, limit: number): Promise<() => void>;
  /** Holders now, and waiters (for tests and diagnostics). */
  inside(): number;
  waiting(): number;
}

interface Waiter {
  keys: readonly string[];
  urgent: boolean;
  letIn: () => void;
}

export function createAdmissionGate(): AdmissionGate {
  let inside = 0;
  let limit = 1;
  const waiters: Waiter[] = [];

  /** The waiter to let in next: the first urgent one no earlier waiter shares a key with, else the first. */
  function nextIndex(): number {
    const earlier = new Set<string>();
    for (const [i, w] of waiters.entries()) {
      if (w.urgent && !w.keys.some((k) => earlier.has(k))) return i;
      for (const k of w.keys) earlier.add(k);
    }
    return 0;
  }

  function leave(): void {
    inside--;
    while (inside < limit && waiters.length > 0) {
      const [next] = waiters.splice(nextIndex(), 1);
      inside++;
      next!.letIn();
    }
  }

  return {
    enter(keys, urgent, newLimit) {
      limit = Math.max(1, newLimit);
      let left = false;
      const exit = () => {
        if (left) return;
        left = true;
        leave();
      };
      if (inside < limit && waiters.length === 0) {
        inside++;
        return Promise.resolve(exit);
      }
      return new Promise((resolve) => {
        waiters.push({ keys, urgent, letIn: () => resolve(exit) });
      });
    },
    inside: () => inside,
    waiting: () => waiters.length,
  };
}
