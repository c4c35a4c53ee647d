import type { AttributeName, MaxLengths } from "../policy/config-types.js";

/** Longest value of an attribute, in characters (Unicode code points), when the source sets no limit. */
export const DEFAULT_MAX_LENGTH = 1024;
/** Longest key (the source's key attribute, and managerId, which names a key) when the source sets none. */
export const DEFAULT_MAX_KEY_LENGTH = 256;

/**
 * Control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F). Never part of a name, an
 * email or a date; in a value they hide text in a terminal (ESC sequences), split log lines (CR, LF)
 * or truncate strings in C libraries (NUL).
 */
const CONTROL = /\p{Cc}/u;

/** The limit that applies to `attribute` in a source whose key attribute is `key`. */
export function maxLengthOf(attribute: AttributeName, key: AttributeName, limits: MaxLengths = {}): number {
  const own = limits[attribute];
  if (own !== undefined) return own;
  if (attribute === key || attribute === "managerId") return limits.key ?? DEFAULT_MAX_KEY_LENGTH;
  return limits.default ?? DEFAULT_MAX_LENGTH;
}

/** Length in Unicode code points: what a person counts as characters, and what a database column holds. */
export function characterCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** What is wrong with a value that entered through a source, already normalised. */
export type ValueProblem =
  | { code: "control_character"; message: string }
  | { code: "too_long"; message: string };

/**
 * Checks one normalised value (see `normaliseText`) against the rules every source shares: no control
 * character, at most `limit` characters. The message describes the value without repeating it (it may
 * be megabytes, or hold the very characters that garble a terminal): `contains the control character
 * U+0000 at character 4`, `is 2000 characters long; at most 1024 are accepted`.
 */
export function checkValue(text: string, limit: number): ValueProblem | undefined {
  const control = CONTROL.exec(text);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    const at = characterCount(text.slice(0, control.index)) + 1;
    return {
      code: "control_character",
      message: `contains the control character U+${code} at character ${at}; control characters are refused`,
    };
  }
  // Code units are at least as many as code points, so counting is needed only past the limit.
  if (text.length > limit) {
    const length = characterCount(text);
    if (length > limit) {
      return { code: "too_long", message: `is ${length} characters long; at most ${limit} are accepted` };
    }
  }
  return undefined;
}
