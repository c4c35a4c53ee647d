import { z } from "zod";
import type { EventDefinition } from "./notification-event-types.js";

/**
 * The notifications of separation of duties (issue 15): each goes to the owner of the rule concerned,
 * whose address is the `to` field (routed by default to `{{to}}` when notify.email is configured).
 */

const text = z.string();
const orNone = (value: string | null) => value ?? "(none)";

/** A scan found a new violation, or a birthright change was withheld because it would create one. */
export interface SodViolationData {
  violationId: string;
  /** The rule owner's email address; null when the rule has no owner with one. */
  to: string | null;
  rule: string;
  severity: string;
  /** The risk, as the rule describes it. */
  risk: string;
  holder: string;
  /** The colliding access and why each is held: `role ap-clerk (birthright …) with erp:payment-approve (found …)`. */
  access: string;
  /** `open`, or `withheld` (the newer access is kept out until an exception is approved). */
  status: "open" | "withheld";
  /** Where to look and decide: the console's page or the CLI command. */
  link: string;
}

/** An exception ended (expired or revoked): the violation is back, its owner is told. */
export interface SodExceptionEndedData {
  exceptionId: string;
  to: string | null;
  rule: string;
  holder: string;
  /** `expired` or `revoked`. */
  how: "expired" | "revoked";
  at: string;
  control: string;
}

export const sodViolation: EventDefinition<SodViolationData> = {
  schema: z.object({
    violationId: text,
    to: text.nullable(),
    rule: text,
    severity: text,
    risk: text,
    holder: text,
    access: text,
    status: z.enum(["open", "withheld"]),
    link: text,
  }),
  placeholders: {
    violationId: "the violation's id",
    to: "the rule owner's email address; as a recipient: {{to}}",
    rule: "the rule's name",
    severity: "high, medium or low",
    risk: "the rule's description of the risk",
    holder: "who holds the conflicting access",
    access: "the colliding access and why each piece is held",
    status: "open, or withheld (kept out of the plan until an exception is approved)",
    link: "where to see it and accept it with an exception",
  },
  values: (d) => ({ ...d, to: orNone(d.to) }),
  dedupeKey: (d) => `sod.violation:${d.violationId}:${d.status}`,
  template: {
    subject: "Separation of duties: {{holder}} breaks {{rule}} ({{severity}})",
    text:
      "{{holder}} breaks the separation-of-duties rule {{rule}} ({{severity}}): {{risk}}.\n\n" +
      "Access: {{access}}\nStatus: {{status}}\n\nReview it, remove the access or accept it with an exception: {{link}}",
  },
};

export const sodExceptionEnded: EventDefinition<SodExceptionEndedData> = {
  schema: z.object({
    exceptionId: text,
    to: text.nullable(),
    rule: text,
    holder: text,
    how: z.enum(["expired", "revoked"]),
    at: text,
    control: text,
  }),
  placeholders: {
    exceptionId: "the exception's id",
    to: "the rule owner's email address; as a recipient: {{to}}",
    rule: "the rule's name",
    holder: "whose violation it accepted",
    how: "expired or revoked",
    at: "when it ended",
    control: "the mitigating control it relied on",
  },
  values: (d) => ({ ...d, to: orNone(d.to) }),
  dedupeKey: (d) => `sod.exception-ended:${d.exceptionId}`,
  template: {
    subject: "Separation of duties: the exception for {{holder}} on {{rule}} has {{how}}",
    text:
      "The exception accepting {{holder}}'s violation of {{rule}} {{how}} at {{at}} (control: {{control}}).\n" +
      "If the access is still held, the violation is open again: remove the access or approve a new exception.",
  },
};
