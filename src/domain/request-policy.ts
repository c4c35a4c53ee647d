import type { RoleRule, SourceLocation } from "./rule-types.js";

/**
 * What tenure.yaml says about requesting a role or an entitlement (`requestable:`): who may ask, for
 * how long, who decides, and when no decision is needed. Compiled by the config loader; read by the
 * request workflow (workflows/request-submission.ts).
 */

/** Who may decide an approval step, as configured; resolved to identities when a request is submitted. */
export type ApproverSpec =
  /** The beneficiary's manager (their `managerId` in the same source). */
  | { kind: "manager" }
  /** The owner of the role or entitlement asked for (`owner:`, an email address or HR key). */
  | { kind: "owner" }
  /** The owner of the system the item grants access in (`systems.<name>.owner`). */
  | { kind: "system-owner" }
  /** Named people: each an email address, HR key or identity id. */
  | { kind: "identities"; refs: readonly string[] }
  /** People holding a platform role: identities with a live token or console session of that role. */
  | { kind: "platform-role"; role: string };

export interface ApprovalStepDef {
  /** For people: `manager`, `owner`, `security team`. */
  name: string;
  approvers: ApproverSpec;
  /** Distinct approvals the step needs. */
  required: number;
  location: SourceLocation;
}

export interface AutoApproveDef {
  /** CEL over the requester's attributes and the request (`ticket`, `justification`). */
  when: RoleRule;
  /** At most `max` auto-approvals per beneficiary per `periodMs`; past it, the approval steps apply. */
  quota: { max: number; periodMs: number } | null;
}

export interface RequestableDef {
  /** CEL over the beneficiary's attributes; null: everyone active may ask. */
  eligible: RoleRule | null;
  defaultDurationMs: number;
  maxDurationMs: number;
  /** In order; empty only when every request is auto-approved (validate refuses otherwise). */
  approval: readonly ApprovalStepDef[];
  autoApprove: AutoApproveDef | null;
  location: SourceLocation;
}

/** `requests:` — settings of the request workflow as a whole. */
export interface RequestSettings {
  /** How long a request may wait for decisions before it expires. */
  pendingExpiryMs: number;
  /** A reminder to the approvers of a step still waiting after this long; null: none. */
  remindAfterMs: number | null;
  /** The step also goes to each approver's manager after this long; null: never. */
  escalateAfterMs: number | null;
  /** Who decides a step nobody else can (everyone in it is the beneficiary, or has left). */
  fallbackApprovers: readonly string[];
  /** Told at once of every break-glass elevation. */
  securityContacts: readonly string[];
  /** The holder is told this long before their access ends. */
  warnBeforeExpiryMs: number;
}

export const DEFAULT_REQUEST_SETTINGS: RequestSettings = Object.freeze({
  pendingExpiryMs: 7 * 86_400_000,
  remindAfterMs: 86_400_000,
  escalateAfterMs: 3 * 86_400_000,
  fallbackApprovers: Object.freeze([]) as readonly string[],
  securityContacts: Object.freeze([]) as readonly string[],
  warnBeforeExpiryMs: 86_400_000,
});

/** An elevation role's longest window: elevation is for hours, not weeks. */
export const ELEVATION_MAX_MS = 24 * 3_600_000;
