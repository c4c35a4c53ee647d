import { Cron } from "croner";
import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import { isValidTimeZone } from "../../domain/local-date.js";

const CRON_EXPECTED =
  'expected a cron pattern of 5 fields (minute hour day-of-month month day-of-week, e.g. "*/5 * * * *"), ' +
  "6 with seconds first, a nickname such as @hourly, or off";

/** Whether croner reads `pattern` as a recurring pattern (a date would be a one-off run: refused). */
export function isCronPattern(pattern: string): boolean {
  const text = pattern.trim();
  const fields = text.split(/\s+/).length;
  if (!text.startsWith("@") && fields !== 5 && fields !== 6) return false;
  try {
    // Paused and without a function: only parsed, nothing is scheduled.
    new Cron(text, { paused: true, mode: "5-or-6-parts" });
    return true;
  } catch {
    return false;
  }
}

/** A job's schedule: a cron pattern (see {@link isCronPattern}), or `off` for never. */
export function cronPattern() {
  return z
    .string({ error: CRON_EXPECTED })
    .refine((pattern) => pattern === "off" || isCronPattern(pattern), { error: CRON_EXPECTED })
    .transform((pattern) => pattern.trim());
}

const seconds = "expected a whole number of seconds (1 or more)";

/**
 * `server.schedule:` — what `tenure serve` (and `tenure schedule run`) does on the clock, without a push:
 * the cron pattern of each job, read in `timeZone`. Defaults as in `ScheduleConfig`.
 */
export const scheduleSection = strictObject({
  enabled: z.boolean({ error: "expected true or false" }).default(true),
  timeZone: z
    .string()
    .refine((zone) => !/^[+-]/.test(zone) && isValidTimeZone(zone), {
      error: "expected an IANA time zone such as UTC or Europe/London",
    })
    .default("UTC"),
  lifecycle: cronPattern().default("*/5 * * * *"),
  reconcile: cronPattern().default("0 * * * *"),
  notify: cronPattern().default("* * * * *"),
  tasks: cronPattern().default("*/15 * * * *"),
  sod: cronPattern().default("30 2 * * *"),
  reviews: cronPattern().default("*/5 * * * *"),
  checkpoint: cronPattern().default("15 3 * * *"),
  alerts: cronPattern().default("*/15 * * * *"),
  leaderRetrySeconds: z
    .number({ error: seconds })
    .int({ error: seconds })
    .min(1, { error: seconds })
    .default(30),
}).prefault({});
