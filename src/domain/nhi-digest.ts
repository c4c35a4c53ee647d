import { hash } from "node:crypto";
import type { NonHumanIdentity } from "./nhi-types.js";

/**
 * The digest of what the inventory says of an NHI, stored with it (`non_human_identities.inventory_digest`)
 * so the hourly sync with nothing changed reads one (name, digest) pair per NHI and compares digests,
 * reading and comparing whole rows only where they differ (docs/performance.md, non-human identities).
 * Pure: the same fields give the same digest, whoever wrote them (sync, rotation, succession).
 */

/** The inventory's fields of an NHI: what a declaration sets and the sync compares. */
export type NhiInventoryFields = Pick<
  NonHumanIdentity,
  | "type"
  | "system"
  | "purpose"
  | "ownerKey"
  | "coOwnerKeys"
  | "createdOn"
  | "lastRotatedAt"
  | "expiresAt"
  | "lastUsedAt"
  | "scopes"
  | "scopeLastUsed"
  | "entitlements"
  | "origin"
>;

/**
 * SHA-1 of the fields in a fixed order, each value length-prefixed (so no two different values write the
 * same text) — built by concatenation, which is several times cheaper than JSON.stringify over 100,000
 * NHIs. Key order of `scopeLastUsed` counts, as the sync's deep compare counts it.
 */
export function nhiInventoryDigest(n: NhiInventoryFields): string {
  let text =
    text1(n.type) +
    text1(n.system) +
    text1(n.purpose) +
    text1(n.ownerKey) +
    list(n.coOwnerKeys) +
    text1(n.createdOn) +
    text1(n.lastRotatedAt) +
    text1(n.expiresAt) +
    text1(n.lastUsedAt) +
    list(n.scopes) +
    list(n.entitlements) +
    text1(n.origin);
  const keys = Object.keys(n.scopeLastUsed);
  text += `{${keys.length}`;
  for (const k of keys) text += text1(k) + text1(n.scopeLastUsed[k] ?? null);
  return hash("sha1", text, "base64");
}

function text1(v: string | null): string {
  return v === null ? "~" : `${v.length}:${v}`;
}

function list(v: readonly string[]): string {
  let out = `[${v.length}`;
  for (const x of v) out += text1(x);
  return out;
}
