/**
 * Canonical JSON as RFC 8785 (JCS) defines it for the values the ledger hashes: strings,
 * finite numbers, booleans, null, arrays and plain objects. Object keys are sorted by UTF-16
 * code units at every depth, there is no whitespace, and strings and numbers are written the
 * way ECMAScript's JSON.stringify writes them — which is exactly what JCS prescribes, so the
 * native serialiser does the escaping and number formatting.
 *
 * As in JSON.stringify: properties whose value is `undefined` are dropped, an `undefined`
 * array element becomes `null`, and a value with a `toJSON` method (a Date) is replaced by
 * its result. Anything JSON cannot represent faithfully (NaN, ±Infinity, bigint, functions,
 * symbols, Maps, Sets, cycles — caught as nesting deeper than 512) throws a TypeError rather than being hashed as something it is not.
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, 0);
  if (out === undefined) throw new TypeError("canonicalJson: the value itself is undefined");
  return out;
}

// Depth stands in for cycle detection: tracking every ancestor costs on every object, while a
// cycle simply runs past any depth a real record reaches.
const MAX_DEPTH = 512;

function write(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a finite number`);
      // JSON.stringify formats -0 as "0" and everything else with Number#toString, as JCS requires.
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return undefined;
    case "object":
      break;
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} cannot be represented in JSON`);
  }
  if (value === null) return "null";
  if (depth >= MAX_DEPTH) {
    throw new TypeError(
      `canonicalJson: nested more than ${MAX_DEPTH} levels deep (does it contain a cycle?)`,
    );
  }
  const toJson = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJson === "function") return write(toJson.call(value), depth + 1);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += write(value[i], depth + 1) ?? "null";
    }
    return `${out}]`;
  }
  if (value instanceof Map || value instanceof Set) {
    // JSON.stringify would silently write "{}"; a hashed record must not lose its contents.
    throw new TypeError("canonicalJson: a Map or Set cannot be represented in JSON; convert it first");
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // Default sort compares UTF-16 code units, which is the order JCS specifies.
  if (keys.length > 1) keys.sort();
  let out = "{";
  for (const key of keys) {
    const member = write(record[key], depth + 1);
    if (member === undefined) continue;
    out += out.length === 1 ? `${JSON.stringify(key)}:${member}` : `,${JSON.stringify(key)}:${member}`;
  }
  return `${out}}`;
}
