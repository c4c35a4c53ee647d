import { Attribute, Change, type Entry } from "ldapts";
import { ldapResultCode } from "./ldap-errors.js";

// Small helpers over ldapts entries and changes that the connector's parts share.

/** Values of one attribute of a search entry, whatever case the server spelled its name in. */
export function reader(entry: Entry): (attribute: string) => string[] {
  const byName = new Map<string, Entry[string]>();
  for (const [name, value] of Object.entries(entry)) byName.set(name.toLowerCase(), value);
  return (attribute) => {
    const value = byName.get(attribute.toLowerCase());
    if (value === undefined) return [];
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v)));
  };
}

/** The first value of an attribute kept as bytes (`explicitBufferAttributes`), e.g. `objectGUID`. */
export function rawValue(entry: Entry, attribute: string): Buffer | undefined {
  const name = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = name === undefined ? undefined : entry[name];
  const first = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(first) ? first : undefined;
}

/** The first RDN of a DN as written (`uid=x`), split at the first comma that is not escaped. */
export function firstRdn(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === "\\") i++;
    else if (dn[i] === ",") return dn.slice(0, i);
  }
  return dn;
}

/** Awaits an LDAP write, treating the given result codes as "already so". */
export async function tolerate(write: Promise<void>, codes: readonly number[]): Promise<void> {
  try {
    await write;
  } catch (err) {
    const code = ldapResultCode(err);
    if (code === undefined || !codes.includes(code)) throw err;
  }
}

/** Sets one value of `attribute` in an entry being built, whatever case the key was written in. */
export function setValue(entry: Record<string, string[]>, attribute: string, value: string): void {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase()) ?? attribute;
  entry[key] = [value];
}

export const isText = (value: string | null): value is string => value !== null && value !== "";

export function change(operation: "add" | "delete" | "replace", type: string, values: string[]): Change {
  return new Change({ operation, modification: new Attribute({ type, values }) });
}
