import { z } from "zod";
import type { EventDefinition } from "./notification-event-types.js";

/**
 * The notifications of non-human identities' owners (issue 17, items 2-3). Each goes to one person, whose
 * address is the `to` field (routed by default to `{{to}}` when notify.email is configured).
 */

const text = z.string();

/** Ownership of an NHI is passing to `to`, who must confirm it by `deadline`. */
export interface NhiOwnerPendingData {
  nhiId: string;
  name: string;
  type: string;
  to: string | null;
  /** The pending owner's name. */
  pendingOwner: string;
  /** Who it passes from (the owner that left or moved), by name. */
  previousOwner: string;
  /** Why, in words: the owner left, the owner moved, the pending owner left. */
  why: string;
  deadline: string;
  /** What happens if nobody confirms: the NHI is disabled, or kept without an owner. */
  otherwise: string;
}

/** An NHI was disabled, or left without an owner, because nobody took ownership. */
export interface NhiOwnerlessData {
  nhiId: string;
  name: string;
  to: string | null;
  /** `disabled` or `kept without an owner`. */
  outcome: string;
  reason: string;
}

/** An NHI was removed from the inventory: it is disabled, its credential switched off where Tenure can. */
export interface NhiRemovedData {
  nhiId: string;
  name: string;
  type: string;
  /** The owner's email address. */
  to: string | null;
  /** What became of it (`disabled`), and why. */
  outcome: string;
  reason: string;
  /** When the sync found it removed (ISO-8601). */
  removedAt: string;
}

/** An NHI's credential expires within a warning window (sent once per window). */
export interface NhiExpiringData {
  nhiId: string;
  name: string;
  to: string | null;
  expiresAt: string;
  /** The window, as written in nhi.policy.expiryWarnings (`7d`). */
  within: string;
}

/** Someone made `owner` the owner of an NHI by hand (`tenure nhi assign-owner`, the API, the console). */
export interface NhiOwnerAssignedData {
  nhiId: string;
  name: string;
  type: string;
  to: string | null;
  /** The new owner's name. */
  owner: string;
  /** The owner before, by name, or `(nobody)`. */
  previousOwner: string;
  /** Who assigned it, as the ledger names them. */
  by: string;
}

export const nhiOwnerPending: EventDefinition<NhiOwnerPendingData> = {
  schema: z.object({
    nhiId: text,
    name: text,
    type: text,
    to: text.nullable(),
    pendingOwner: text,
    previousOwner: text,
    why: text,
    deadline: text,
    otherwise: text,
  }),
  placeholders: {
    nhiId: "the non-human identity's id",
    name: "the non-human identity's name",
    type: "its type (service_account, api_key, oauth_app, certificate, agent)",
    to: "the pending owner's email address; as a recipient: {{to}}",
    pendingOwner: "the person ownership passes to",
    previousOwner: "the person it passes from",
    why: "why ownership passes on",
    deadline: "when an unconfirmed succession falls to nhi.policy.onOwnerLeave.otherwise",
    otherwise: "what happens then",
  },
  values: (d) => ({ ...d, to: d.to ?? "(none)" }),
  dedupeKey: (d) => `nhi.owner-pending:${d.nhiId}:${d.pendingOwner}:${d.deadline}`,
  template: {
    subject: "You are asked to own {{name}} ({{type}})",
    text:
      "{{pendingOwner}}, ownership of the non-human identity {{name}} ({{type}}) passes to you: {{why}} " +
      "({{previousOwner}}).\n\nConfirm by {{deadline}}: tenure nhi confirm {{name}} --as YOUR-KEY\n\n" +
      "If nobody confirms, {{otherwise}}.",
  },
};

