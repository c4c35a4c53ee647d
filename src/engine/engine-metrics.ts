import { Histogram, Registry } from "prom-client";

/**
 * What the engine measures as it works, for the `/metrics` endpoint (api/metrics/): one registry per
 * process, since whichever process claims an operation is the one that sees its connector call. What
 * the store can tell any process (queue depth, oldest pending operation) is read at scrape time
 * instead (api/metrics/store-metrics.ts), so every instance answers the same for it.
 */
export const engineRegistry = new Registry();

// Connector calls take from a few ms (SQL) to tens of seconds (a slow directory, a manual hand-off).
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// From queued to done: seconds when the engine keeps up, hours when a system is down or a person acts.
const LATENCY_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

const connectorCall = new Histogram({
  name: "tenure_operation_execute_seconds",
  help: "Time of one operation's connector call, by system, kind and outcome (succeeded, failed)",
  labelNames: ["system", "kind", "outcome"] as const,
  buckets: CALL_BUCKETS,
  registers: [engineRegistry],
});

const queuedToDone = new Histogram({
  name: "tenure_operation_latency_seconds",
  help: "Time from an operation being queued to its connector call succeeding, by system and kind",
  labelNames: ["system", "kind"] as const,
  buckets: LATENCY_BUCKETS,
  registers: [engineRegistry],
});

/** Records one connector call: how long it took, and for a success, how long since it was queued. */
export function observeExecution(
  op: { system: string; kind: string; createdAt: string },
  seconds: number,
  succeeded: boolean,
  now: number,
): void {
  connectorCall.observe(
    { system: op.system, kind: op.kind, outcome: succeeded ? "succeeded" : "failed" },
    seconds,
  );
  if (succeeded) {
    const queued = Date.parse(op.createdAt);
    if (Number.isFinite(queued))
      queuedToDone.observe({ system: op.system, kind: op.kind }, Math.max(0, (now - queued) / 1000));
  }
}
