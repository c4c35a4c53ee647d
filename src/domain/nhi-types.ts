import type { SourceLocation } from "./rule-types.js";

/**
 * Non-human identities (issue 17; docs/nhi.md). An NHI is an identity of `kind: "service"` in the
 * identities table (source {@link NHI_SOURCE}, source key = its name, `attributes.managerId` = its owner's
 * source key) with its own record in `non_human_identities`: type, system, purpose, owners, credential
 * dates, scopes and entitlements, and the state of owner succession. Declared in tenure.yaml `nhi.inventory`
 * or an inventory file, or discovered among a system's accounts by `nhi.discover` rules.
 */

/** The identities table's `source` of every NHI. */
export const NHI_SOURCE = "nhi";

export const NHI_TYPES = ["service_account", "api_key", "oauth_app", "certificate", "agent"] as const;
export type NhiType = (typeof NHI_TYPES)[number];

/** Where an NHI came from: tenure.yaml, an inventory file, or a system's accounts (a discover rule). */
export type NhiOrigin = "config" | "file" | "discovered";

/** One NHI as stored: its identity's id, what the inventory says of it, and its owner succession. */
export interface NonHumanIdentity {
  /** The id of its `kind: service` identity. */
  id: string;
  /** Unique among NHIs; its identity's source key. */
  name: string;
  type: NhiType;
  /** The system holding its credential (a `systems:` key); null when none is named. */
  system: string | null;
  purpose: string | null;
  /** The owner as the inventory names it (an identity's source key, email or id); null: none declared. */
  ownerKey: string | null;
  /** The identity id of the owner in force (declared, or confirmed by succession); null: no owner. */
  ownerId: string | null;
  /** When `ownerId` became the owner (ISO-8601): an owner's move after it is a move of theirs. */
  ownerSince: string | null;
  /** Co-owners as the inventory names them (source keys). */
  coOwnerKeys: readonly string[];
  /** The date the credential was created (YYYY-MM-DD). */
  createdOn: string | null;
  /** When the credential was last rotated (date or ISO instant); null: never since created. */
  lastRotatedAt: string | null;
  /** When the credential expires (date or ISO instant); null: it does not. */
  expiresAt: string | null;
  /**
   * When the credential was last used (date or ISO instant), as the inventory says, or as reconcile read
   * it from a discovered NHI's account; null: unknown (never flagged as unused).
   */
  lastUsedAt: string | null;
  /** OAuth scopes or agent permissions granted. */
  scopes: readonly string[];
  /** When each scope was last used, where known (scope → date or ISO instant); a scope absent: unknown. */
  scopeLastUsed: Readonly<Record<string, string>>;
  /** Entitlements it holds, `SYSTEM:KEY`. */
  entitlements: readonly string[];
  origin: NhiOrigin;
  /** For a discovered NHI: the username of the account it was discovered as, in `system`. */
  account: string | null;
  /**
   * An owner assigned through `tenure nhi assign-owner` or the API, in force over the inventory's `owner`
   * (`ownerId` is then the assigned person) until the inventory's owner or co-owners of this NHI change;
   * null: the owner is the inventory's (or succession's).
   */
  ownerAssignment: NhiOwnerAssignment | null;
  /** Whom ownership is passing to (an identity id), waiting for their confirmation; null: nothing pending. */
  pendingOwnerId: string | null;
  pendingSince: string | null;
  /** When an unconfirmed succession falls to `onOwnerLeave.otherwise`. */
  pendingDeadline: string | null;
  /** Why the NHI has no owner after a succession found nobody (`otherwise: keep`); null otherwise. */
  ownerlessReason: string | null;
  /** Why the NHI was disabled (by succession, or removal from the inventory); null: it is not. */
  disabledReason: string | null;
  disabledAt: string | null;
  /** Set when the NHI left the inventory (it is kept, marked, never deleted silently). */
  removedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Increments on every write: the optimistic check of concurrent succession steps. */
  version: number;
}

