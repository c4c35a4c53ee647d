/**
 * Durations as people write them in tenure.yaml and on the command line: a whole number and a unit —
 * `30m`, `8h`, `7d`, `2w` — or several (`1h30m`). Pure: used by the config loader, the CLI and the API.
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const WHOLE = /^(?:\d{1,6}[smhdw])+$/;
const PART = /(\d{1,6})([smhdw])/g;

/** Milliseconds of `text`, or undefined when it is not a duration (or is zero). */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return ms > 0 ? ms : undefined;
}

/** What a duration looks like, for error messages. */
export const DURATION_FORMS = "a whole number with a unit: 30m, 8h, 7d, 2w (or 1h30m)";

/** A duration for people, in the largest units that fit exactly: `2h`, `1d12h`, `90m` → `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0s";
  let rest = Math.round(ms / 1_000) * 1_000;
  let out = "";
  for (const unit of ["w", "d", "h", "m", "s"] as const) {
    const size = UNIT_MS[unit];
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
