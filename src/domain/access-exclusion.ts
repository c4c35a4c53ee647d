import type { AccessExclusion, DesiredAccess, Lineage } from "./access-types.js";
import type { Identity } from "./identity-types.js";

/**
 * Review exclusions as desired state reads them (issue 16): access a reviewer refused that policy
 * would otherwise give is kept out for the employment it was decided in. Pure.
 */

/** The lineage an exclusion leaves on what it keeps away: `excluded by review item X in campaign Y`. */
export function exclusionLineage(e: Pick<AccessExclusion, "itemId" | "campaignId" | "campaign">): Lineage {
  return {
    kind: "lifecycle",
    policy: "reviews",
    note: `excluded by review item ${e.itemId} in campaign ${e.campaign ?? e.campaignId}`,
    review: { itemId: e.itemId, campaignId: e.campaignId },
  };
}

/** One identity's exclusions that count: roles, and system → entitlement keys, each with its lineage. */
export interface ExclusionIndex {
  roles: ReadonlyMap<string, Lineage>;
  entitlements: ReadonlyMap<string, ReadonlyMap<string, Lineage>>;
}

/**
 * The exclusions of `identity` in its current employment, indexed; null when there are none (the usual
 * case, which then costs nothing). Exclusions of other identities or earlier employments are ignored.
 */
export function indexExclusions(
  exclusions: readonly AccessExclusion[] | undefined,
  identity: Pick<Identity, "id" | "employment">,
): ExclusionIndex | null {
  if (exclusions === undefined || exclusions.length === 0) return null;
  let roles: Map<string, Lineage> | null = null;
  let entitlements: Map<string, Map<string, Lineage>> | null = null;
  for (const e of exclusions) {
    if (e.identityId !== identity.id || e.employment !== identity.employment) continue;
    const target = e.target;
    if ("role" in target) {
      roles ??= new Map();
      if (!roles.has(target.role)) roles.set(target.role, exclusionLineage(e));
      continue;
    }
    entitlements ??= new Map();
    let keys = entitlements.get(target.system);
    if (keys === undefined) {
      keys = new Map();
      entitlements.set(target.system, keys);
    }
    if (!keys.has(target.entitlement)) keys.set(target.entitlement, exclusionLineage(e));
  }
  if (roles === null && entitlements === null) return null;
  return { roles: roles ?? new Map(), entitlements: entitlements ?? new Map() };
}

/** Whether a lineage is policy alone (a birthright rule, an include, mover grace): what an exclusion removes. */
export function isPolicyLineage(lineage: Lineage): boolean {
  return lineage.kind === "role" || lineage.kind === "mover-grace";
}

/** A piece of access: an entitlement in a system, or (entitlement null) the account itself. */
export interface AccessPiece {
  system: string;
  entitlement: string | null;
}

/**
 * What `before` gives that `after` no longer does: each entitlement desired in `before` and not in
 * `after` (or on an account `after` wants absent), and each account `before` wants and `after` does not.
 */
export function accessRemoved(before: DesiredAccess, after: DesiredAccess): AccessPiece[] {
  const out: AccessPiece[] = [];
  for (const [system, was] of Object.entries(before.systems)) {
    if (was.presence === "absent") continue;
    const now = Object.hasOwn(after.systems, system) ? after.systems[system] : undefined;
    const gone = now === undefined || now.presence === "absent";
    for (const key of Object.keys(was.entitlements)) {
      if (gone || !Object.hasOwn(now.entitlements, key)) out.push({ system, entitlement: key });
    }
    if (gone) out.push({ system, entitlement: null });
  }
  return out;
}
