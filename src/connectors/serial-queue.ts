/**
 * Runs the functions given to it one at a time, in call order, each starting when the previous one has
 * settled (fulfilled or rejected). A connector whose writes check the target's state and then change it
 * uses one per instance, so concurrent creates or grants of the same thing report one change instead of
 * racing. A rejection is returned to its own caller only; it does not stop the queue.
 */
export type SerialQueue = <T>(fn: () => Promise<T>) => Promise<T>;

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
