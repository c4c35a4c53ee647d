import { TenureError } from "../shared/errors.js";

/**
 * One engine run (sync, reconcile) at a time per server: two syncs at once would plan against each
 * other's half-written state. A second request while one runs gets 409 `run_in_progress` at once,
 * rather than queueing behind it.
 */
export function createRunGuard() {
  let running: string | null = null;
  return {
    /** The run in progress, if any (`sync`, `reconcile`). */
    current: (): string | null => running,
    async exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
      if (running !== null) {
        throw new TenureError("run_in_progress", `a ${running} is running; try again when it has finished`, {
          httpStatus: 409,
        });
      }
      running = what;
      try {
        return await fn();
      } finally {
        running = null;
      }
    },
  };
}

export type RunGuard = ReturnType<typeof createRunGuard>;
