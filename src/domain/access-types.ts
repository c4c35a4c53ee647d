import type { AttributeName } from "./identity-types.js";
import type { RequestableDef } from "./request-policy.js";
import type { RoleRule, SourceLocation } from "./rule-types.js";
import type { SodPolicy } from "./sod-types.js";
import type { CompiledTemplate } from "./username-template.js";

export type { RoleRule, SourceLocation } from "./rule-types.js";

/** How a system's accounts are named and described, rendered from identity attributes. */
export interface AccountTemplate {
  /** e.g. `{givenName}.{familyName}`: lower-cased and transliterated to ASCII for usernames. */
  username: string;
  /**
   * Rendered when `username` renders nothing usable (every character of the name dropped), e.g.
   * `{employeeId}`; absent: such an identity gets no account, a plan problem naming it.
   */
  usernameFallback?: string | undefined;
  /** On a username already taken by someone else: `suffix` appends 2, 3, … ; `fail` reports it. */
  collision: "suffix" | "fail";
  /** Connector attribute name → template, e.g. `email: "{email}"`. Rendered as given (no lower-casing). */
  attributes: Readonly<Record<string, string>>;
}

export interface SystemDef {
  name: string;
  /** The connector type (folder under src/connectors), e.g. `sql`. */
  connector: string;
  /** The connector's own config, validated by that connector's schema. */
  connectorConfig: unknown;
  owner: string | null;
  /** Out-of-band changes: `enforce` reverts them at the next apply, `report` only reports. */
  drift: "enforce" | "report";
  /** Accounts that belong to nobody: `report`, or `disable` at the next apply. */
  orphans: "report" | "disable";
  account: AccountTemplate;
  /** Reconcile correlation: the account attribute (or `username`) compared with the identity attribute. */
  correlation: { account: string; identity: AttributeName | "username" };
  retry: { maxAttempts: number; baseDelaySeconds: number; maxDelaySeconds: number };
  /**
   * Deadline of each write to the system, in seconds: a call past it is abandoned, its operation retried
   * later and the connection replaced. Absent: 30.
   */
  timeoutSeconds?: number;
  /** Deadline of each full read (listing accounts or entitlements), in seconds. Absent: 600. */
  readTimeoutSeconds?: number;
  /** Operations of this system executed at once by one worker (different identities). Absent: 8. */
  concurrency?: number;
  /**
   * `createMissingGroups`: a grant of a group the system does not have creates it (with the account as
   * its first member) where the connector can; false/absent: the grant fails naming the group.
   */
  createMissingGroups?: boolean;
  /**
   * The connector generates each new account's password and can set a new one (mariadb, postgres,
   * Active Directory): a rehire's old account gets a new password before it is enabled again.
   */
  setsCredentials?: boolean;
  /** `reconcile.schedule`: when the scheduler reconciles this system (cron, or `off`); absent: server.schedule.reconcile. */
  reconcile?: { schedule: string };
  location: SourceLocation;
}

export type RiskLevel = "low" | "medium" | "high" | "critical";

export interface EntitlementDef {
  system: string;
  key: string;
  displayName: string;
  privileged: boolean;
  risk: RiskLevel;
  owner: string | null;
  /** Whether and how the entitlement can be requested on its own; null or absent: it cannot. */
  requestable?: RequestableDef | null;
  location: SourceLocation;
}

export interface RoleGrant {
  system: string;
  /** Entitlement keys in that system; an empty list grants just an account. */
  entitlements: readonly string[];
  /** Entitlements named by the identity's attributes (one role for every department); none when absent. */
  derived?: readonly DerivedEntitlement[];
}

/**
 * An entitlement whose key comes from the identity's attributes: a template (`dept-{department|slug}`)
 * or a lookup table on one attribute (`{fromAttribute: department, map: {Sales: sales-team}, default}`).
 * See `deriveEntitlement` (domain/derived-entitlement.ts) for how a key is chosen.
 */
export type DerivedEntitlement =
  | {
      kind: "template";
      /** The template as written. */
      source: string;
      template: CompiledTemplate;
      location: SourceLocation;
    }
  | {
      kind: "map";
      attribute: AttributeName;
      /** Attribute value (as HR sends it) → entitlement key. */
      map: Readonly<Record<string, string>>;
      /** The key for a value the map does not list (or an empty one); null: no entitlement then. */
      default: string | null;
      location: SourceLocation;
    };

/** Which attribute values chose a derived entitlement, and the rule that did (for explanations). */
export interface DerivedFrom {
  /** Each attribute the rule read, with the value it had. */
  attributes: Readonly<Record<string, string | null>>;
  /** `template "dept-{department|slug}"`, `map on department`, or `map on department (default)`. */
  rule: string;
  location: SourceLocation;
}

export interface RoleDef {
  name: string;
  description: string | null;
  /** Birthright rule; null means the role is only held through includes or assignments. */
  when: RoleRule | null;
  includes: readonly string[];
  grants: readonly RoleGrant[];
  /** Who owns the role (an email address or HR key): an approval step `owner` asks them. Absent: null. */
  owner?: string | null;
  /** Whether and how the role can be requested; null: it cannot. */
  requestable: RequestableDef | null;
  /** Eligible, not standing: held only for short windows through `tenure elevate`. Absent: false. */
  elevation?: boolean;
  location: SourceLocation;
}

