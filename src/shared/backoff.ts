/** How a system retries failed operations (tenure.yaml `systems.<name>.retry`). */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
}

/** What tenure.yaml's `systems.<name>.retry` defaults to. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelaySeconds: 30,
  maxDelaySeconds: 3600,
});

/**
 * The delay before retry number `attempt` (1 after the first failure), in seconds: exponential backoff
 * with full jitter, `random() · min(maxDelaySeconds, baseDelaySeconds · 2^(attempt − 1))`. Jitter spreads
 * the retries of many operations that failed together (a system that was down) instead of sending them
 * back in one wave. `random` returns a number in [0, 1), like Math.random, and is a parameter so tests
 * are deterministic.
 */
export function backoffDelaySeconds(
  attempt: number,
  policy: Pick<RetryPolicy, "baseDelaySeconds" | "maxDelaySeconds">,
  random: () => number,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`backoff attempt must be a positive integer; got ${attempt}`);
  }
  // 2^(attempt−1) overflows to Infinity for absurd attempt counts, which min() then caps.
  const ceiling = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** (attempt - 1));
  const r = random();
  // A random source outside [0, 1) must not schedule a retry in the past or past the cap.
  const fraction = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.max(0, ceiling) * fraction;
}

/** When retry number `attempt` becomes due, counted from `now` (millisecond precision). */
export function nextAttemptAt(
  now: Date,
  attempt: number,
  policy: Pick<RetryPolicy, "baseDelaySeconds" | "maxDelaySeconds">,
  random: () => number,
): Date {
  return new Date(now.getTime() + Math.round(backoffDelaySeconds(attempt, policy, random) * 1000));
}
