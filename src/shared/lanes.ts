/**
 * Scheduling per lane (a system for operations, a channel for notifications): claimed items wait in
 * their lane's own queue and start when that lane has a free slot — at most `concurrencyOf(lane)`
 * executing at once. A lane whose queue already holds a slot's worth of waiting items is *full*: the
 * next claims leave it out, so a slow or frozen system holds only its own items, and the claims keep
 * bringing in the other lanes' work at their normal speed.
 */
export interface Lanes<T> {
  /** Claimed operations, to wait in their systems' queues. */
  add(ops: readonly T[]): void;
  /** Takes every waiting operation that has a free lane now, in claim order, counting it as running. */
  startable(): T[];
  /** An operation of `system` finished executing: its lane is free. */
  finished(system: string): void;
  /** The systems whose queues are full: the next claim leaves them out. */
  full(): string[];
  /** Operations waiting (claimed, not started), and executing. */
  readonly waiting: number;
  readonly running: number;
  /** Takes every waiting operation out (a stop): they are to be given back. */
  drain(): T[];
}

export function createLanes<T>(
  laneOf: (item: T) => string,
  concurrencyOf: (lane: string) => number,
): Lanes<T> {
  const queues = new Map<string, T[]>();
  const running = new Map<string, number>();
  let waiting = 0;
  let executing = 0;
  const limit = (system: string) => Math.max(1, concurrencyOf(system));

  return {
    add(ops) {
      for (const op of ops) {
        const lane = laneOf(op);
        const queue = queues.get(lane) ?? [];
        queue.push(op);
        queues.set(lane, queue);
        waiting++;
      }
    },
    startable() {
      const out: T[] = [];
      for (const [system, queue] of queues) {
        let busy = running.get(system) ?? 0;
        while (queue.length > 0 && busy < limit(system)) {
          out.push(queue.shift()!);
          busy++;
        }
        running.set(system, busy);
      }
      waiting -= out.length;
      executing += out.length;
      return out;
    },
    finished(system) {
      running.set(system, Math.max(0, (running.get(system) ?? 1) - 1));
      executing--;
    },
    full() {
      return [...queues].filter(([system, queue]) => queue.length >= limit(system)).map(([system]) => system);
    },
    get waiting() {
      return waiting;
    },
    get running() {
      return executing;
    },
    drain() {
      const out = [...queues.values()].flat();
      queues.clear();
      waiting = 0;
      return out;
    },
  };
}
