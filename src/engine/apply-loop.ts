import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";
import type { ApplySummary } from "./apply.js";
import type { OperationOutcome } from "./apply-record.js";
import { applyQueued, connectorPool } from "./provision.js";

export interface ApplyLoopDeps {
  store: Store;
  config: TenureConfig;
  now: () => Date;
  /** Recorded as the actor of the operations' audit events. */
  actor: string;
  /** Pause between two runs. */
  intervalMs: number;
  /** Operations claimed at a time (default 64). */
  batchSize?: number;
  /** Told about each run that did something (with each operation's outcome), and about failures of the loop itself. */
  onRun?: (summary: ApplySummary, outcomes: readonly OperationOutcome[]) => void;
  onError?: (err: unknown) => void;
}

export interface ApplyLoop {
  /**
   * Stops gracefully: no operation starts any more; those executing finish and are recorded; those
   * claimed but not started go back to `pending`; then the connectors close. Resolves when all that is done.
   */
  stop(): Promise<void>;
}

/**
 * Applies due operations (new ones, retries whose time has come) in the background, one run every
 * `intervalMs`, starting at once. Each run is `applyQueued` — what `tenure apply` does — with one set
 * of connectors kept open between runs.
 */
export function startApplyLoop(deps: ApplyLoopDeps): ApplyLoop {
  const controller = new AbortController();
  const pool = connectorPool(deps.config);
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | null = null;

  const run = async () => {
    try {
      const result = await applyQueued(deps.store, deps.config, {
        now: deps.now,
        actor: deps.actor,
        pool,
        signal: controller.signal,
        ...(deps.batchSize === undefined ? {} : { batchSize: deps.batchSize }),
      });
      if (result.summary.claimed > 0) deps.onRun?.(result.summary, result.outcomes);
    } catch (err) {
      deps.onError?.(err);
    }
  };
  const schedule = (delay: number) => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      current = run().finally(() => {
        current = null;
        schedule(deps.intervalMs);
      });
    }, delay);
  };
  schedule(0);

  return {
    async stop() {
      controller.abort();
      clearTimeout(timer);
      await current;
      await pool.closeAll();
    },
  };
}
