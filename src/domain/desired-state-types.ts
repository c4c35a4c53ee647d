import type {
  AccessExclusion,
  AccountPresence,
  Assignment,
  DesiredAccess,
  Lineage,
  Policy,
  RoleDef,
} from "./access-types.js";
import type { Identity, IsoDate, LifecycleState } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";

/** Everything the desired access of one identity depends on. Time is given, never read. */
export interface DesiredStateInput {
  identity: Identity;
  policy: Policy;
  lifecycle: LifecycleConfig;
  /** The identity's assignments, active or not (the rules decide); other identities' are ignored. */
  assignments: readonly Assignment[];
  /** system → username already allocated to this identity (a link or its existing account). */
  usernames: Readonly<Record<string, string>>;
  /**
   * Access reviewers refused (review exclusions): what policy alone gives of these is kept out, and an
   * excluded entitlement moves to `withheld` with the review as its reason. Those of other identities
   * or employments are ignored. Absent: none.
   */
  exclusions?: readonly AccessExclusion[];
  now: Date;
  /** `now` as a calendar date in the source's time zone; decides the pre-hire window. */
  today: IsoDate;
}

/** The per-identity part of `DesiredStateInput`, for a calculator already bound to a policy. */
export type DesiredStateContext = Omit<DesiredStateInput, "policy" | "lifecycle">;

/** Whether an assignment counts now, and if not, why not (for explanations). */
export type AssignmentStatus =
  | "active"
  | "revoked"
  | "not-yet-valid"
  | "expired"
  | "earlier-employment"
  | "other-identity"
  | "unknown-target";

export interface RuleOutcome {
  value: boolean;
  error?: string;
  /** The rule was stopped by its evaluation budget: neither true nor false (see RoleRule.evaluate). */
  failed?: boolean;
}

/** How one role was decided for one identity. */
export interface RoleTrace {
  role: RoleDef;
  /** The birthright rule on the current attributes; null when the role has no rule. */
  rule: RuleOutcome | null;
  /** The rule on the attributes before the last change, when mover grace was in force; else null. */
  previousRule: RuleOutcome | null;
  /** Every reason the role is held now; empty when it is not held. */
  held: Lineage[];
  /** The review exclusion keeping the role from being held by policy (rule, include, grace); else null. */
  excluded: Lineage | null;
}

/** What the lifecycle state does to every account of the identity. */
export interface LifecycleVerdict {
  state: LifecycleState;
  presence: AccountPresence;
  /** Why the accounts are not simply enabled; null when they are. */
  lineage: Lineage | null;
  /** Which held entitlements a leaver loses at once. */
  withhold: "none" | "privileged" | "all";
  withholdLineage: Lineage | null;
  /** A leaver's accounts are kept where they exist and never created (DesiredSystemAccess.retainOnly). */
  retainOnly?: boolean;
}

/** The intermediate decisions behind a DesiredAccess, for `explain`. */
export interface AccessTrace {
  roles: RoleTrace[];
  assignments: { assignment: Assignment; status: AssignmentStatus; lineage: Lineage | null }[];
  /** Set when the identity's attributes changed and mover grace applies or applied. */
  moverGrace: { changedAt: string; until: string; active: boolean } | null;
  lifecycle: LifecycleVerdict;
}

/** A role and the include chain from some role down to it. */
export interface RoleChain {
  role: string;
  chain: readonly string[];
}

/**
 * Desired state bound to one policy and lifecycle configuration. Building it indexes roles, includes
 * and templates once; `compute` then costs only the rule evaluations (memoised per distinct tuple of
 * the attributes each rule reads, so RoleRule.evaluate must depend on nothing else) and the output.
 * Pure: the same context always gives an equal DesiredAccess. Treat results as read-only: lineage
 * lists are frozen and shared between identities holding access the same way, which keeps a plan of
 * 100,000 people small. Throws only while being built (a template naming an unknown attribute).
 */
export interface DesiredStateCalculator {
  readonly policy: Policy;
  readonly lifecycle: LifecycleConfig;
  compute(context: DesiredStateContext): DesiredAccess;
  /**
   * Same as compute, plus every role held and why (birthright rules, includes, assignments, mover
   * grace): what separation-of-duties rules naming roles are checked against.
   */
  computeWithRoles(
    context: DesiredStateContext,
    options?: {
      /** Leave usernames and account attributes out (null and empty): for readers of access alone. */
      light?: boolean;
    },
  ): {
    desired: DesiredAccess;
    roles: ReadonlyMap<string, readonly Lineage[]>;
  };
  /** Same as compute, plus the decisions behind it. Slower; for explanations and tests. */
  trace(context: DesiredStateContext): { desired: DesiredAccess; trace: AccessTrace };
  /**
   * Every role that would bring an account in `system` (and `entitlement`, when given) if it were held,
   * with the include chain from that role down to the role that holds the grant.
   */
  rolesGranting(system: string, entitlement?: string): RoleChain[];
}
