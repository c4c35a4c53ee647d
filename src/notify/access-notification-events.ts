import { z } from "zod";
import type { EventDefinition } from "./notification-event-types.js";

/**
 * The notifications of access requests and granted access (issue 14): each goes to one person, whose
 * address is the `to` field (routed by default to `{{to}}` when notify.email is configured). None ever
 * carries a secret: they name access and people, never credentials.
 */

const text = z.string();
const NONE = "(none)";
const orNone = (value: string | null) => value ?? NONE;

/** Someone must decide a request: an approver of its current step (first ask, reminder or escalation). */
export interface RequestDecisionNeededData {
  requestId: string;
  /** The approver's email address; null when they have none (the message is then skipped). */
  to: string | null;
  approver: string;
  requester: string;
  beneficiary: string;
  /** What is asked for, in words: `role db-admin, db:readers`. */
  items: string;
  justification: string;
  ticket: string | null;
  duration: string;
  /** `1 of 2 (manager)`. */
  step: string;
  /** `first`, `reminder`, or `escalation` (to the approver's manager, on their behalf). */
  reason: "first" | "reminder" | "escalation";
  /** Where to decide: the console's page of the request, or the CLI command. */
  link: string;
  expiresAt: string;
}

/** A request changed for its requester: approved, denied, expired, or a step passed. */
export interface RequestDecidedData {
  requestId: string;
  to: string | null;
  beneficiary: string;
  items: string;
  outcome: string;
  by: string | null;
  comment: string | null;
  /** When the access ends, for an approved request; null otherwise. */
  until: string | null;
}

/** Granted access ends soon: its holder is told before. */
export interface AccessExpiringData {
  assignmentId: string;
  to: string | null;
  holder: string;
  item: string;
  validUntil: string;
  requestId: string | null;
}

/** Somebody elevated with break-glass: every security contact is told at once. */
export interface BreakGlassData {
  requestId: string;
  to: string | null;
  beneficiary: string;
  role: string;
  justification: string;
  ticket: string | null;
  until: string;
  reviewer: string;
}

/** An end of access the targets did not confirm: the access may still be there. */
export interface RevocationUnconfirmedData {
  assignmentId: string;
  holder: string;
  item: string;
  /** What the read-back found, per system. */
  detail: string;
}

export const requestDecisionNeeded: EventDefinition<RequestDecisionNeededData> = {
  schema: z.object({
    requestId: text,
    to: text.nullable(),
    approver: text,
    requester: text,
    beneficiary: text,
    items: text,
    justification: text,
    ticket: text.nullable(),
    duration: text,
    step: text,
    reason: z.enum(["first", "reminder", "escalation"]),
    link: text,
    expiresAt: text,
  }),
  placeholders: {
    requestId: "the request's id",
    to: "the approver's email address; as a recipient: {{to}}",
    approver: "the approver's name",
    requester: "who asked",
    beneficiary: "who the access is for",
    items: "what is asked for",
    justification: "why, in the requester's words",
    ticket: "the ticket reference, or (none)",
    duration: "how long the access would last, from the grant",
    step: "which approval step waits: 1 of 2 (manager)",
    reason: "first, reminder or escalation",
    link: "where to decide",
    expiresAt: "when the request expires undecided",
  },
  values: (d) => ({
    ...d,
    to: orNone(d.to),
    ticket: orNone(d.ticket),
  }),
  dedupeKey: (d, now) =>
    `request.decision-needed:${d.requestId}:${d.step}:${d.to ?? d.approver}:${d.reason}${d.reason === "first" ? "" : `:${now.toISOString().slice(0, 10)}`}`,
  template: {
    subject: "Access request: {{beneficiary}} asks for {{items}}",
    text:
      "{{requester}} asks for {{items}} for {{beneficiary}}, for {{duration}}.\n\nWhy: {{justification}}\n" +
      "Ticket: {{ticket}}\nStep: {{step}}\n\nDecide before {{expiresAt}}: {{link}}",
  },
};

