import { createHash } from "node:crypto";
import { z } from "zod";
import {
  type AccessExpiringData,
  accessExpiring,
  type BreakGlassData,
  breakGlass,
  type RequestDecidedData,
  type RequestDecisionNeededData,
  type RevocationUnconfirmedData,
  requestDecided,
  requestDecisionNeeded,
  revocationUnconfirmed,
} from "./access-notification-events.js";
import {
  type JoinerAccountsCreatedData,
  joinerAccountsCreated,
  type LeaverNoticeData,
  leaverDeprovisioned,
  leaverSlaBreached,
} from "./lifecycle-notification-events.js";
import {
  type NhiExpiringData,
  type NhiOwnerAssignedData,
  type NhiOwnerlessData,
  type NhiOwnerPendingData,
  type NhiRemovedData,
  nhiExpiring,
  nhiOwnerAssigned,
  nhiOwnerless,
  nhiOwnerPending,
  nhiRemoved,
} from "./nhi-notification-events.js";
import { type NhiRotationFailedData, nhiRotationFailed } from "./nhi-rotation-notification-events.js";
import type { EventDefinition } from "./notification-event-types.js";
import { type ReportAlertData, reportAlert } from "./report-notification-events.js";
import {
  type DormantNoticeData,
  dormantNotice,
  type ReviewAssignedData,
  type ReviewBirthrightRefusedData,
  type ReviewReminderData,
  type ReviewRevocationFailedData,
  reviewAssigned,
  reviewBirthrightRefused,
  reviewReminder,
  reviewRevocationFailed,
} from "./review-notification-events.js";
import {
  type SodExceptionEndedData,
  type SodViolationData,
  sodExceptionEnded,
  sodViolation,
} from "./sod-notification-events.js";

/** The events Tenure notifies about; `notify.routes` and `notify.templates` are keyed by these names. */
export const NOTIFICATION_EVENTS = [
  "operation.dead",
  "mass-change.stopped",
  "contractor.expiry-warning",
  "connector.unreachable",
  "task.overdue",
  "request.decision-needed",
  "request.decided",
  "access.expiring",
  "access.break-glass",
  "access.revocation-unconfirmed",
  "sod.violation",
  "sod.exception-ended",
  "review.assigned",
  "review.reminder",
  "review.birthright-refused",
  "review.revocation-failed",
  "dormant.notice",
  "nhi.rotation-failed",
  "nhi.owner-pending",
  "nhi.ownerless",
  "nhi.expiring",
  "nhi.owner-assigned",
  "nhi.removed",
  "report.alert",
  "joiner.accounts-created",
  "leaver.deprovisioned",
  "leaver.sla-breached",
] as const;
export type NotificationEventName = (typeof NOTIFICATION_EVENTS)[number];

/** An operation used up its attempts (or failed in a way no retry can mend): it needs a person. */
export interface OperationDeadData {
  operationId: string;
  system: string;
  /** create, update, enable, disable, delete, grant, revoke, rotate. */
  kind: string;
  username: string;
  /** The identity's id; null for an account that belongs to nobody (an orphan). */
  identity: string | null;
  entitlement: string | null;
  /** The last error, already free of secrets. */
  error: string;
  attempts: number;
}

/** One system (or source) past the mass-change threshold, with what the run would have done in it. */
export interface MassChangeCountData {
  /** `system`: provisioning would disable or delete accounts; `source`: a sync would terminate people. */
  kind: "system" | "source";
  name: string;
  disable: number;
  delete: number;
  /** Accounts the system has, or people the source holds: what the threshold is a share of. */
  total: number;
}

/** A run stopped by mass-change protection; nothing was changed. */
export interface MassChangeStoppedData {
  /** What stopped, in words: `sync of source hr`, `provisioning`. */
  run: string;
  /** Who ran it, as the audit records it (`cli:alice`). */
  actor: string;
  /** The stopped plan's hash: confirming with it applies exactly that plan. */
  planHash: string;
  systems: MassChangeCountData[];
}

/** A contractor's end date is near; their manager is warned. */
export interface ContractorExpiryWarningData {
  /** The identity's id. */
  identity: string;
  name: string;
  /** `YYYY-MM-DD`, in the source's time zone. */
  endDate: string;
  daysLeft: number;
  /** Null when the contractor has no manager with an email address. */
  managerEmail: string | null;
}

/** A system could not be reached. */
export interface ConnectorUnreachableData {
  system: string;
  /** What failed, already free of secrets. */
  error: string;
  /** When this was seen (ISO-8601). */
  since: string;
}

