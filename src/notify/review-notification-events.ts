import { z } from "zod";
import type { EventDefinition } from "./notification-event-types.js";

/**
 * The notifications of access reviews (issue 16). Each goes to one person, whose address is the `to`
 * field (routed by default to `{{to}}` when notify.email is configured).
 */

const text = z.string();
const count = z.number().int().nonnegative();
const orNone = (value: string | null) => value ?? "(none)";

/** A reviewer has items to decide in a campaign (at its start, or when items were moved to them). */
export interface ReviewAssignedData {
  campaignId: string;
  campaign: string;
  to: string | null;
  reviewer: string;
  items: number;
  /** How many of them are high risk. */
  highRisk: number;
  deadline: string;
  /** `started`, `self-review` (your report's own access), `delegated`, `escalated`, `second stage`. */
  why: string;
  link: string;
}

/** A reviewer still has undecided items as the deadline nears. */
export interface ReviewReminderData {
  campaignId: string;
  campaign: string;
  to: string | null;
  reviewer: string;
  pending: number;
  daysLeft: number;
  deadline: string;
  link: string;
}

/** A reviewer refused birthright access: the role's rule grants something a reviewer would not keep. */
export interface ReviewBirthrightRefusedData {
  itemId: string;
  to: string | null;
  role: string;
  access: string;
  holder: string;
  reviewer: string;
  reason: string;
  campaign: string;
}

/** A revocation decided in a review could not be applied or confirmed in the target. */
export interface ReviewRevocationFailedData {
  itemId: string;
  to: string | null;
  campaign: string;
  access: string;
  holder: string;
  error: string;
  attempts: number;
}

/** An account unused past its system's dormant policy will be disabled unless it is used again. */
export interface DormantNoticeData {
  accountId: string;
  to: string | null;
  system: string;
  username: string;
  holder: string;
  lastUsedAt: string | null;
  afterDays: number;
  disableAt: string;
}

export const reviewAssigned: EventDefinition<ReviewAssignedData> = {
  schema: z.object({
    campaignId: text,
    campaign: text,
    to: text.nullable(),
    reviewer: text,
    items: count,
    highRisk: count,
    deadline: text,
    why: text,
    link: text,
  }),
  placeholders: {
    campaignId: "the campaign's id",
    campaign: "the campaign's name",
    to: "the reviewer's email address; as a recipient: {{to}}",
    reviewer: "the reviewer's name",
    items: "how many items they have to decide",
    highRisk: "how many of them are high risk",
    deadline: "when the campaign closes",
    why: "started, self-review, delegated, escalated or second stage",
    link: "where to review",
  },
  values: (d) => ({ ...d, to: orNone(d.to), items: String(d.items), highRisk: String(d.highRisk) }),
  dedupeKey: (d) => `review.assigned:${d.campaignId}:${d.reviewer}:${d.why}:${d.items}`,
  template: {
    subject: "Access review {{campaign}}: {{items}} items to decide by {{deadline}}",
    text:
      "{{reviewer}}, you have {{items}} access items to review in {{campaign}} ({{highRisk}} high risk), " +
      "by {{deadline}} ({{why}}).\n\nEach shows why the person has it, when it was last used and how many peers hold it. " +
      "Review them: {{link}}",
  },
};

export const reviewReminder: EventDefinition<ReviewReminderData> = {
  schema: z.object({
    campaignId: text,
    campaign: text,
    to: text.nullable(),
    reviewer: text,
    pending: count,
    daysLeft: count,
    deadline: text,
    link: text,
  }),
  placeholders: {
    campaignId: "the campaign's id",
    campaign: "the campaign's name",
    to: "the reviewer's email address; as a recipient: {{to}}",
    reviewer: "the reviewer's name",
    pending: "how many items they have not decided",
    daysLeft: "days until the deadline",
    deadline: "when the campaign closes",
    link: "where to review",
  },
  values: (d) => ({ ...d, to: orNone(d.to), pending: String(d.pending), daysLeft: String(d.daysLeft) }),
  dedupeKey: (d) => `review.reminder:${d.campaignId}:${d.reviewer}:${d.daysLeft}`,
  template: {
    subject: "Reminder: {{pending}} access items to review in {{campaign}} ({{daysLeft}} days left)",
    text:
      "{{reviewer}}, {{pending}} items of {{campaign}} still wait for your decision; the campaign closes {{deadline}}.\n" +
      "Undecided items then follow the campaign's no-response policy.\n\nReview them: {{link}}",
  },
};

