import anyAscii from "any-ascii";
import type { AttributeName } from "./identity-types.js";
import { ATTRIBUTE_KINDS, ATTRIBUTE_NAMES, type WorkerAttributes } from "./identity-types.js";

/** The attribute names a `{attr}` placeholder may use, in declaration order: every attribute. */
export const TEMPLATE_ATTRIBUTES: readonly AttributeName[] = ATTRIBUTE_NAMES;

function isAttributeName(name: string): name is AttributeName {
  return Object.hasOwn(ATTRIBUTE_KINDS, name);
}

/** A template that cannot be compiled: an unknown attribute or an unbalanced brace. */
export class TemplateError extends Error {
  readonly code = "invalid_template";
  constructor(
    message: string,
    readonly template: string,
  ) {
    super(message);
    this.name = "TemplateError";
  }
}

/** A compiled `{attr}` template. Rendering never throws and allocates only the result string. */
export interface CompiledTemplate {
  readonly source: string;
  /** The attributes the template reads, each once, in order of first use. */
  readonly reads: readonly AttributeName[];
  /** Substitutes each placeholder; a null attribute renders as the empty string. */
  render(attributes: WorkerAttributes): string;
  /**
   * Like `render`, but null when the template reads at least one attribute and every one it reads is
   * null, so `email: "{email}"` for a person without an email sets the attribute to null, not "".
   */
  renderValue(attributes: WorkerAttributes): string | null;
}

/**
 * What `{attribute|filter}` may apply to a value, in order: `slug` ("Sales & Marketing" →
 * "sales-marketing": ASCII, lower-case, every run of other characters one "-"), `lower`, `upper`.
 */
export const TEMPLATE_FILTERS = {
  slug: (value: string): string => toSlug(value),
  lower: (value: string): string => value.toLowerCase(),
  upper: (value: string): string => value.toUpperCase(),
} as const;

/**
 * Compiles a template such as `{givenName}.{familyName}` or `dept-{department|slug}` (filters in
 * {@link TEMPLATE_FILTERS}). `{{` and `}}` stand for literal braces.
 * Throws `TemplateError` naming the attribute when a placeholder names something that is not a
 * WorkerAttributes field, so a typo fails when the policy loads rather than on the first joiner.
 */
export function compileTemplate(text: string): CompiledTemplate {
  // Literal text and attribute names alternate: parts[0] literal, parts[1] attribute, parts[2] literal…
  const literals: string[] = [];
  const names: AttributeName[] = [];
  const filters: ((value: string) => string)[][] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "{" && text[i + 1] === "{") {
      literal += "{";
      i += 2;
    } else if (ch === "}" && text[i + 1] === "}") {
      literal += "}";
      i += 2;
    } else if (ch === "{") {
      const close = text.indexOf("}", i + 1);
      if (close < 0)
        throw new TemplateError(`template "${text}" has an unclosed "{" at position ${i + 1}`, text);
      const [rawName = "", ...rawFilters] = text.slice(i + 1, close).split("|");
      const name = rawName.trim();
      if (!isAttributeName(name)) {
        throw new TemplateError(
          `template "${text}" reads unknown attribute "${name}"; known attributes: ${TEMPLATE_ATTRIBUTES.join(", ")}`,
          text,
        );
      }
      const chain = rawFilters.map((raw) => {
        const filter = raw.trim();
        if (!Object.hasOwn(TEMPLATE_FILTERS, filter)) {
          throw new TemplateError(
            `template "${text}" uses unknown filter "${filter}" on ${name}; filters: ${Object.keys(TEMPLATE_FILTERS).join(", ")}`,
            text,
          );
        }
        return TEMPLATE_FILTERS[filter as keyof typeof TEMPLATE_FILTERS];
      });
      literals.push(literal);
      names.push(name);
      filters.push(chain);
      literal = "";
      i = close + 1;
    } else if (ch === "}") {
      throw new TemplateError(
        `template "${text}" has an unmatched "}" at position ${i + 1} (write "}}")`,
        text,
      );
    } else {
      literal += ch;
      i++;
    }
  }
  literals.push(literal);
  const reads = [...new Set(names)];

  const render = (attributes: WorkerAttributes): string => {
    let out = literals[0]!;
    for (let k = 0; k < names.length; k++) {
      let value = attributes[names[k]!] ?? "";
      for (const filter of filters[k]!) value = filter(value);
      out += value + literals[k + 1]!;
    }
    return out;
  };
  const renderValue = (attributes: WorkerAttributes): string | null => {
    for (let k = 0; k < reads.length; k++) if (attributes[reads[k]!] !== null) return render(attributes);
    return reads.length === 0 ? render(attributes) : null;
  };
  return { source: text, reads, render, renderValue };
}