/** A manual system's task is past its SLA and still open. */
export interface TaskOverdueData {
  taskId: string;
  system: string;
  /** create, update, enable, disable, delete, grant, revoke. */
  kind: string;
  username: string;
  /** The identity's id; null for an account that belongs to nobody. */
  identity: string | null;
  entitlement: string | null;
  /** Who was asked to do it (`systems.<name>.config.fulfiller`): a name or an email address. */
  fulfiller: string;
  /** The system's owner (`systems.<name>.owner`), if any. */
  owner: string | null;
  /** What the task asks (free of secrets). */
  instructions: string;
  /** When it was created and when it was due (ISO-8601). */
  createdAt: string;
  dueAt: string;
}

/** One event to notify about: its name and its data. */
export type NotificationEvent =
  | { readonly name: "operation.dead"; readonly data: OperationDeadData }
  | { readonly name: "mass-change.stopped"; readonly data: MassChangeStoppedData }
  | { readonly name: "contractor.expiry-warning"; readonly data: ContractorExpiryWarningData }
  | { readonly name: "connector.unreachable"; readonly data: ConnectorUnreachableData }
  | { readonly name: "task.overdue"; readonly data: TaskOverdueData }
  | { readonly name: "request.decision-needed"; readonly data: RequestDecisionNeededData }
  | { readonly name: "request.decided"; readonly data: RequestDecidedData }
  | { readonly name: "access.expiring"; readonly data: AccessExpiringData }
  | { readonly name: "access.break-glass"; readonly data: BreakGlassData }
  | { readonly name: "access.revocation-unconfirmed"; readonly data: RevocationUnconfirmedData }
  | { readonly name: "sod.violation"; readonly data: SodViolationData }
  | { readonly name: "sod.exception-ended"; readonly data: SodExceptionEndedData }
  | { readonly name: "review.assigned"; readonly data: ReviewAssignedData }
  | { readonly name: "review.reminder"; readonly data: ReviewReminderData }
  | { readonly name: "review.birthright-refused"; readonly data: ReviewBirthrightRefusedData }
  | { readonly name: "review.revocation-failed"; readonly data: ReviewRevocationFailedData }
  | { readonly name: "dormant.notice"; readonly data: DormantNoticeData }
  | { readonly name: "nhi.rotation-failed"; readonly data: NhiRotationFailedData }
  | { readonly name: "nhi.owner-pending"; readonly data: NhiOwnerPendingData }
  | { readonly name: "nhi.ownerless"; readonly data: NhiOwnerlessData }
  | { readonly name: "nhi.expiring"; readonly data: NhiExpiringData }
  | { readonly name: "nhi.owner-assigned"; readonly data: NhiOwnerAssignedData }
  | { readonly name: "nhi.removed"; readonly data: NhiRemovedData }
  | { readonly name: "report.alert"; readonly data: ReportAlertData }
  | { readonly name: "joiner.accounts-created"; readonly data: JoinerAccountsCreatedData }
  | { readonly name: "leaver.deprovisioned"; readonly data: LeaverNoticeData }
  | { readonly name: "leaver.sla-breached"; readonly data: LeaverNoticeData };

/** Events sent to one person, whose address is their `to`: routed to `{{to}}` unless routes say otherwise. */
export const PERSONAL_EVENTS: readonly NotificationEventName[] = [
  "request.decision-needed",
  "request.decided",
  "access.expiring",
  "access.break-glass",
  "sod.violation",
  "sod.exception-ended",
  "review.assigned",
  "review.reminder",
  "review.birthright-refused",
  "review.revocation-failed",
  "dormant.notice",
  "nhi.rotation-failed",
  "nhi.owner-pending",
  "nhi.ownerless",
  "nhi.expiring",
  "nhi.owner-assigned",
  "nhi.removed",
  "joiner.accounts-created",
];

export type { EventDefinition, NotificationTemplate } from "./notification-event-types.js";

/** Placeholders every event has, besides its own. */
export const COMMON_PLACEHOLDERS: Readonly<Record<string, string>> = {
  event: "the event's name, e.g. operation.dead",
  time: "when the notification was queued (ISO-8601, UTC)",
};

const text = z.string();
const count = z.number().int().min(0);
// Shown for a value the event may lack (an orphan's identity): never "null" or "undefined".
const NONE = "(none)";
const orNone = (value: string | null) => value ?? NONE;

