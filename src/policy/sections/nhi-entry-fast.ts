import { instantOf } from "../../domain/nhi-findings.js";
import { NHI_TYPES, type NhiType } from "../../domain/nhi-types.js";

/**
 * An inventory entry checked without zod, for the JSON fast path of inventory files
 * (nhi-inventory-file.ts): zod's pass over 100,000 entries was a third of loading such a file. It accepts
 * only entries `nhiEntrySchema` accepts, and gives what zod gives for them (defaults filled in); anything
 * else — an unknown key, a wrong type, a bad date, a name zod would refuse — is undefined, and the file goes
 * through zod after all, which reports the problem at its line as before. The two are held equal by
 * nhi-entry-fast.test.ts.
 */

/** One inventory entry as `nhiEntrySchema` (nhi-section.ts) gives it: absent keys absent, lists defaulted. */
export interface NhiEntryFile {
  name: string;
  type: NhiType;
  system?: string;
  purpose?: string;
  owner?: string;
  coOwners: string[];
  created?: string;
  lastRotated?: string;
  expires?: string;
  lastUsed?: string;
  scopes: string[];
  scopeLastUsed: Record<string, string>;
  entitlements: string[];
}

export const NHI_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
export const NHI_DATE = /^\d{4}-\d{2}-\d{2}$/;
export const NHI_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const ENTITLEMENT = /^[^:\s][^:]*:[\s\S]+$/;
const TYPES: ReadonlySet<unknown> = new Set(NHI_TYPES);
const KEYS: ReadonlySet<string> = new Set([
  "name",
  "type",
  "system",
  "purpose",
  "owner",
  "coOwners",
  "created",
  "lastRotated",
  "expires",
  "lastUsed",
  "scopes",
  "scopeLastUsed",
  "entitlements",
]);

/** `raw` as `nhiEntrySchema` would give it, or undefined when zod must look at it. */
export function fastNhiEntry(raw: unknown): NhiEntryFile | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const e = raw as Record<string, unknown>;
  for (const key in e) if (!KEYS.has(key)) return undefined;
  const { name, type, system, purpose, owner, created, lastRotated, expires, lastUsed } = e;
  if (typeof name !== "string" || name.length > 200 || !NHI_NAME.test(name)) return undefined;
  if (!TYPES.has(type)) return undefined;
  if (system !== undefined && (typeof system !== "string" || system.length === 0)) return undefined;
  if (purpose !== undefined && (typeof purpose !== "string" || purpose.length > 1000)) return undefined;
  if (owner !== undefined && !isPerson(owner)) return undefined;
  if (created !== undefined && !(typeof created === "string" && isDate(created))) return undefined;
  if (!optionalDateOrInstant(lastRotated) || !optionalDateOrInstant(expires)) return undefined;
  if (!optionalDateOrInstant(lastUsed)) return undefined;
  const coOwners = listOf(e.coOwners, isPerson);
  const scopes = listOf(e.scopes, (s) => typeof s === "string" && s.length > 0);
  const entitlements = listOf(e.entitlements, (s) => typeof s === "string" && ENTITLEMENT.test(s));
  const scopeLastUsed = usesOf(e.scopeLastUsed);
  if (coOwners === undefined || scopes === undefined || entitlements === undefined) return undefined;
  if (scopeLastUsed === undefined) return undefined;
  // Assigned key by key, absent keys left out as zod leaves them: spreads of optional parts cost more
  // than the checks above.
  const out: NhiEntryFile = {
    name,
    type: type as NhiEntryFile["type"],
    coOwners,
    scopes,
    scopeLastUsed,
    entitlements,
  };
  if (system !== undefined) out.system = system as string;
  if (purpose !== undefined) out.purpose = purpose as string;
  if (owner !== undefined) out.owner = owner;
  if (created !== undefined) out.created = created;
  if (lastRotated !== undefined) out.lastRotated = lastRotated as string;
  if (expires !== undefined) out.expires = expires as string;
  if (lastUsed !== undefined) out.lastUsed = lastUsed as string;
  return out;
}

function isPerson(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

function isDate(v: string): boolean {
  return NHI_DATE.test(v) && !Number.isNaN(instantOf(v));
}

function optionalDateOrInstant(v: unknown): boolean {
  return v === undefined || (typeof v === "string" && isDateOrInstant(v));
}

function isDateOrInstant(v: string): boolean {
  return (NHI_DATE.test(v) || NHI_INSTANT.test(v)) && !Number.isNaN(instantOf(v));
}

/** A list whose every item passes `ok`, copied (absent: empty), as zod gives it; undefined otherwise. */
function listOf(v: unknown, ok: (item: unknown) => boolean): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return undefined;
  for (const item of v) if (!ok(item)) return undefined;
  return [...(v as string[])];
}

/** `scope: date` pairs, copied in their order (absent: none); undefined when zod must look. */
function usesOf(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [scope, at] of Object.entries(v)) {
    // A key an object literal would treat specially goes the careful way.
    if (scope.length === 0 || scope === "__proto__" || typeof at !== "string" || !isDateOrInstant(at))
      return undefined;
    out[scope] = at;
  }
  return out;
}
