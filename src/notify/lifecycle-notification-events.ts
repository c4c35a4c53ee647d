import { z } from "zod";
import type { EventDefinition } from "./notification-event-types.js";

/**
 * The joiner and leaver notices (issue 18, item 6). `joiner.accounts-created` goes to the new hire's
 * manager, whose address is its `to` (routed by default to `{{to}}` when notify.email is configured);
 * `leaver.deprovisioned` and `leaver.sla-breached` go to the security contacts (`notify.securityContacts`,
 * or a route of their own). None carries a password or any other secret: an account is named by its
 * system and username only, never by its attributes.
 */

const text = z.string();
const hoursValue = z.number().finite().nonnegative();

/** One account created for a joiner: where, and its login. */
export interface CreatedAccount {
  system: string;
  username: string;
}

/** One account of a joiner's initial provisioning that was not created: where, its login, and why. */
export interface NotCreatedAccount {
  system: string;
  username: string;
  /** Why, in words, free of secrets: `failed for good: …`, or the operation's state. */
  why: string;
}

/** A joiner's initial provisioning is complete: every account it created is confirmed in its target. */
export interface JoinerAccountsCreatedData {
  identityId: string;
  /** The HR key. */
  employeeId: string;
  name: string;
  /** The manager's email address; null when there is no manager or the manager has none. */
  to: string | null;
  /** The manager's name, or null. */
  manager: string | null;
  /** `YYYY-MM-DD`, or null when the source gives none. */
  startDate: string | null;
  /** The employment the accounts belong to (1, then 2 after a rehire, …). */
  employment: number;
  accounts: CreatedAccount[];
  /** Accounts of the same provisioning that failed for good (they need a person). */
  notCreated: NotCreatedAccount[];
}

/** One system of a leaver: when the account was disabled or deleted, against the SLA. */
export interface LeaverSystem {
  system: string;
  username: string;
  /**
   * `disabled` / `deleted` (confirmed in the target at `at`), `failed` (the operation failed for good),
   * or `pending` (not done yet).
   */
  status: "disabled" | "deleted" | "failed" | "pending";
  /** When the target confirmed it (ISO-8601), or null. */
  at: string | null;
  /** Hours from the termination to `at`, or to now when it is not done. */
  hours: number;
  withinSla: boolean;
  /** For `failed`: the last error, free of secrets. */
  error: string | null;
}

/** A leaver's accounts: all disabled or removed (`leaver.deprovisioned`), or not all by the SLA (`leaver.sla-breached`). */
export interface LeaverNoticeData {
  identityId: string;
  employeeId: string;
  name: string;
  /** When the termination was recorded (ISO-8601). */
  terminatedAt: string;
  /** `lifecycle.leaver.slaHours`. */
  slaHours: number;
  /** Hours from the termination to the last system done (deprovisioned), or to now (SLA breached). */
  hours: number;
  withinSla: boolean;
  systems: LeaverSystem[];
}

const none = "(none)";

function accountLines(accounts: readonly CreatedAccount[]): string {
  return accounts.length === 0 ? none : accounts.map((a) => `- ${a.system}: ${a.username}`).join("\n");
}

function notCreatedLines(accounts: readonly NotCreatedAccount[]): string {
  return accounts.length === 0
    ? none
    : accounts.map((a) => `- ${a.system}: ${a.username} (${a.why})`).join("\n");
}

/** `12.5 h`, with at most two decimals. */
export function formatHours(hours: number): string {
  return `${Math.round(hours * 100) / 100} h`;
}

function systemLine(s: LeaverSystem, slaHours: number): string {
  const flag = s.withinSla ? "within SLA" : `SLA of ${slaHours} h breached`;
  switch (s.status) {
    case "disabled":
    case "deleted":
      return `- ${s.system}: ${s.username} ${s.status} at ${s.at ?? none}, ${formatHours(s.hours)} after termination (${flag})`;
    case "failed":
      return `- ${s.system}: ${s.username} NOT disabled (failed for good: ${s.error ?? none}), ${formatHours(s.hours)} after termination (${flag})`;
    case "pending":
      return `- ${s.system}: ${s.username} NOT disabled yet, ${formatHours(s.hours)} after termination (${flag})`;
  }
}

const leaverSchema = z.object({
  identityId: text,
  employeeId: text,
  name: text,
  terminatedAt: text,
  slaHours: hoursValue,
  hours: hoursValue,
  withinSla: z.boolean(),
  systems: z.array(
    z.object({
      system: text,
      username: text,
      status: z.enum(["disabled", "deleted", "failed", "pending"]),
      at: text.nullable(),
      hours: hoursValue,
      withinSla: z.boolean(),
      error: text.nullable(),
    }),
  ),
}) satisfies z.ZodType<LeaverNoticeData>;

