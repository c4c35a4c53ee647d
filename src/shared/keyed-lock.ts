/**
 * Mutual exclusion by key, in process: `run(keys, fn)` runs `fn` once every earlier `run` sharing any
 * of `keys` has settled, and holds those keys until `fn` settles. Runs with disjoint keys go side by
 * side.
 *
 * A run takes its place on all its keys at once, synchronously in the `run` call, so runs on a key
 * go in call order (first called, first run), and two runs needing overlapping sets of keys cannot
 * deadlock the way mutexes taken one after another can. Nesting (a run that holds keys taking more
 * inside) is deadlock-free in levels: the inner runs' keys must be a separate namespace whose
 * holders take no further keys — ingest holds person keys, then takes identity ids inside. A
 * rejection of `fn` goes to its caller only and releases the keys like a success.
 *
 * This is the one keyed lock of the code base: the person lock pushes hold (store/person-lock.ts, which
 * adds PostgreSQL advisory locks for other processes) is one, the connectors serialise writes per user
 * or group (check-then-change would race otherwise), and a lock on one constant key is a serial queue
 * (`createSerialQueue`).
 */
export interface KeyedLock {
  run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T>;
  /** Keys held or waited for now (for tests and diagnostics). */
  size(): number;
  /** Settles once every run started before this call has settled (a connector's close waits for it). */
  idle(): Promise<void>;
}

export function createKeyedLock(): KeyedLock {
  // The last run queued on each key; it settles once every run before it on that key has.
  const tails = new Map<string, Promise<void>>();
  return {
    async run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
      const unique = [...new Set(keys)];
      const before: Promise<void>[] = [];
      let release!: () => void;
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      for (const key of unique) {
        const tail = tails.get(key);
        if (tail !== undefined) before.push(tail);
        tails.set(key, mine);
      }
      try {
        await Promise.all(before);
        return await fn();
      } finally {
        release();
        for (const key of unique) if (tails.get(key) === mine) tails.delete(key);
      }
    },
    size: () => tails.size,
    async idle(): Promise<void> {
      await Promise.all([...new Set(tails.values())]);
    },
  };
}

/** Runs the functions given to it one at a time, in call order; a rejection reaches its own caller only. */
export type SerialQueue = <T>(fn: () => Promise<T>) => Promise<T>;

export function createSerialQueue(): SerialQueue {
  const lock = createKeyedLock();
  return (fn) => lock.run(["serial"], fn);
}
