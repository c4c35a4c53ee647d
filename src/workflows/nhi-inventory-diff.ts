import type { Account } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import type { NhiInventoryFields } from "../domain/nhi-digest.js";
import type { NhiDeclaration, NhiDiscoveryRule, NonHumanIdentity } from "../domain/nhi-types.js";
import { newId } from "../shared/ids.js";
import { REMOVED_REASON } from "./nhi-inventory-write.js";

/**
 * The inventory sync's diff (workflows/nhi-inventory.ts): what an NHI becomes from its declaration, and
 * whether and how that differs from what is stored.
 */

/** Fields compared to tell whether a sync changes an NHI (bookkeeping aside). */
const COMPARED = [
  "type",
  "system",
  "purpose",
  "ownerKey",
  "ownerId",
  "ownerSince",
  "coOwnerKeys",
  "createdOn",
  "lastRotatedAt",
  "expiresAt",
  "lastUsedAt",
  "scopes",
  "scopeLastUsed",
  "entitlements",
  "origin",
  "ownerAssignment",
  "pendingOwnerId",
  "ownerlessReason",
  "disabledAt",
  "removedAt",
] as const satisfies readonly (keyof NonHumanIdentity)[];

/** An owner reference (source key, email or id) resolved to its identity; undefined: nobody. */
export type OwnerResolver = (ref: string) => Identity | undefined;

/** What declaration `d` says of its NHI: the fields the stored inventory digest is made of. */
export function inventoryOf(d: NhiDeclaration): NhiInventoryFields {
  return {
    type: d.type,
    system: d.system,
    purpose: d.purpose,
    ownerKey: d.owner,
    coOwnerKeys: d.coOwners,
    createdOn: d.created,
    lastRotatedAt: d.lastRotated,
    expiresAt: d.expires,
    lastUsedAt: d.lastUsed,
    scopes: d.scopes,
    scopeLastUsed: d.scopeLastUsed,
    entitlements: d.entitlements,
    origin: d.origin,
  };
}

/** The NHI `d` declares, new or as the next version of `before`. */
export function fromDeclaration(
  d: NhiDeclaration,
  before: NonHumanIdentity | undefined,
  owners: OwnerResolver,
  now: Date,
): NonHumanIdentity {
  const at = now.toISOString();
  const resolved = d.owner === null ? undefined : owners(d.owner);
  const inventory = inventoryOf(d);
  const freshOwner = {
    ownerId: resolved?.id ?? null,
    ownerSince: resolved === undefined ? null : at,
    pendingOwnerId: null,
    pendingSince: null,
    pendingDeadline: null,
    ownerlessReason: null,
    disabledReason: null,
    disabledAt: null,
    ownerAssignment: null,
  };
  if (before === undefined) {
    return {
      id: newId(),
      name: d.name,
      ...inventory,
      ...freshOwner,
      account: null,
      removedAt: null,
      createdAt: at,
      updatedAt: at,
      version: 1,
    };
  }
  // An owner assigned by hand holds until the inventory's ownership of the NHI changes: then the file wins.
  const ownerRenamed =
    before.ownerKey !== d.owner ||
    (before.ownerAssignment !== null && JSON.stringify(before.coOwnerKeys) !== JSON.stringify(d.coOwners));
  // An owner declared before the person was known to the store is taken up once they are.
  const ownerArrived =
    !ownerRenamed &&
    before.ownerId === null &&
    before.pendingOwnerId === null &&
    before.ownerlessReason === null &&
    before.disabledAt === null &&
    resolved !== undefined;
  // Back in the inventory: the disable its removal made is lifted (a disable for another reason stays).
  const returned = before.removedAt !== null && before.disabledReason === REMOVED_REASON;
  return bump(
    {
      ...before,
      ...inventory,
      ...(returned ? { disabledAt: null, disabledReason: null } : {}),
      ...(ownerRenamed || ownerArrived ? freshOwner : {}),
      removedAt: null,
    },
    now,
  );
}

/** The NHI discover rule `rule` makes of `account`, named `name`, with no owner. */
export function discovered(
  rule: NhiDiscoveryRule,
  account: Account,
  name: string,
  now: Date,
): NonHumanIdentity {
  const at = now.toISOString();
  return {
    id: newId(),
    name,
    type: rule.type,
    system: rule.system,
    purpose: null,
    ownerKey: null,
    ownerId: null,
    ownerSince: null,
    coOwnerKeys: [],
    createdOn: null,
    lastRotatedAt: null,
    expiresAt: null,
    lastUsedAt: account.lastUsedAt,
    scopes: [],
    scopeLastUsed: {},
    ownerAssignment: null,
    entitlements: account.entitlements.map((e) => `${rule.system}:${e}`).sort(),
    origin: "discovered",
    account: account.username,
    pendingOwnerId: null,
    pendingSince: null,
    pendingDeadline: null,
    ownerlessReason: null,
    disabledReason: null,
    disabledAt: null,
    removedAt: null,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

/** `nhi` as the next version, updated at `now`. */
export function bump(nhi: NonHumanIdentity, now: Date): NonHumanIdentity {
  return { ...nhi, updatedAt: now.toISOString(), version: nhi.version + 1 };
}

/** Whether a sync changes the NHI from `a` to `b` (bookkeeping aside). */
export function differs(a: NonHumanIdentity, b: NonHumanIdentity): boolean {
  for (const k of COMPARED) if (!same(a[k], b[k])) return true;
  return false;
}

/** Deep equality of JSON-like values (strings, numbers, null, lists, plain objects), without serialising. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const list = b as unknown[];
    if (a.length !== list.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], list[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  // Key order counts, as it did when values were compared as JSON text (scopeLastUsed is written in order).
  const other = Object.keys(y);
  if (keys.length !== other.length) return false;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== other[i] || !same(x[keys[i]!], y[keys[i]!])) return false;
  }
  return true;
}

/** The fields that differ between `a` and `b`, for the `nhi.updated` event. */
export function changesOf(
  a: NonHumanIdentity,
  b: NonHumanIdentity,
): Record<string, { before: unknown; after: unknown }> {
  const out: Record<string, { before: unknown; after: unknown }> = {};
  for (const k of COMPARED) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = { before: a[k], after: b[k] };
  }
  return out;
}