const leaverPlaceholders = {
  identityId: "the leaver's identity id",
  employeeId: "the leaver's HR key",
  name: "the leaver's name",
  terminatedAt: "when the termination was recorded (ISO-8601)",
  slaHours: "lifecycle.leaver.slaHours",
  hours: "hours from the termination to the last system done (or to now, when not all are)",
  withinSla: "yes or no: every system done within the SLA",
  systems:
    "one line per account: its system and username, disabled or deleted at (ISO-8601), hours after termination, within SLA or breached; or NOT disabled (failed, pending)",
  names: "the systems, comma-separated",
  outstanding: "the systems not disabled yet, comma-separated, or (none)",
} as const;

function leaverValues(d: LeaverNoticeData): Record<string, string> {
  const open = d.systems.filter((s) => s.status === "failed" || s.status === "pending");
  return {
    identityId: d.identityId,
    employeeId: d.employeeId,
    name: d.name,
    terminatedAt: d.terminatedAt,
    slaHours: String(d.slaHours),
    hours: formatHours(d.hours),
    withinSla: d.withinSla ? "yes" : "no",
    systems: d.systems.length === 0 ? none : d.systems.map((s) => systemLine(s, d.slaHours)).join("\n"),
    names: [...new Set(d.systems.map((s) => s.system))].join(", ") || none,
    outstanding: [...new Set(open.map((s) => s.system))].join(", ") || none,
  };
}

export const joinerAccountsCreated: EventDefinition<JoinerAccountsCreatedData> = {
  schema: z.object({
    identityId: text,
    employeeId: text,
    name: text,
    to: text.nullable(),
    manager: text.nullable(),
    startDate: text.nullable(),
    employment: z.number().int().min(1),
    accounts: z.array(z.object({ system: text, username: text })),
    notCreated: z.array(z.object({ system: text, username: text, why: text })),
  }),
  placeholders: {
    identityId: "the new hire's identity id",
    employeeId: "the new hire's HR key",
    name: "the new hire's name",
    to: "the manager's email address; as a recipient: {{to}}",
    manager: "the manager's name, or (none)",
    startDate: "the start date (YYYY-MM-DD), or (none)",
    accounts: "one line per account created: '- SYSTEM: USERNAME' (never a password)",
    systems: "the systems accounts were created in, comma-separated",
    count: "how many accounts were created",
    notCreated: "one line per account that failed for good, with why; or (none)",
  },
  values: (d) => ({
    identityId: d.identityId,
    employeeId: d.employeeId,
    name: d.name,
    to: d.to ?? none,
    manager: d.manager ?? none,
    startDate: d.startDate ?? none,
    accounts: accountLines(d.accounts),
    systems: [...new Set(d.accounts.map((a) => a.system))].join(", ") || none,
    count: String(d.accounts.length),
    notCreated: notCreatedLines(d.notCreated),
  }),
  // Once per employment: a retry, a re-run or a later account (a mover's new system) does not tell the
  // manager again; a rehire (a new employment) does.
  dedupeKey: (d) => `joiner.accounts-created:${d.identityId}:${d.employment}`,
  template: {
    subject: "Accounts created for {{name}}",
    text:
      "Hello {{manager}},\n\nTenure created these accounts for {{name}} ({{employeeId}}), who starts on " +
      "{{startDate}} and reports to you:\n{{accounts}}\n\nNot created: {{notCreated}}\n\nNo credential is in this message: {{name}} receives theirs " +
      "through the usual secure channel.",
  },
};

export const leaverDeprovisioned: EventDefinition<LeaverNoticeData> = {
  schema: leaverSchema,
  placeholders: leaverPlaceholders,
  values: leaverValues,
  // Once per termination: a re-run does not repeat it; a rehire who leaves again is a new termination.
  dedupeKey: (d) => `leaver.deprovisioned:${d.identityId}:${d.terminatedAt}`,
  template: {
    subject: "Leaver {{name}} deprovisioned in {{hours}} (SLA {{slaHours}} h: within SLA {{withinSla}})",
    text:
      "Every account of {{name}} ({{employeeId}}), terminated at {{terminatedAt}}, is now disabled or " +
      "removed, {{hours}} after the termination (SLA {{slaHours}} h):\n{{systems}}",
  },
};

export const leaverSlaBreached: EventDefinition<LeaverNoticeData> = {
  schema: leaverSchema,
  placeholders: leaverPlaceholders,
  values: leaverValues,
  // Once per termination: the alert check runs every few minutes and does not repeat it.
  dedupeKey: (d) => `leaver.sla-breached:${d.identityId}:${d.terminatedAt}`,
  template: {
    subject: "Leaver {{name}} still has access after {{hours}} (SLA {{slaHours}} h)",
    text:
      "{{name}} ({{employeeId}}) was terminated at {{terminatedAt}}, and {{hours}} later these accounts are " +
      "not all disabled ({{outstanding}}):\n{{systems}}\n\nReport: tenure report leavers",
  },
};