export const reviewBirthrightRefused: EventDefinition<ReviewBirthrightRefusedData> = {
  schema: z.object({
    itemId: text,
    to: text.nullable(),
    role: text,
    access: text,
    holder: text,
    reviewer: text,
    reason: text,
    campaign: text,
  }),
  placeholders: {
    itemId: "the review item's id",
    to: "the role owner's email address; as a recipient: {{to}}",
    role: "the role whose rule granted the access",
    access: "the access refused",
    holder: "who held it",
    reviewer: "who refused it",
    reason: "the reviewer's reason",
    campaign: "the campaign's name",
  },
  values: (d) => ({ ...d, to: orNone(d.to) }),
  dedupeKey: (d) => `review.birthright-refused:${d.itemId}`,
  template: {
    subject: "Role {{role}} granted {{access}} to {{holder}}, and a reviewer refused it",
    text:
      "In {{campaign}}, {{reviewer}} revoked {{access}} from {{holder}}, which the role {{role}} grants by its rule: " +
      "{{reason}}.\nTenure now keeps it away from {{holder}} (a recorded exclusion). Check whether the role's rule " +
      "grants more than it should.",
  },
};

export const reviewRevocationFailed: EventDefinition<ReviewRevocationFailedData> = {
  schema: z.object({
    itemId: text,
    to: text.nullable(),
    campaign: text,
    access: text,
    holder: text,
    error: text,
    attempts: count,
  }),
  placeholders: {
    itemId: "the review item's id",
    to: "the system owner's email address; as a recipient: {{to}}",
    campaign: "the campaign's name",
    access: "the access to remove",
    holder: "who holds it",
    error: "why it failed",
    attempts: "how many times it was tried",
  },
  values: (d) => ({ ...d, to: orNone(d.to), attempts: String(d.attempts) }),
  dedupeKey: (d) => `review.revocation-failed:${d.itemId}:${d.attempts}`,
  template: {
    subject: "A revocation from {{campaign}} failed: {{access}} of {{holder}}",
    text:
      "Removing {{access}} from {{holder}}, decided in {{campaign}}, failed after {{attempts}} attempts: {{error}}.\n" +
      "Tenure keeps retrying; the item shows the state of the removal.",
  },
};

export const dormantNotice: EventDefinition<DormantNoticeData> = {
  schema: z.object({
    accountId: text,
    to: text.nullable(),
    system: text,
    username: text,
    holder: text,
    lastUsedAt: text.nullable(),
    afterDays: count,
    disableAt: text,
  }),
  placeholders: {
    accountId: "the account's id",
    to: "the owner's email address (the holder's manager, else the system owner); as a recipient: {{to}}",
    system: "the system",
    username: "the account's username",
    holder: "whose account it is",
    lastUsedAt: "when it was last used, or `never` (no use the system reported)",
    afterDays: "the system's dormant threshold in days",
    disableAt: "when it will be disabled unless used",
  },
  values: (d) => ({
    ...d,
    to: orNone(d.to),
    lastUsedAt: orNone(d.lastUsedAt),
    afterDays: String(d.afterDays),
  }),
  dedupeKey: (d) => `dormant.notice:${d.accountId}:${d.disableAt}`,
  template: {
    subject: "Dormant account {{username}} in {{system}} will be disabled on {{disableAt}}",
    text:
      "The account {{username}} of {{holder}} in {{system}} has not been used for more than {{afterDays}} days " +
      "(last use: {{lastUsedAt}}). It will be disabled on {{disableAt}} unless it is used before then.",
  },
};
