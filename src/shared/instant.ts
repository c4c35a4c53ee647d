/**
 * A point in time as a connector reports it, read into an ISO-8601 instant (UTC), or null when it is
 * not one. Connectors pass last use through as the target stores it: an ISO string, a SQL timestamp
 * without a zone (`2026-03-01 09:30:00`, read as UTC), a date (`2026-03-01`, midnight UTC) or epoch
 * seconds/milliseconds. Anything else is unknown, never a guess: an unreadable last use must not make
 * an account look dormant.
 */
const SQL_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const EPOCH = /^\d{9,13}$/;
/** 1990-01-01: an epoch number before it is more likely something else (an id, a count). */
const EPOCH_FLOOR_MS = Date.UTC(1990, 0, 1);
const MAX_MS = Date.UTC(10_000, 0, 1) - 1;

export function toInstant(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (text === "") return null;
  let ms: number;
  const sql = SQL_TIMESTAMP.exec(text);
  if (sql !== null) ms = Date.parse(`${sql[1]}T${sql[2]}Z`);
  else if (DATE_ONLY.test(text)) ms = Date.parse(`${text}T00:00:00Z`);
  else if (EPOCH.test(text)) ms = text.length <= 10 ? Number(text) * 1000 : Number(text);
  else if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(text)) ms = Date.parse(text);
  else return null;
  if (!Number.isFinite(ms) || ms < EPOCH_FLOOR_MS || ms > MAX_MS) return null;
  return new Date(ms).toISOString();
}

/**
 * `Date.parse`, remembering the text it last parsed: for a pass over many items that mostly ask about
 * the same instant in a row (a campaign's start; the last use of the account a holder's items are on).
 * Each caller keeps its own (two interleaved streams of texts would forget each other's).
 */
export function lastParsed(): (text: string) => number {
  let last = "";
  let ms = Number.NaN;
  return (text) => {
    if (text !== last) {
      last = text;
      ms = Date.parse(text);
    }
    return ms;
  };
}
