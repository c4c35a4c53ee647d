import { UsageError } from "../shared/errors.js";

/**
 * A date or date-time option (`--from 2026-07-01`, `--at 2026-07-01T09:00:00Z`) as a Date; absent stays
 * absent. @throws UsageError naming the flag and what it expected.
 */
export function dateOption(value: string, flag: string): Date;
export function dateOption(value: string | undefined, flag: string): Date | undefined;
export function dateOption(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} ${value}: expected an ISO-8601 date or date-time`);
  return new Date(ms);
}