const operationDead: EventDefinition<OperationDeadData> = {
  schema: z.object({
    operationId: text,
    system: text,
    kind: text,
    username: text,
    identity: text.nullable(),
    entitlement: text.nullable(),
    error: text,
    attempts: count,
  }),
  placeholders: {
    operationId: "the operation's id",
    system: "the system's name",
    kind: "what the operation does: create, update, enable, disable, delete, grant, revoke, rotate",
    username: "the account's username",
    identity: "the identity's id, or (none) for an account that belongs to nobody",
    entitlement: "the entitlement granted or revoked, or (none)",
    error: "the last error",
    attempts: "how many attempts were made",
  },
  values: (d) => ({
    operationId: d.operationId,
    system: d.system,
    kind: d.kind,
    username: d.username,
    identity: orNone(d.identity),
    entitlement: orNone(d.entitlement),
    error: d.error,
    attempts: String(d.attempts),
  }),
  // An operation can die, be retried by a person and die again: each death is news.
  dedupeKey: (d, now) => `operation.dead:${d.operationId}:${now.toISOString()}`,
  template: {
    subject: "Tenure: {{kind}} {{username}} in {{system}} failed for good",
    text:
      "The {{kind}} of {{username}} in {{system}} failed {{attempts}} times and will not be tried again " +
      "without a person.\n\nLast error: {{error}}\nIdentity: {{identity}}\nEntitlement: {{entitlement}}\n" +
      "Operation: {{operationId}}",
  },
};

function describeCount(c: MassChangeCountData): string {
  return c.kind === "source"
    ? `- source ${c.name}: terminate ${c.disable} of ${c.total} people`
    : `- system ${c.name}: disable ${c.disable}, delete ${c.delete} of ${c.total} accounts`;
}

const massChangeStopped: EventDefinition<MassChangeStoppedData> = {
  schema: z.object({
    run: text,
    actor: text,
    planHash: z.string().regex(/^[0-9a-f]{64}$/),
    systems: z.array(
      z.object({
        kind: z.enum(["system", "source"]),
        name: text,
        disable: count,
        delete: count,
        total: count,
      }),
    ),
  }),
  placeholders: {
    run: "what stopped, e.g. sync of source hr, or provisioning",
    actor: "who ran it, e.g. cli:alice",
    planHash: "the stopped plan's hash, which an admin confirms it with",
    systems: "one line per system or source past the threshold, with its counts",
    names: "the systems and sources past the threshold, comma-separated",
  },
  values: (d) => ({
    run: d.run,
    actor: d.actor,
    planHash: d.planHash,
    systems: d.systems.map(describeCount).join("\n"),
    names: d.systems.map((c) => `${c.kind} ${c.name}`).join(", "),
  }),
  // A scheduled run meeting the same bad HR file stops again and again: the same stop (same run, same
  // counts) is announced once a day; every stop is in the audit ledger regardless.
  dedupeKey: (d, now) => {
    const digest = createHash("sha256")
      .update(JSON.stringify([d.run, d.systems]))
      .digest("hex")
      .slice(0, 16);
    return `mass-change.stopped:${digest}:${now.toISOString().slice(0, 10)}`;
  },
  template: {
    subject: "Tenure: {{run}} stopped by mass-change protection",
    text:
      "{{run}} (run by {{actor}}) would have removed more access than lifecycle.massChangeThreshold " +
      "allows, so nothing was changed:\n{{systems}}\n\nCheck the HR data and the policy. If the change is " +
      "intended, an admin confirms exactly this plan: tenure sync --confirm-mass-change {{planHash}} (or the " +
      "same hash as confirmMassChange in the API).",
  },
};

const contractorExpiryWarning: EventDefinition<ContractorExpiryWarningData> = {
  schema: z.object({
    identity: text,
    name: text,
    endDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    daysLeft: count,
    managerEmail: text.nullable(),
  }),
  placeholders: {
    identity: "the contractor's identity id",
    name: "the contractor's name",
    endDate: "the end date of the contract (YYYY-MM-DD)",
    daysLeft: "days from today to the end date",
    managerEmail: "the manager's email address, or (none); as a recipient: {{managerEmail}}",
  },
  values: (d) => ({
    identity: d.identity,
    name: d.name,
    endDate: d.endDate,
    daysLeft: String(d.daysLeft),
    managerEmail: orNone(d.managerEmail),
  }),
  // Warned once per end date: a contract extended to a new date is warned about again.
  dedupeKey: (d) => `contractor.expiry-warning:${d.identity}:${d.endDate}`,
  template: {
    subject: "Contract of {{name}} ends on {{endDate}}",
    text:
      "The contract of {{name}} ends on {{endDate}}, in {{daysLeft}} days. On that day Tenure removes " +
      "all of their access.\n\nIf the contract is extended, have the end date changed in the HR system " +
      "before then.",
  },
};

