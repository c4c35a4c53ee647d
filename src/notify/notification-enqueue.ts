import type { NotifyConfig } from "./notify-config.js";

/** The part of the loaded configuration that enqueueing reads (TenureConfig satisfies it). */
type WithNotify = { readonly notify?: NotifyConfig | undefined };

import { InvalidInputError } from "../shared/errors.js";
import {
  type InsertNotificationsResult,
  type NewNotification,
  notificationRepository,
} from "../store/notification-repository.js";
import type { Db } from "../store/schema-types.js";
import {
  type ContractorExpiryWarningData,
  EVENT_DEFINITIONS,
  type EventDefinition,
  type NotificationEvent,
  placeholdersOf,
} from "./notification-events.js";
import {
  type CompiledTemplate,
  escapeSlack,
  mustCompile,
  oneLine,
  plainText,
  renderTemplate,
} from "./notification-templates.js";

/** What {@link enqueueNotifications} did with each target of the event's route. */
export interface EnqueueNotificationsResult extends InsertNotificationsResult {
  /** Targets left out, with why: an email target whose recipients were all empty placeholders. */
  skipped: Array<{ target: string; reason: string }>;
}

const EMPTY: EnqueueNotificationsResult = Object.freeze({ queued: [], duplicates: [], skipped: [] });
const EMAIL_ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

/**
 * Queues one message per target that `notify.routes` gives the event, rendered for its channel
 * (Slack mrkdwn escaping for `slack` webhooks, plain text otherwise), in `trx`: call it inside the
 * transaction that records the change the event is about, so the two commit together and a
 * notification is never lost to a crash between them. It writes only outbox rows; nothing is sent
 * until `deliverNotifications` runs.
 *
 * A message whose dedupe key was queued before (the same warning, the same unreachable system in the
 * same window) is not queued again. An event with no route queues nothing. Never reads the clock.
 * @throws InvalidInputError when `event.data` does not have the event's shape (a caller's bug); the
 *   caller's transaction then fails, as for any bug in it.
 */
export async function enqueueNotifications(
  trx: Db,
  event: NotificationEvent,
  config: WithNotify,
  now: Date,
): Promise<EnqueueNotificationsResult> {
  const rendered = renderEvent(event, config, now, new Map());
  if (rendered.messages.length === 0 && rendered.skipped.length === 0) return EMPTY;
  const inserted = await notificationRepository.insertMany(trx, rendered.messages, now);
  return { ...inserted, skipped: rendered.skipped };
}

/**
 * {@link enqueueNotifications} for many events at once, as one multi-row insert: what a scan or a
 * batch run that notifies about each of thousands of changes calls, instead of one insert per event.
 * The outcome is the same as enqueueing `events` one after another, in order: a dedupe key queued
 * before is not queued again, nor is one repeated within `events` (the first one is queued). The
 * result lists every queued message (in the order of `events`), every skipped target, and every
 * duplicate key (in no particular order) of all the events.
 * Call it in the transaction that records the changes; never reads the clock.
 * @throws InvalidInputError when any event's data does not have its event's shape (nothing is
 *   queued, and the caller's transaction fails).
 */
export async function enqueueNotificationsMany(
  trx: Db,
  events: readonly NotificationEvent[],
  config: WithNotify,
  now: Date,
): Promise<EnqueueNotificationsResult> {
  const templates = new Map<string, Compiled>();
  const messages: NewNotification[] = [];
  const skipped: EnqueueNotificationsResult["skipped"] = [];
  // Every event is checked and rendered before anything is written.
  for (const event of events) {
    const rendered = renderEvent(event, config, now, templates);
    for (const m of rendered.messages) messages.push(m);
    for (const s of rendered.skipped) skipped.push(s);
  }
  if (messages.length === 0 && skipped.length === 0) return EMPTY;
  const inserted = await notificationRepository.insertMany(trx, messages, now);
  return { ...inserted, skipped };
}

/** An event's subject and text templates, compiled once per event name within a batch. */
type Compiled = { subject: CompiledTemplate; text: CompiledTemplate };

