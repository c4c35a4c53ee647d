import { setFlagsFromString } from "node:v8";

/**
 * After each full collection V8 lets its heap grow to a multiple of what survived — up to four times
 * when collections are cheap — before collecting again. On a machine with memory to spare, an import of
 * 1,000,000 rows whose live data peaks near 400 MB so reached 1.4 – 1.9 GB of RSS, although what it
 * keeps is bounded. While a bounded-memory run holds this guard, the heap grows by at most `percent`
 * per collection (V8's --heap-growing-percent, read at every collection): more, shorter collections
 * (about 2 % of the run's time at 1,000,000 rows) for a peak near the live data. The flag is the
 * process's: the guard counts its holders and gives V8 its own heuristic back (0) when the last one ends.
 */
export function createHeapGrowthGuard(setFlags: (flags: string) => void = setFlagsFromString) {
  let holders = 0;
  return async function boundedHeapGrowth<T>(run: () => Promise<T>, percent = 50): Promise<T> {
    if (holders++ === 0) setFlags(`--heap-growing-percent=${percent}`);
    try {
      return await run();
    } finally {
      if (--holders === 0) setFlags("--heap-growing-percent=0");
    }
  };
}

/** The process's guard: see createHeapGrowthGuard. */
export const boundedHeapGrowth = createHeapGrowthGuard();
