import { localDate } from "../domain/local-date.js";
import type { TenureConfig } from "../policy/config-types.js";

/** The calendar date that decides pre-hire windows: the first source's time zone, else UTC. */
export function policyToday(config: Pick<TenureConfig, "sources">, now: Date): string {
  const first = Object.values(config.sources)[0];
  return localDate(now, first?.timeZone ?? "UTC");
}
