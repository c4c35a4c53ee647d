/**
 * Access requests (issue 14): what someone asks for beyond their birthright access, and the approvals
 * it needs. The types of the request state machine (domain/request-machine.ts); the workflow over the
 * store, the configuration and the routes build on them.
 */

/** One piece of access a request asks for: a requestable role, or a requestable entitlement of a system. */
export type RequestItem =
  | { kind: "role"; role: string }
  | { kind: "entitlement"; system: string; entitlement: string };

export const REQUEST_STATES = ["pending", "approved", "denied", "cancelled", "expired"] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** An approval step as resolved when the request was submitted: who may decide, and how many must approve. */
export interface ApprovalStep {
  /** What the step is, for people: `manager`, `owner of role db-admin`, `security team`. */
  name: string;
  /** The identities that may decide this step (after removing the requester and the beneficiary). */
  approvers: readonly string[];
  /** Distinct approvals the step needs (1 or more). */
  required: number;
}

export interface Decision {
  step: number;
  /** Who decided: the identity acting. */
  by: string;
  /** The approver `by` stands in for, when deciding as a delegate; null when deciding for oneself. */
  onBehalfOf: string | null;
  verdict: "approve" | "deny";
  at: string;
  comment: string | null;
}

/** How access was asked for: a request for standing access, an elevation, or a break-glass elevation. */
export type RequestKind = "request" | "elevation" | "break-glass" | "workflow" | "review" | "extension";

export interface AccessRequest {
  id: string;
  /** Absent: `request` (requests written before elevation existed). */
  kind?: RequestKind;
  /** True when policy approved it without a person (autoApprove), or break-glass granted it at once. */
  autoApproved?: boolean;
  /** For an extension: the request whose granted access it prolongs (the same assignments, no gap). */
  extends?: string;
  /** Who asked: the beneficiary, or their manager asking for a direct report. */
  requesterId: string;
  beneficiaryId: string;
  items: readonly RequestItem[];
  justification: string;
  ticket: string | null;
  /** The access window asked for: it starts at the grant (not at the request), and lasts this long. */
  durationMs: number;
  state: RequestState;
  steps: readonly ApprovalStep[];
  /** The step waiting for decisions (steps.length once every step has passed). */
  currentStep: number;
  decisions: readonly Decision[];
  submittedAt: string;
  /** When a request still pending ends as expired: nobody decided in time. */
  expiresAt: string;
  /** When the request left `pending` (null while pending). */
  closedAt: string | null;
  /** Optimistic concurrency: one more at every change; a writer whose version is stale loses. */
  version: number;
}

/** Something that happens to a pending request. */
export type RequestEvent =
  | { kind: "approve"; by: string; onBehalfOf?: string | null; comment?: string | null }
  | { kind: "deny"; by: string; onBehalfOf?: string | null; comment?: string | null }
  | { kind: "cancel"; by: string; asAdmin?: boolean }
  /** The step waited too long: these people may decide it too (the approvers' managers, or the fallback). */
  | { kind: "escalate"; add: readonly string[] }
  | { kind: "expire" };

/** What a transition asks the workflow to do after writing the request. */
export type RequestEffect =
  | { kind: "notify-approvers"; step: number; approvers: readonly string[] }
  | { kind: "notify-requester"; outcome: RequestState | "step-passed"; step: number | null }
  | { kind: "grant"; items: readonly RequestItem[]; durationMs: number };

/** Why an event was refused; nothing changes. */
export interface RequestRefusal {
  refused: true;
  code:
    | "request_closed"
    | "request_expired"
    | "self_approval"
    | "not_an_approver"
    | "already_decided"
    | "not_yours"
    | "no_change";
  message: string;
}

export interface RequestTransition {
  refused: false;
  request: AccessRequest;
  effects: RequestEffect[];
  /** The audit action of the change: `request.approved`, `request.step_passed`, … */
  action: string;
}
