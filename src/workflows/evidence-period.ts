import { InvalidInputError } from "../shared/errors.js";

/**
 * A period an auditor names: a quarter (`2026-Q3`), a month (`2026-07`), a year (`2026`), or two dates
 * (`2026-07-01..2026-10-01`, the end exclusive). Quarters, months and years are in UTC.
 */
export interface Period {
  label: string;
  from: Date;
  to: Date;
}

const utc = (y: number, m: number, d = 1) => new Date(Date.UTC(y, m, d));

export function parsePeriod(text: string): Period {
  const t = text.trim();
  let m = /^(\d{4})-Q([1-4])$/i.exec(t);
  if (m !== null) {
    const y = Number(m[1]);
    const q = Number(m[2]);
    return { label: `${y}-Q${q}`, from: utc(y, (q - 1) * 3), to: utc(y, q * 3) };
  }
  m = /^(\d{4})-(\d{2})$/.exec(t);
  if (m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 12) {
    const y = Number(m[1]);
    const mo = Number(m[2]) - 1;
    return { label: t, from: utc(y, mo), to: utc(y, mo + 1) };
  }
  m = /^(\d{4})$/.exec(t);
  if (m !== null) return { label: t, from: utc(Number(m[1]), 0), to: utc(Number(m[1]) + 1, 0) };
  m = /^(\d{4}-\d{2}-\d{2}[^.]*)\.\.(\d{4}-\d{2}-\d{2}.*)$/.exec(t);
  if (m !== null) {
    const from = new Date(m[1]!);
    const to = new Date(m[2]!);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
      throw new InvalidInputError(`period ${t}: a date in it cannot be read`);
    if (from >= to) throw new InvalidInputError(`period ${t}: the start is not before the end`);
    return { label: `${from.toISOString().slice(0, 10)}..${to.toISOString().slice(0, 10)}`, from, to };
  }
  throw new InvalidInputError(
    `period ${JSON.stringify(t)}: expected a quarter (2026-Q3), a month (2026-07), a year (2026) or FROM..TO (2026-07-01..2026-10-01)`,
  );
}
