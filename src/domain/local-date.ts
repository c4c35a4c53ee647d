import type { IsoDate } from "./identity-types.js";

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds in a day of UTC time (dates here are calendar dates; no day has a leap second). */
export const DAY_MS = 86_400_000;

/** The calendar date of `now` in `timeZone` (IANA name), as YYYY-MM-DD. */
export function localDate(now: Date, timeZone: string): IsoDate {
  let fmt = formatters.get(timeZone);
  if (fmt === undefined) {
    // en-CA formats dates as YYYY-MM-DD, which is exactly the ISO calendar date.
    fmt = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    formatters.set(timeZone, fmt);
  }
  return fmt.format(now);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-CA", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Adds whole days to an ISO calendar date. */
export function addDays(date: IsoDate, days: number): IsoDate {
  const t = Date.parse(`${date}T00:00:00Z`) + days * DAY_MS;
  return new Date(t).toISOString().slice(0, 10);
}