/** An owner given by hand (docs/nhi.md "Assigning an owner"). */
export interface NhiOwnerAssignment {
  /** When (ISO-8601). */
  at: string;
  /** Who assigned it, as the ledger names actors (`cli:alice`, `token:ops`). */
  by: string;
  /** The co-owners assigned with the owner (source keys), in force over the inventory's. */
  coOwnerKeys: readonly string[];
}

/**
 * The assignment in force: the owner assigned by hand is still the owner (succession, passing ownership on
 * to someone else since, sets a later `ownerSince`); null otherwise.
 */
export function assignmentInForce(
  nhi: Pick<NonHumanIdentity, "ownerAssignment" | "ownerSince" | "ownerId">,
): NhiOwnerAssignment | null {
  const a = nhi.ownerAssignment;
  return a !== null && nhi.ownerId !== null && nhi.ownerSince === a.at ? a : null;
}

/** The co-owners in force: those assigned with an owner still in force, else the inventory's. */
export function coOwnersOf(
  nhi: Pick<NonHumanIdentity, "ownerAssignment" | "ownerSince" | "ownerId" | "coOwnerKeys">,
): readonly string[] {
  return assignmentInForce(nhi)?.coOwnerKeys ?? nhi.coOwnerKeys;
}

/** What happens when an NHI's owner leaves (`nhi.policy.onOwnerLeave`). */
export interface OwnerLeavePolicy {
  /** Who ownership passes to first: the owner's manager, or `fallback`. */
  passTo: "manager" | "fallback";
  /** A person (source key, email or id) ownership passes to when the first choice gives nobody. */
  fallback: string | null;
  /** How long the new owner has to confirm, in milliseconds. */
  confirmWithinMs: number;
  /** Whether an owner's move (department, title or manager change) also passes ownership on. */
  onMove: boolean;
  /** What becomes of an NHI nobody confirmed in time, or nobody could be found for. */
  otherwise: "disable" | "keep";
}

/** `nhi.policy`, compiled: what {@link NonHumanIdentity} findings and succession are measured against. */
export interface NhiPolicy {
  ownerRequired: boolean;
  /** Longest credential age per type, in milliseconds; a type not listed has no limit. */
  maxCredentialAgeMs: Readonly<Partial<Record<NhiType, number>>>;
  /** How long before expiry to warn, in milliseconds, farthest first. */
  expiryWarningsMs: readonly number[];
  /** Scopes allowed per type; a type not listed may hold any. */
  allowedScopes: Readonly<Partial<Record<NhiType, readonly string[]>>>;
  /**
   * How long without use makes an NHI (or one of its scopes) unused, per type, in milliseconds; a type not
   * listed is never unused. Only a known last use counts: an unknown one is never flagged.
   */
  unusedAfterMs: Readonly<Partial<Record<NhiType, number>>>;
  onOwnerLeave: OwnerLeavePolicy;
}

/** One entry of `nhi.inventory` or an inventory file, checked. */
export interface NhiDeclaration {
  name: string;
  type: NhiType;
  system: string | null;
  purpose: string | null;
  owner: string | null;
  coOwners: readonly string[];
  created: string | null;
  lastRotated: string | null;
  expires: string | null;
  /** When the credential was last used, where the inventory knows it. */
  lastUsed: string | null;
  scopes: readonly string[];
  /** When each scope was last used, where known. */
  scopeLastUsed: Readonly<Record<string, string>>;
  entitlements: readonly string[];
  origin: "config" | "file";
  /** Where it is written (tenure.yaml or the inventory file). */
  location: SourceLocation;
}

/** A `nhi.discover` rule: accounts of `system` nobody is correlated to that match become NHIs. */
export interface NhiDiscoveryRule {
  system: string;
  type: NhiType;
  /** Matches accounts whose native id (an LDAP DN) is this entry or under it, case-insensitively. */
  dnUnder: string | null;
  /** Matches usernames with a SQL LIKE pattern (`%` any run, `_` one character), case-insensitively. */
  usernameLike: string | null;
  location: SourceLocation;
}