/** The messages `event` gives, one per target of its route, rendered for each channel; nothing written. */
function renderEvent(
  event: NotificationEvent,
  config: WithNotify,
  now: Date,
  templates: Map<string, Compiled>,
): { messages: NewNotification[]; skipped: EnqueueNotificationsResult["skipped"] } {
  // The union of definitions is indexed by the union of names; each definition checks its own data below.
  const definition = EVENT_DEFINITIONS[event.name] as unknown as EventDefinition<Record<string, unknown>>;
  const parsed = definition.schema.safeParse(event.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(
      `notification ${event.name}: invalid data at ${issue?.path.map(String).join(".") || "(root)"}: ${issue?.message ?? "?"}`,
    );
  }
  const notify = config.notify;
  const targets = notify?.routes[event.name] ?? [];
  if (notify === undefined || targets.length === 0) return { messages: [], skipped: [] };
  const data = parsed.data;
  const values = { ...definition.values(data), event: event.name, time: now.toISOString() };
  let compiled = templates.get(event.name);
  if (compiled === undefined) {
    const placeholders = placeholdersOf(event.name);
    const override = notify.templates[event.name];
    compiled = {
      subject: mustCompile(override?.subject ?? definition.template.subject, placeholders),
      text: mustCompile(override?.text ?? definition.template.text, placeholders),
    };
    templates.set(event.name, compiled);
  }
  const { subject, text } = compiled;
  const where = `template of ${event.name}`;
  const base = definition.dedupeKey(data, now, notify);
  const renderedSubject = oneLine(renderTemplate(subject, values, plainText, `${where}, subject`));

  const messages: NewNotification[] = [];
  const skipped: EnqueueNotificationsResult["skipped"] = [];
  for (const target of targets) {
    if ("webhook" in target) {
      const format = notify.webhooks[target.webhook]?.format ?? "json";
      messages.push({
        event: event.name,
        dedupeKey: `${base}|webhook:${target.webhook}`,
        channel: "webhook",
        recipient: target.webhook,
        subject: renderedSubject,
        body: renderTemplate(text, values, format === "slack" ? escapeSlack : plainText, `${where}, text`),
        payload: data,
        maxAttempts: notify.retry.maxAttempts,
      });
      continue;
    }
    const addresses = [...new Set(target.email.flatMap((r) => recipientsOf(r, data)))];
    if (addresses.length === 0) {
      skipped.push({
        target: `email ${target.email.join(", ")}`,
        reason: "no recipient: the event's data has no address for it",
      });
      continue;
    }
    const recipient = addresses.join(", ");
    messages.push({
      event: event.name,
      dedupeKey: `${base}|email:${recipient}`,
      channel: "email",
      recipient,
      subject: renderedSubject,
      body: renderTemplate(text, values, plainText, `${where}, text`),
      payload: data,
      maxAttempts: notify.retry.maxAttempts,
    });
  }
  return { messages, skipped };
}

/** An address as written, or the address a `{{field}}` recipient reads from the data (none if empty). */
function recipientsOf(recipient: string, data: Readonly<Record<string, unknown>>): string[] {
  const field = /^\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}$/.exec(recipient)?.[1];
  if (field === undefined) return [recipient];
  const value = data[field];
  return typeof value === "string" && EMAIL_ADDRESS.test(value) ? [value] : [];
}

/**
 * `operation.dead`: an operation went dead. Call it in the transaction that records the death (with
 * its `operation.dead` audit event). `error` must already be free of secrets.
 */
export function notifyOperationDead(
  trx: Db,
  op: DeadOperation,
  error: string,
  config: WithNotify,
  now: Date,
): Promise<EnqueueNotificationsResult> {
  return enqueueNotifications(
    trx,
    {
      name: "operation.dead",
      data: {
        operationId: op.id,
        system: op.system,
        kind: op.kind,
        username: op.username,
        identity: op.identityId,
        entitlement: op.entitlement,
        error,
        attempts: op.attempts,
      },
    },
    config,
    now,
  );
}

/** The operation fields {@link notifyOperationDead} reads (an `OperationRecord` has them all). */
export interface DeadOperation {
  id: string;
  system: string;
  kind: string;
  username: string;
  identityId: string | null;
  entitlement: string | null;
  attempts: number;
}

/**
 * `connector.unreachable`: a system could not be reached. Call it in the transaction that records the
 * failure. At most one message per system per `notify.unreachableWindowMinutes` (by the clock window
 * `now` falls in) is queued, however many operations fail meanwhile. `error` must be free of secrets.
 */
export function notifyConnectorUnreachable(
  trx: Db,
  system: string,
  error: string,
  config: WithNotify,
  now: Date,
): Promise<EnqueueNotificationsResult> {
  return enqueueNotifications(
    trx,
    { name: "connector.unreachable", data: { system, error, since: now.toISOString() } },
    config,
    now,
  );
}

/**
 * `contractor.expiry-warning`: a contractor's end date is near. Queued once per identity and end date,
 * so the scheduler may call it every day of the warning period; a new end date warns again.
 */
export function enqueueContractorExpiryWarning(
  trx: Db,
  data: ContractorExpiryWarningData,
  config: WithNotify,
  now: Date,
): Promise<EnqueueNotificationsResult> {
  return enqueueNotifications(trx, { name: "contractor.expiry-warning", data }, config, now);
}
