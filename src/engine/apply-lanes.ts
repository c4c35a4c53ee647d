import type { OperationRecord } from "../store/operation-repository.js";

/**
 * Scheduling per system (issue 10, point 7): claimed operations wait in their system's own queue and
 * start when that system has a free lane — at most `concurrencyOf(system)` executing at once. A system
 * whose queue already holds a lane's worth of waiting operations is *full*: the next claims leave it
 * out, so a slow or frozen system holds only its own operations, and the claims keep bringing in the
 * other systems' work at their normal speed.
 */
export interface Lanes {
  /** Claimed operations, to wait in their systems' queues. */
  add(ops: readonly OperationRecord[]): void;
  /** Takes every waiting operation that has a free lane now, in claim order, counting it as running. */
  startable(): OperationRecord[];
  /** An operation of `system` finished executing: its lane is free. */
  finished(system: string): void;
  /** The systems whose queues are full: the next claim leaves them out. */
  full(): string[];
  /** Operations waiting (claimed, not started), and executing. */
  readonly waiting: number;
  readonly running: number;
  /** Takes every waiting operation out (a stop): they are to be given back. */
  drain(): OperationRecord[];
}

export function createLanes(concurrencyOf: (system: string) => number): Lanes {
  const queues = new Map<string, OperationRecord[]>();
  const running = new Map<string, number>();
  let waiting = 0;
  let executing = 0;
  const limit = (system: string) => Math.max(1, concurrencyOf(system));

  return {
    add(ops) {
      for (const op of ops) {
        const queue = queues.get(op.system) ?? [];
        queue.push(op);
        queues.set(op.system, queue);
        waiting++;
      }
    },
    startable() {
      const out: OperationRecord[] = [];
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
