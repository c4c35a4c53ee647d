/**
 * Last use of an account as a directory records it, read into an ISO-8601 instant: OpenLDAP's
 * `lastbind` overlay writes `authTimestamp` (generalized time, RFC 4517) at each successful bind;
 * Active Directory keeps `lastLogonTimestamp` (a Windows FILETIME: 100-nanosecond intervals since
 * 1601-01-01 UTC, as a decimal string; `0` or the largest int64 mean never). Pure.
 */

/** FILETIME of 1970-01-01T00:00:00Z, in 100-ns intervals since 1601-01-01. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;
/** The largest int64, which AD writes for "never" in some time attributes. */
const FILETIME_NEVER = 0x7fff_ffff_ffff_ffffn;
/** The last instant of year 9999: later values are nonsense, and ISO strings past it do not sort. */
const MAX_MS = Date.UTC(10_000, 0, 1) - 1;

// RFC 4517 GeneralizedTime: YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|±HH[MM]). The zone is required.
const GENERALIZED_TIME =
  /^(\d{4})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2}))?)?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)$/;

/**
 * A generalized time as an ISO-8601 instant (UTC), or null when the value is not one or names a day
 * that does not exist. A fraction applies to the last unit written (RFC 4517 3.3.13).
 */
export function parseGeneralizedTime(value: string): string | null {
  const m = GENERALIZED_TIME.exec(value.trim());
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 February over into March: such a day does not exist.
  if (new Date(ms).getUTCDate() !== day) return null;
  if (fraction !== undefined) {
    const unit = s !== undefined ? 1000 : mi !== undefined ? 60_000 : 3_600_000;
    ms += Math.floor(Number(`0.${fraction}`) * unit);
  }
  if (zone !== "Z") {
    const sign = zone!.startsWith("-") ? -1 : 1;
    const offH = Number(zone!.slice(1, 3));
    const offM = zone!.length > 3 ? Number(zone!.slice(3, 5)) : 0;
    if (offH > 23 || offM > 59) return null;
    // 10:00+0200 is 08:00Z.
    ms -= sign * (offH * 60 + offM) * 60_000;
  }
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/**
 * A Windows FILETIME (decimal string) as an ISO-8601 instant, or null for `0`, the int64 "never",
 * anything before 1970 (AD writes no such logon), and anything that is not a non-negative integer.
 */
export function parseFileTime(value: string): string | null {
  const text = value.trim();
  if (!/^\d{1,20}$/.test(text)) return null;
  const ticks = BigInt(text);
  if (ticks === 0n || ticks >= FILETIME_NEVER || ticks < FILETIME_UNIX_EPOCH) return null;
  const ms = Number((ticks - FILETIME_UNIX_EPOCH) / 10_000n);
  return ms > MAX_MS ? null : new Date(ms).toISOString();
}

/**
 * Last use from the values of the configured attribute: the latest of the values that parse (a
 * FILETIME when all digits, else a generalized time), or null when none does — absent, `0`, or
 * unreadable. Never throws: a value the connector cannot read must not stop a reconcile.
 */
export function parseLastUsed(values: readonly string[]): string | null {
  let latest: string | null = null;
  for (const value of values) {
    const parsed = /^\s*\d+\s*$/.test(value) ? parseFileTime(value) : parseGeneralizedTime(value);
    if (parsed !== null && (latest === null || parsed > latest)) latest = parsed;
  }
  return latest;
}