const connectorUnreachable: EventDefinition<ConnectorUnreachableData> = {
  schema: z.object({ system: text, error: text, since: text }),
  placeholders: {
    system: "the system's name",
    error: "what failed",
    since: "when it was seen (ISO-8601)",
  },
  values: (d) => ({ system: d.system, error: d.error, since: d.since }),
  // A system that is down fails every attempt of every operation: one message per system per window.
  dedupeKey: (d, now, settings) => {
    const window = Math.max(1, settings.unreachableWindowMinutes) * 60_000;
    const bucket = new Date(Math.floor(now.getTime() / window) * window).toISOString();
    return `connector.unreachable:${d.system}:${bucket}`;
  },
  template: {
    subject: "Tenure cannot reach {{system}}",
    text:
      "Tenure could not reach the system {{system}} at {{since}}: {{error}}\n\nChanges for {{system}} " +
      "wait and are retried; nothing is lost.",
  },
};

const taskOverdue: EventDefinition<TaskOverdueData> = {
  schema: z.object({
    taskId: text,
    system: text,
    kind: text,
    username: text,
    identity: text.nullable(),
    entitlement: text.nullable(),
    fulfiller: text,
    owner: text.nullable(),
    instructions: text,
    createdAt: text,
    dueAt: text,
  }),
  placeholders: {
    taskId: "the task's id (for tenure tasks done)",
    system: "the system's name",
    kind: "what the task does: create, update, enable, disable, delete, grant, revoke",
    username: "the account's username",
    identity: "the identity's id, or (none)",
    entitlement: "the entitlement granted or revoked, or (none)",
    fulfiller: "who was asked to do it; as a recipient: {{fulfiller}} (when it is an email address)",
    owner: "the system's owner, or (none); as a recipient: {{owner}}",
    instructions: "what the task asks",
    createdAt: "when the task was created (ISO-8601)",
    dueAt: "when it was due (ISO-8601)",
  },
  values: (d) => ({
    taskId: d.taskId,
    system: d.system,
    kind: d.kind,
    username: d.username,
    identity: orNone(d.identity),
    entitlement: orNone(d.entitlement),
    fulfiller: d.fulfiller,
    owner: orNone(d.owner),
    instructions: d.instructions,
    createdAt: d.createdAt,
    dueAt: d.dueAt,
  }),
  // A task is overdue once: the alert is not repeated however long it stays open.
  dedupeKey: (d) => `task.overdue:${d.taskId}`,
  template: {
    subject: "Tenure: overdue task — {{kind}} {{username}} in {{system}}",
    text:
      "A task for {{fulfiller}} was due at {{dueAt}} and is still open. Until it is done, Tenure holds " +
      "back the later changes of this account in {{system}}.\n\n{{instructions}}\n\nWhen it is done: " +
      "tenure tasks done {{taskId}} --by YOUR-NAME\nCreated: {{createdAt}}",
  },
};

/** The catalogue: every event's data schema, placeholders, dedupe rule and built-in template. */
export const EVENT_DEFINITIONS: {
  readonly [N in NotificationEventName]: EventDefinition<Extract<NotificationEvent, { name: N }>["data"]>;
} = {
  "operation.dead": operationDead,
  "mass-change.stopped": massChangeStopped,
  "contractor.expiry-warning": contractorExpiryWarning,
  "connector.unreachable": connectorUnreachable,
  "task.overdue": taskOverdue,
  "request.decision-needed": requestDecisionNeeded,
  "request.decided": requestDecided,
  "access.expiring": accessExpiring,
  "access.break-glass": breakGlass,
  "access.revocation-unconfirmed": revocationUnconfirmed,
  "sod.violation": sodViolation,
  "sod.exception-ended": sodExceptionEnded,
  "review.assigned": reviewAssigned,
  "review.reminder": reviewReminder,
  "review.birthright-refused": reviewBirthrightRefused,
  "review.revocation-failed": reviewRevocationFailed,
  "dormant.notice": dormantNotice,
  "nhi.rotation-failed": nhiRotationFailed,
  "nhi.owner-pending": nhiOwnerPending,
  "nhi.ownerless": nhiOwnerless,
  "nhi.expiring": nhiExpiring,
  "nhi.owner-assigned": nhiOwnerAssigned,
  "nhi.removed": nhiRemoved,
  "report.alert": reportAlert,
  "joiner.accounts-created": joinerAccountsCreated,
  "leaver.deprovisioned": leaverDeprovisioned,
  "leaver.sla-breached": leaverSlaBreached,
};

/** Every placeholder a template of `event` may use. */
export function placeholdersOf(event: NotificationEventName): readonly string[] {
  return [...Object.keys(EVENT_DEFINITIONS[event].placeholders), ...Object.keys(COMMON_PLACEHOLDERS)];
}
