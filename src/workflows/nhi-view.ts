import type { Identity } from "../domain/identity-types.js";
import { type NhiFinding, nhiFindings } from "../domain/nhi-findings.js";
import { assignmentInForce, coOwnersOf, type NhiPolicy, type NonHumanIdentity } from "../domain/nhi-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Store } from "../store/store-types.js";

/** An NHI as `tenure nhi list|show` (and later the API) present it: its people by key, and its findings. */
export interface NhiView extends NonHumanIdentity {
  /** disabled | removed | pending (an owner change awaits confirmation) | active */
  status: "active" | "pending" | "disabled" | "removed";
  /** The owner in force and the pending owner, by source key (null: none). */
  owner: string | null;
  pendingOwner: string | null;
  /** The co-owners in force: assigned with the owner by hand, else the inventory's. */
  coOwners: readonly string[];
  findings: NhiFinding[];
}

/**
 * The policy findings are measured against when tenure.yaml has no `nhi:` (an inventory synced earlier):
 * an owner required, no age limits, no expiry warnings beyond expiry itself, any scope.
 */
export const NO_POLICY: NhiPolicy = {
  ownerRequired: true,
  maxCredentialAgeMs: {},
  expiryWarningsMs: [],
  allowedScopes: {},
  unusedAfterMs: {},
  onOwnerLeave: { passTo: "manager", fallback: null, confirmWithinMs: 0, onMove: false, otherwise: "keep" },
};

/** Every NHI (removed ones only with `all`), by name, with its findings under `nhi.policy` at `now`. */
export async function listNhiViews(
  store: Store,
  config: Pick<TenureConfig, "nhi">,
  now: Date,
  options: { all?: boolean; name?: string } = {},
): Promise<NhiView[]> {
  const { db } = store;
  let nhis: NonHumanIdentity[];
  if (options.name !== undefined) {
    const one = await nhiRepository.findByName(db, options.name);
    nhis = one === undefined ? [] : [one];
  } else {
    nhis = await nhiRepository.list(db, { live: options.all !== true });
  }
  const people = await identityRepository.findByIds(
    db,
    nhis.flatMap((n) => [n.ownerId, n.pendingOwnerId]).filter((id): id is string => id !== null),
  );
  const policy = config.nhi?.policy ?? NO_POLICY;
  return nhis.map((n) => view(n, people, policy, now));
}

function view(
  nhi: NonHumanIdentity,
  people: ReadonlyMap<string, Identity>,
  policy: NhiPolicy,
  now: Date,
): NhiView {
  const owner = nhi.ownerId === null ? undefined : people.get(nhi.ownerId);
  const pending = nhi.pendingOwnerId === null ? undefined : people.get(nhi.pendingOwnerId);
  // Every field written out: a spread (or Object.assign) adding keys to a 29-field object makes V8 build
  // each view key by key, seconds over 100,000 NHIs; a literal is one allocation of a known shape
  // (docs/performance.md, non-human identities). A field added to NonHumanIdentity fails to compile here.
  return {
    id: nhi.id,
    name: nhi.name,
    type: nhi.type,
    system: nhi.system,
    purpose: nhi.purpose,
    ownerKey: nhi.ownerKey,
    ownerId: nhi.ownerId,
    ownerSince: nhi.ownerSince,
    coOwnerKeys: nhi.coOwnerKeys,
    createdOn: nhi.createdOn,
    lastRotatedAt: nhi.lastRotatedAt,
    expiresAt: nhi.expiresAt,
    lastUsedAt: nhi.lastUsedAt,
    scopes: nhi.scopes,
    scopeLastUsed: nhi.scopeLastUsed,
    entitlements: nhi.entitlements,
    origin: nhi.origin,
    account: nhi.account,
    // Shown only while the assigned person is still the owner (succession may have passed it on since).
    ownerAssignment: assignmentInForce(nhi),
    pendingOwnerId: nhi.pendingOwnerId,
    pendingSince: nhi.pendingSince,
    pendingDeadline: nhi.pendingDeadline,
    ownerlessReason: nhi.ownerlessReason,
    disabledReason: nhi.disabledReason,
    disabledAt: nhi.disabledAt,
    removedAt: nhi.removedAt,
    createdAt: nhi.createdAt,
    updatedAt: nhi.updatedAt,
    version: nhi.version,
    status:
      nhi.removedAt !== null
        ? "removed"
        : nhi.disabledAt !== null
          ? "disabled"
          : nhi.pendingOwnerId !== null
            ? "pending"
            : "active",
    owner: owner?.sourceKey ?? nhi.ownerId,
    pendingOwner: pending?.sourceKey ?? nhi.pendingOwnerId,
    coOwners: coOwnersOf(nhi),
    findings: nhiFindings(nhi, owner === undefined ? undefined : { state: owner.state }, policy, now),
  };
}