export const nhiOwnerless: EventDefinition<NhiOwnerlessData> = {
  schema: z.object({ nhiId: text, name: text, to: text.nullable(), outcome: text, reason: text }),
  placeholders: {
    nhiId: "the non-human identity's id",
    name: "the non-human identity's name",
    to: "the last owner's (or pending owner's) email address; as a recipient: {{to}}",
    outcome: "disabled, or kept without an owner",
    reason: "why nobody owns it",
  },
  values: (d) => ({ ...d, to: d.to ?? "(none)" }),
  dedupeKey: (d) => `nhi.ownerless:${d.nhiId}:${d.outcome}:${d.reason}`,
  template: {
    subject: "{{name}} is {{outcome}}: nobody took ownership",
    text: "The non-human identity {{name}} is {{outcome}}: {{reason}}.\n\nName a new owner in the NHI inventory.",
  },
};

export const nhiExpiring: EventDefinition<NhiExpiringData> = {
  schema: z.object({ nhiId: text, name: text, to: text.nullable(), expiresAt: text, within: text }),
  placeholders: {
    nhiId: "the non-human identity's id",
    name: "the non-human identity's name",
    to: "the owner's email address; as a recipient: {{to}}",
    expiresAt: "when its credential expires",
    within: "the warning window it is within (nhi.policy.expiryWarnings)",
  },
  values: (d) => ({ ...d, to: d.to ?? "(none)" }),
  dedupeKey: (d) => `nhi.expiring:${d.nhiId}:${d.expiresAt}:${d.within}`,
  template: {
    subject: "{{name}} expires within {{within}} ({{expiresAt}})",
    text: "The credential of the non-human identity {{name}} expires on {{expiresAt}}, within {{within}}. Renew or rotate it.",
  },
};

export const nhiOwnerAssigned: EventDefinition<NhiOwnerAssignedData> = {
  schema: z.object({
    nhiId: text,
    name: text,
    type: text,
    to: text.nullable(),
    owner: text,
    previousOwner: text,
    by: text,
  }),
  placeholders: {
    nhiId: "the non-human identity's id",
    name: "the non-human identity's name",
    type: "its type (service_account, api_key, oauth_app, certificate, agent)",
    to: "the new owner's email address; as a recipient: {{to}}",
    owner: "the new owner",
    previousOwner: "the owner before, or (nobody)",
    by: "who assigned it",
  },
  values: (d) => ({ ...d, to: d.to ?? "(none)" }),
  dedupeKey: (d) => `nhi.owner-assigned:${d.nhiId}:${d.owner}:${d.previousOwner}:${d.by}`,
  template: {
    subject: "You now own {{name}} ({{type}})",
    text:
      "{{owner}}, you are now the owner of the non-human identity {{name}} ({{type}}), assigned by {{by}} " +
      "(before: {{previousOwner}}).\n\nYou will be asked to review its access and told when its credential " +
      "expires or fails to rotate: tenure nhi show {{name}}",
  },
};

export const nhiRemoved: EventDefinition<NhiRemovedData> = {
  schema: z.object({
    nhiId: text,
    name: text,
    type: text,
    to: text.nullable(),
    outcome: text,
    reason: text,
    removedAt: text,
  }),
  placeholders: {
    nhiId: "the non-human identity's id",
    name: "the non-human identity's name",
    type: "its type (service_account, api_key, oauth_app, certificate, agent)",
    to: "the owner's email address; as a recipient: {{to}}",
    outcome: "disabled",
    reason: "why: removed from inventory",
    removedAt: "when the inventory sync found it removed",
  },
  values: (d) => ({ ...d, to: d.to ?? "(none)" }),
  // Once per removal: an NHI declared again and removed again is told of again.
  dedupeKey: (d) => `nhi.removed:${d.nhiId}:${d.removedAt}`,
  template: {
    subject: "{{name}} is {{outcome}}: {{reason}}",
    text:
      "The non-human identity {{name}} ({{type}}) is no longer declared in the NHI inventory: it is {{outcome}}, " +
      "and its account is disabled where Tenure can do it.\n\nIf it is still needed, declare it in the " +
      "inventory again: it is enabled again at the next sync.",
  },
};
