import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * How long a synchronous stretch of engine work (planning, evaluating rules) may keep the event loop
 * before it gives way: short enough that a server keeps answering, and a signal or a shutdown timer
 * is handled, while a plan of 100,000 identities is being computed.
 */
export const SLICE_MS = 20;

/**
 * A pause for long loops: `await pause()` in each round returns at once until {@link SLICE_MS} have
 * passed since the last time it gave way, then lets the event loop run (timers, I/O, signals) once.
 */
export function createPause(sliceMs = SLICE_MS): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await nextTurn();
    since = performance.now();
  };
}

/** Runs a generator that yields between units of work to its end, giving way as {@link createPause} does. */
export async function drainSteps<T>(steps: Generator<void, T, void>, sliceMs = SLICE_MS): Promise<T> {
  let since = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - since >= sliceMs) {
      await nextTurn();
      since = performance.now();
    }
  }
}