export const requestDecided: EventDefinition<RequestDecidedData> = {
  schema: z.object({
    requestId: text,
    to: text.nullable(),
    beneficiary: text,
    items: text,
    outcome: text,
    by: text.nullable(),
    comment: text.nullable(),
    until: text.nullable(),
  }),
  placeholders: {
    requestId: "the request's id",
    to: "the requester's email address; as a recipient: {{to}}",
    beneficiary: "who the access is for",
    items: "what was asked for",
    outcome: "approved, denied, expired, cancelled, or step-passed",
    by: "who decided, or (none)",
    comment: "the decider's comment, or (none)",
    until: "when granted access ends, or (none)",
  },
  values: (d) => ({
    ...d,
    to: orNone(d.to),
    by: orNone(d.by),
    comment: orNone(d.comment),
    until: orNone(d.until),
  }),
  dedupeKey: (d) => `request.decided:${d.requestId}:${d.outcome}:${d.by ?? ""}:${d.to ?? ""}`,
  template: {
    subject: "Your access request for {{items}}: {{outcome}}",
    text:
      "The request {{requestId}} for {{items}} ({{beneficiary}}) is {{outcome}}.\nBy: {{by}}\n" +
      "Comment: {{comment}}\nAccess until: {{until}}",
  },
};

export const accessExpiring: EventDefinition<AccessExpiringData> = {
  schema: z.object({
    assignmentId: text,
    to: text.nullable(),
    holder: text,
    item: text,
    validUntil: text,
    requestId: text.nullable(),
  }),
  placeholders: {
    assignmentId: "the assignment's id",
    to: "the holder's email address; as a recipient: {{to}}",
    holder: "who holds the access",
    item: "the access",
    validUntil: "when it ends",
    requestId: "the request that granted it, or (none)",
  },
  values: (d) => ({ ...d, to: orNone(d.to), requestId: orNone(d.requestId) }),
  // Once per end: an extension moves the end and warns again before the new one.
  dedupeKey: (d) => `access.expiring:${d.assignmentId}:${d.validUntil}`,
  template: {
    subject: "Your access to {{item}} ends at {{validUntil}}",
    text:
      "Your access to {{item}} ends at {{validUntil}}. If you still need it, ask for an extension before " +
      "then: tenure request extend {{requestId}}",
  },
};

export const breakGlass: EventDefinition<BreakGlassData> = {
  schema: z.object({
    requestId: text,
    to: text.nullable(),
    beneficiary: text,
    role: text,
    justification: text,
    ticket: text.nullable(),
    until: text,
    reviewer: text,
  }),
  placeholders: {
    requestId: "the elevation's request id",
    to: "the security contact's email address; as a recipient: {{to}}",
    beneficiary: "who elevated",
    role: "the role",
    justification: "why, in their words",
    ticket: "the ticket reference, or (none)",
    until: "when the elevation ends",
    reviewer: "who reviews it after the fact (the role's owner)",
  },
  values: (d) => ({ ...d, to: orNone(d.to), ticket: orNone(d.ticket) }),
  dedupeKey: (d) => `access.break-glass:${d.requestId}:${d.to ?? ""}`,
  template: {
    subject: "BREAK-GLASS: {{beneficiary}} elevated to {{role}}",
    text:
      "{{beneficiary}} used break-glass to hold {{role}} until {{until}}, without approval.\n\nWhy: " +
      "{{justification}}\nTicket: {{ticket}}\n\n{{reviewer}} must review it after the fact (request {{requestId}}).",
  },
};

export const revocationUnconfirmed: EventDefinition<RevocationUnconfirmedData> = {
  schema: z.object({ assignmentId: text, holder: text, item: text, detail: text }),
  placeholders: {
    assignmentId: "the assignment's id",
    holder: "who held the access",
    item: "the access",
    detail: "what reading the targets back found",
  },
  values: (d) => ({ ...d }),
  dedupeKey: (d) => `access.revocation-unconfirmed:${d.assignmentId}`,
  template: {
    subject: "Tenure: access of {{holder}} to {{item}} ended, but a target still shows it",
    text:
      "The access of {{holder}} to {{item}} ended, but reading the targets back does not show it gone: " +
      "{{detail}}\n\nTenure keeps trying; check the operations (tenure status) and the system.",
  },
};
