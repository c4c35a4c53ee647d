/**
 * SCIM filters (RFC 7644 §3.4.2.2) the connector sends: only `attribute eq "value"`, and the wider
 * `sw` / `pr` queries it falls back to when a server mishandles escaped characters.
 */

/**
 * `attribute eq "value"` with the value as a JSON string (RFC 7644 §3.4.2.2: "compValue … JSON
 * string"), so `"` and `\` are escaped and no value can end the string and add filter syntax.
 */
export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}

/** Whether a value holds characters that need escaping in a filter string. */
export function needsEscaping(value: string): boolean {
  return /["\\\p{Cc}]/u.test(value);
}

/**
 * A filter that matches at least every resource whose `attribute` equals `value` without escaping
 * anything: `sw` with the part before the first character that needs escaping, or `pr` when that part
 * is empty. Some servers reject escaped quotes in a filter (scimmy 1.3 answers 400) or compare the
 * escaped text instead of the value (a backslash then never matches); the caller pages through this
 * wider answer and compares values itself.
 */
export function widerFilter(attribute: string, value: string): string {
  const at = value.search(/["\\\p{Cc}]/u);
  const prefix = at < 0 ? value : value.slice(0, at);
  return prefix === "" ? `${attribute} pr` : `${attribute} sw ${JSON.stringify(prefix)}`;
}
