import { setTimeout as sleep } from "node:timers/promises";

/**
 * A token bucket, written as GCRA (a "theoretical arrival time" instead of a token count): the rate is
 * `requestsPerMinute`, and up to `burst` requests may go at once after a quiet spell.
 *
 * `take()` reserves the next free slot at once and then waits for it, so concurrent callers are served
 * in call order and never oversubscribe the rate, however many wait. `pause(ms)` holds every caller
 * (those already waiting too) for `ms`, for a server that answered 429 with Retry-After: it throttles
 * the whole client, not one request.
 */
export interface RateLimiter {
  take(): Promise<void>;
  pause(ms: number): void;
}

export interface RateLimiterClock {
  /** Monotonic milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: RateLimiterClock = { now: () => performance.now(), sleep: (ms) => sleep(ms) };

export function createRateLimiter(
  limit: { requestsPerMinute: number; burst: number },
  clock: RateLimiterClock = realClock,
): RateLimiter {
  const interval = 60_000 / limit.requestsPerMinute;
  const tolerance = (limit.burst - 1) * interval;
  let theoreticalArrival = Number.NEGATIVE_INFINITY;
  let pausedUntil = Number.NEGATIVE_INFINITY;

  async function waitOutPause(): Promise<void> {
    for (let now = clock.now(); pausedUntil > now; now = clock.now()) await clock.sleep(pausedUntil - now);
  }

  return {
    async take() {
      await waitOutPause();
      const now = clock.now();
      const arrival = Math.max(theoreticalArrival, now);
      theoreticalArrival = arrival + interval;
      const allowedAt = arrival - tolerance;
      if (allowedAt > now) await clock.sleep(allowedAt - now);
      await waitOutPause();
    },
    pause(ms) {
      const until = clock.now() + ms;
      pausedUntil = Math.max(pausedUntil, until);
      // Slots reserved from now on start after the pause, spaced as usual.
      theoreticalArrival = Math.max(theoreticalArrival, until);
    },
  };
}
