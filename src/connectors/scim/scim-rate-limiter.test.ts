import { describe, expect, it } from "vitest";
import { createRateLimiter, type RateLimiterClock } from "./scim-rate-limiter.js";

/** A clock that moves only when someone sleeps, recording when each take() returned. */
function fakeClock(): RateLimiterClock & { at: number } {
  const clock = {
    at: 0,
    now: () => clock.at,
    sleep: async (ms: number) => {
      clock.at += Math.max(0, ms);
    },
  };
  return clock;
}

describe("createRateLimiter", () => {
  it("lets `burst` requests go at once, then one per interval", async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requestsPerMinute: 600, burst: 3 }, clock);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      await limiter.take();
      times.push(clock.at);
    }
    expect(times).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it("pause holds every later request, then spacing resumes", async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requestsPerMinute: 600, burst: 1 }, clock);
    await limiter.take();
    limiter.pause(1000);
    await limiter.take();
    expect(clock.at).toBe(1000);
    await limiter.take();
    expect(clock.at).toBe(1100);
  });
});