/** Everything the desired-state computation needs from tenure.yaml, compiled and cross-checked. */
export interface Policy {
  systems: Readonly<Record<string, SystemDef>>;
  /** system → entitlement key → definition */
  entitlements: Readonly<Record<string, Readonly<Record<string, EntitlementDef>>>>;
  roles: Readonly<Record<string, RoleDef>>;
  /** `sod:` — access that must not be held together. Absent: no rules. */
  sod?: SodPolicy;
}

/** An identity holds a role or an entitlement outside birthright, always time-bound and attributable. */
export interface Assignment {
  id: string;
  identityId: string;
  target: { role: string } | { system: string; entitlement: string };
  /** The employment it was granted in: a rehire starts a new employment and never resurrects these. */
  employment: number;
  validFrom: string;
  validUntil: string | null;
  reason: string;
  approvedBy: string | null;
  revokedAt: string | null;
  /** The access request that granted it (lineage to its approvals); absent or null for an admin's. */
  requestId?: string | null;
  /** When its end was confirmed by reading every target back; absent or null while open. */
  endedAt?: string | null;
}

/**
 * Access a reviewer refused that policy gives (birthright, or kept after a move): kept out of the
 * identity's desired access for the employment it was decided in, until lifted. Access also held
 * through an assignment stays (an approved request after the review wins); a rehire starts clean.
 */
export interface AccessExclusion {
  identityId: string;
  employment: number;
  target: { role: string } | { system: string; entitlement: string };
  /** The review item whose revocation recorded it, and its campaign (lineage). */
  itemId: string;
  campaignId: string;
  /** The campaign's name for explanations; absent: its id is shown. */
  campaign?: string;
}

/** Why a piece of access is desired (or not): the chain an explanation prints. */
export type Lineage =
  | {
      kind: "role";
      role: string;
      chain: readonly string[];
      rule: { source: string; location: SourceLocation } | null;
      /** Set on an entitlement the role names by attribute: which values chose it. */
      derived?: DerivedFrom;
    }
  | {
      kind: "assignment";
      assignmentId: string;
      target: string;
      validUntil: string | null;
      /** The access request that granted it, when one did. */
      requestId?: string;
      /** Set on an entitlement of an assigned role that names it by attribute. */
      derived?: DerivedFrom;
    }
  | {
      kind: "lifecycle";
      policy: string;
      note: string;
      /** Set when an access review decided it: the item and campaign (a recorded exclusion, a revocation). */
      review?: { itemId: string; campaignId: string };
    }
  | { kind: "mover-grace"; until: string; from: Lineage };

export type AccountPresence = "absent" | "disabled" | "enabled";

export interface DesiredSystemAccess {
  system: string;
  presence: AccountPresence;
  /** Why the account is present / absent / disabled. */
  presenceLineage: Lineage[];
  username: string | null;
  attributes: Record<string, string | null>;
  /** entitlement key → why it is desired */
  entitlements: Record<string, Lineage[]>;
  /** Entitlements removed by lifecycle policy (e.g. privileged revoked for a leaver), with why. */
  withheld: Record<string, Lineage[]>;
  /**
   * A leaver's account during retention: kept (disabled) where it exists, never made. The plan creates
   * no account and grants nothing on one, so a first import of someone who already left gives them no
   * access anywhere. Absent: false.
   */
  retainOnly?: boolean;
}

export interface DesiredAccess {
  identityId: string;
  /** The identity's employment (1, then one more per rehire). Absent: 1. */
  employment?: number;
  systems: Record<string, DesiredSystemAccess>;
  /**
   * Birthright rules that could not be evaluated for this identity (stopped by their evaluation
   * budget). When present, `systems` is incomplete: plan nothing for the identity, report each.
   */
  ruleFailures?: RuleFailure[];
}

/** A birthright rule that failed for one identity: which role, where it is written, and why. */
export interface RuleFailure {
  role: string;
  location: SourceLocation;
  error: string;
}

/** What a system actually has, as last read by reconcile or written by apply. */
export interface Account {
  system: string;
  nativeId: string | null;
  username: string;
  identityId: string | null;
  enabled: boolean;
  attributes: Record<string, string | null>;
  entitlements: string[];
  /** Entitlements Tenure granted itself; anything else present is drift. */
  managedEntitlements: string[];
  /** Whether Tenure created or adopted the account (correlated to an identity). */
  managed: boolean;
  /**
   * The employment of its identity in which Tenure last set the account's password (created it, or
   * rotated it); absent or null when Tenure never did (found by reconcile, or before this was kept).
   */
  credentialEmployment?: number | null;
  /**
   * Set by reconcile when a managed account is no longer found in the system. The row is kept so the
   * planner can tell an account deleted out of band (drift: recreated only under `drift: enforce`)
   * from a joiner who never had one. Absent or null: the account exists.
   */
  vanishedAt?: string | null;
  lastSeenAt: string | null;
  lastUsedAt: string | null;
}

export const OPERATION_KINDS = [
  "disable",
  "revoke",
  "create",
  "update",
  "grant",
  "rotate",
  "enable",
  "delete",
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** One change to one system, as planned; becomes a durable Operation row when applied. */
export interface PlannedOperation {
  system: string;
  kind: OperationKind;
  identityId: string | null;
  username: string;
  nativeId: string | null;
  entitlement: string | null;
  /** For create: the attributes and enabled flag; for update: the attributes to set. */
  attributes: Record<string, string | null> | null;
  enabled: boolean | null;
  lineage: Lineage[];
  /** Why, in one sentence, for plan output and audit. */
  reason: string;
  /** Stable for the same change: planning twice yields the same key, so a change is queued once. */
  idempotencyKey: string;
  /** True when the operation reverts drift or acts on an orphan rather than following policy. */
  drift: boolean;
}