// Letters NFKD does not decompose into a base letter plus marks, transliterated by convention.
const SPECIAL: Readonly<Record<string, string>> = {
  ł: "l",
  Ł: "l",
  ø: "o",
  Ø: "o",
  ß: "ss",
  ẞ: "ss",
  æ: "ae",
  Æ: "ae",
  œ: "oe",
  Œ: "oe",
  đ: "d",
  Đ: "d",
  þ: "th",
  Þ: "th",
  ı: "i",
};
const SPECIAL_PATTERN = /[łŁøØßẞæÆœŒđĐþÞı]/g;

/**
 * Latin letters lose their accents as before (ł→l, ß→ss, é→e), so the usernames of names that
 * rendered already stay the same; what is left outside ASCII — Cyrillic, Greek, CJK, Arabic, Hebrew,
 * Devanagari, Thai, Hangul … — is transliterated by any-ascii ("Анна" → "Anna", "王芳" → "WangFang").
 */
function toAscii(text: string): string {
  const latin = text
    .replace(SPECIAL_PATTERN, (m) => SPECIAL[m]!)
    .normalize("NFKD")
    // Only the accents of Latin letters: in Devanagari, Thai or Arabic the marks are vowels.
    .replace(LATIN_ACCENTS, "$1");
  return NON_ASCII.test(latin) ? anyAscii(latin.normalize("NFC")) : latin;
}
const NON_ASCII = /[\u0080-\uffff]/;
const LATIN_ACCENTS = /([ -~]|\p{Script=Latin})\p{M}+/gu;

function isSeparator(c: number): boolean {
  return c === 46 /* . */ || c === 95 /* _ */ || c === 45 /* - */;
}

/**
 * Turns rendered text into a username: ASCII only (accents stripped, ł→l, ß→ss, æ→ae …), lower-case,
 * only `[a-z0-9._-]` kept, runs of separators collapsed to their first one, no separator at either end.
 * "Zoë.O'Brien-Łukasik" → "zoe.obrien-lukasik", "Анна.Иванова" → "anna.ivanova". May return "" (a name
 * of symbols only).
 */
export function toUsername(text: string): string {
  let s = text;
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 127) {
      ascii = false;
      break;
    }
  }
  // Most names are ASCII already; normalisation is the slow part, so only pay for it when needed.
  if (!ascii) s = toAscii(s);
  let out = "";
  let pendingSeparator = -1;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (pendingSeparator >= 0 && out.length > 0) out += String.fromCharCode(pendingSeparator);
      pendingSeparator = -1;
      out += String.fromCharCode(c);
    } else if (isSeparator(c) && pendingSeparator < 0) {
      pendingSeparator = c;
    }
  }
  return out;
}

/**
 * Text as a slug for names made from attribute values (a group per department): ASCII (accents
 * stripped, ł→l, ß→ss …), lower-case, each run of anything but a-z and 0-9 one "-", none at either end.
 * "Sales & Marketing" → "sales-marketing", "R&D" → "r-d". May return "".
 */
export function toSlug(text: string): string {
  const ascii = toAscii(text).toLowerCase();
  return ascii.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/** The outcome of choosing a username for one account. */
export type UsernameAllocation =
  | { ok: true; username: string }
  | { ok: false; username: string; reason: "taken" | "empty"; message: string };

/**
 * Chooses a free username: `base` when free, else (collision `suffix`) the first free of `base2`,
 * `base3`, …, else (collision `fail`) a failure naming the taken username. Never throws; an empty
 * base always fails, because an account cannot be created without a name. `firstSuffix` lets a caller
 * allocating many names from one base skip suffixes it already knows are taken.
 */
export function allocateUsername(
  base: string,
  taken: Pick<ReadonlySet<string>, "has">,
  collision: "suffix" | "fail",
  firstSuffix = 2,
): UsernameAllocation {
  if (base === "") {
    return { ok: false, username: base, reason: "empty", message: "the username template renders empty" };
  }
  if (!taken.has(base)) return { ok: true, username: base };
  if (collision === "fail") {
    return {
      ok: false,
      username: base,
      reason: "taken",
      message: `username ${base} is already taken and the system's collision rule is fail`,
    };
  }
  for (let n = Math.max(2, firstSuffix); ; n++) {
    const candidate = `${base}${n}`;
    if (!taken.has(candidate)) return { ok: true, username: candidate };
  }
}
