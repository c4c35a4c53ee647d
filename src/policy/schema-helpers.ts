import { z } from "zod";

/**
 * Marks the zod issue raised for a key an object does not declare. The loader reads it to place the
 * issue on the key itself (not its value) and to keep the message as written here.
 */
export const UNKNOWN_KEY = "tenure.unknown_key";

/** Options of {@link strictObject}. */
export interface StrictObjectOptions {
  /**
   * A message for particular unknown keys, e.g. a top-level section this version does not support
   * yet. Returning undefined falls back to the usual "unknown key … did you mean …" message.
   */
  readonly explainUnknownKey?: (key: string) => string | undefined;
}

/**
 * An object schema in which every key not in `shape` is an error, one issue per key, at the key's
 * path, with the closest known key suggested when one is near.
 *
 * zod's own strict mode reports all unknown keys of an object in one issue at the object's path,
 * which can point neither at each key nor suggest per key; a catch-all that always fails gives us
 * one issue per key instead. The static type is that of `z.strictObject(shape)`, which is what the
 * runtime behaviour amounts to.
 */
export function strictObject<const Shape extends z.ZodRawShape>(
  shape: Shape,
  options: StrictObjectOptions = {},
): z.ZodObject<Shape, z.core.$strict> {
  const known = Object.keys(shape);
  const unknownKey = z.custom<never>(() => false, {
    params: { tenure: UNKNOWN_KEY },
    // Issues are finalised once parsing is over, so the path already ends with the offending key.
    error: (issue) => {
      const key = String(issue.path?.at(-1) ?? "");
      return options.explainUnknownKey?.(key) ?? unknownKeyMessage(key, known);
    },
  });
  return z.object(shape).catchall(unknownKey) as unknown as z.ZodObject<Shape, z.core.$strict>;
}

/** "unknown key 'x' — did you mean 'y'?" when a known key is near, else the list of known keys. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closestMatch(key, known);
  if (suggestion !== undefined) return `unknown key '${key}' — did you mean '${suggestion}'?`;
  if (known.length === 0) return `unknown key '${key}' — no keys are allowed here`;
  return `unknown key '${key}' — expected one of: ${known.join(", ")}`;
}

/**
 * The candidate nearest to `input`, or undefined when none is near enough to be a plausible typo.
 * Case is ignored when measuring, so `timezone` finds `timeZone`. Ties go to the earlier candidate.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase());
    // A third of the length tolerates a dropped, doubled or swapped letter in a short key without
    // proposing unrelated words ("key" is not a typo of "type").
    const allowed = Math.max(1, Math.floor(Math.max(input.length, candidate.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions, the commonest typo. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = value;
    }
  }
  return at(a.length, b.length);
}

/** A count of days: a whole number, zero or more. */
export function days() {
  return wholeNumber("expected a whole number of days (0 or more)");
}

/** A count of things: a whole number, zero or more. */
export function count() {
  return wholeNumber("expected a whole number (0 or more)");
}

function wholeNumber(expected: string) {
  return z.number({ error: expected }).int({ error: expected }).min(0, { error: expected });
}

/** A percentage from 0 to 100 inclusive; fractions allowed. */
export function percent() {
  const expected = "expected a percentage from 0 to 100";
  return z.number({ error: expected }).min(0, { error: expected }).max(100, { error: expected });
}
