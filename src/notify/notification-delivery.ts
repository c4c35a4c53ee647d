import { appendEvents } from "../audit/ledger.js";
import { nextAttemptAt } from "../shared/backoff.js";
import { runClaimLoop } from "../shared/claim-loop.js";
import { UsageError } from "../shared/errors.js";
import type { ClaimOwner } from "../store/claim-rows.js";
import type { Store } from "../store/database.js";
import {
  type NotificationChannel,
  type NotificationRecord,
  notificationRepository,
} from "../store/notification-repository.js";
import { NotificationDeliveryError, notifySecrets, safeMessage } from "./delivery-errors.js";
import { createEmailSender, type EmailSender } from "./email-sender.js";
import type { NotifyConfig } from "./notify-config.js";
import { postWebhook, webhookBody } from "./webhook-sender.js";

export interface DeliveryDeps {
  store: Pick<Store, "db">;
  /** `config.notify`: the channels messages go out through. Undefined: every message fails (and waits). */
  notify: NotifyConfig | undefined;
  /** Read for every claim and every record. */
  now: () => Date;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  /** Unique per process: claims are held and released by it. */
  workerId: string;
  /** This process, recorded with each claim so a crash's claims are given back at the next start. */
  owner?: ClaimOwner;
  /** The actor of `notification.dead` audit events; default `notifier:<workerId>`. */
  actor?: string;
  /** How long a claim holds; must exceed the time one batch takes. Default 300. */
  leaseSeconds?: number;
  /** Messages claimed at a time. Default 16. */
  batchSize?: number;
  /** Messages sent at once. Default 4. */
  concurrency?: number;
  onProgress?: (outcome: DeliveryOutcome, done: number) => void;
}

export interface DeliveryOptions {
  /** Claim at most this many messages in this run. */
  limit?: number;
  /** Graceful stop: nothing new is sent; messages claimed and not started are given back. */
  signal?: AbortSignal;
}

/**
 * What happened to one claimed message. `skipped`: its outcome could not be recorded (the claim
 * expired and another deliverer took it over, or the store failed); it is claimed again later.
 */
export type DeliveryOutcomeKind = "sent" | "failed" | "dead" | "skipped";

export interface DeliveryOutcome {
  id: string;
  event: string;
  channel: NotificationChannel;
  recipient: string;
  outcome: DeliveryOutcomeKind;
  /** Attempts including this one. */
  attempts: number;
  /** On failure: what went wrong, free of secrets. */
  error?: string;
  /** For `failed`: when the retry is due. */
  nextAttemptAt?: string;
}

export interface DeliverySummary {
  claimed: number;
  sent: number;
  /** Failed this time; retried later. */
  failed: number;
  /** Out of attempts: recorded, audited, and not tried again. */
  dead: number;
  skipped: number;
  /** Claimed and given back unsent (stopped, or due again within this run). */
  released: number;
}

export interface DeliveryResult {
  outcomes: DeliveryOutcome[];
  summary: DeliverySummary;
}

const DEFAULT_LEASE_SECONDS = 300;
const DEFAULT_BATCH = 16;
const DEFAULT_CONCURRENCY = 4;
const LEASE_LOST =
  "the claim expired before the outcome was recorded; another deliverer took the message over";

/** Sends messages through the configured channels; one SMTP connection per run, closed by `close`. */
interface Channels {
  send(message: NotificationRecord, now: Date): Promise<void>;
  close(): void;
}

function openChannels(notify: NotifyConfig | undefined, secrets: readonly string[]): Channels {
  let email: EmailSender | undefined;
  return {
    async send(message, now) {
      if (message.channel === "email") {
        if (notify?.email == null) {
          throw new NotificationDeliveryError("email is not configured (notify.email)");
        }
        email ??= createEmailSender(notify.email, secrets);
        await email.send({
          to: message.recipient.split(", "),
          subject: message.subject,
          text: message.body,
        });
        return;
      }
      const webhook = notify?.webhooks[message.recipient];
      if (webhook === undefined) {
        throw new NotificationDeliveryError(
          `webhook ${message.recipient} is not configured (notify.webhooks.${message.recipient})`,
        );
      }
      await postWebhook(webhook, webhookBody(webhook.format, message), secrets, now);
    },
    close() {
      email?.close();
    },
  };
}

/**
 * Delivers due notifications until none is left (or `limit`, or `signal`): claims a batch, sends each
 * message through its channel, records each outcome, claims the next. A message is sent at most once a
 * run. Returns per-message outcomes and a summary; a failed delivery is an outcome, never an exception.
 * It throws only when the store fails to claim.
 *
 * Outcomes: sent → `sent`. Failed → back to `pending` with `last_error`, due again after the backoff of
 * `notify.retry` (src/engine/backoff.ts), until the attempts are used up: then `dead`, recorded together
 * with a `notification.dead` audit event. Nothing is deleted, so nothing is lost; a dead message stays
 * visible with its last error. Errors never carry the SMTP password, a webhook's URL or its secret.
 *
 * Ordering and durability: the claim commits `sending` before the message goes out, and the outcome is
 * recorded after. A crash between the two leaves the message `sending`; when its claim expires any
 * deliverer claims it again and sends it again — delivery is at least once. A message whose claims
 * have used every attempt without recording an outcome goes dead without being sent again.
 *
 * Concurrency: claims never overlap (see `notificationRepository.claimDue`), so several deliverers —
 * processes on one PostgreSQL database, or on one SQLite file — never send one message twice except
 * after such a crash.
 */
export async function deliverNotifications(
  deps: DeliveryDeps,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const { db } = deps.store;
  const random = deps.random ?? Math.random;
  const actor = deps.actor ?? `notifier:${deps.workerId}`;
  const leaseSeconds = deps.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;
  const concurrency = Math.max(1, deps.concurrency ?? DEFAULT_CONCURRENCY);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const retry = deps.notify?.retry ?? { maxAttempts: 10, baseDelaySeconds: 60, maxDelaySeconds: 3600 };
  const secrets = notifySecrets(deps.notify);
  const channels = openChannels(deps.notify, secrets);

  const outcomes: DeliveryOutcome[] = [];
  const handled = new Set<string>();
  let claimed = 0;
  let released = 0;

  const base = (m: NotificationRecord) => ({
    id: m.id,
    event: m.event,
    channel: m.channel,
    recipient: m.recipient,
    attempts: m.attempts,
  });

  async function recordSent(m: NotificationRecord): Promise<DeliveryOutcome> {
    try {
      const held = await notificationRepository.markSent(db, m.id, {
        now: deps.now(),
        workerId: deps.workerId,
      });
      return held ? { ...base(m), outcome: "sent" } : { ...base(m), outcome: "skipped", error: LEASE_LOST };
    } catch (err) {
      return { ...base(m), outcome: "skipped", error: `recording the delivery failed: ${storeError(err)}` };
    }
  }

  async function recordFailure(
    m: NotificationRecord,
    error: string,
    retryable: boolean,
  ): Promise<DeliveryOutcome> {
    const now = deps.now();
    const retryAt = nextAttemptAt(now, Math.max(1, m.attempts), retry, random);
    try {
      const state = await db.transaction().execute(async (trx) => {
        const next = await notificationRepository.markFailed(trx, m.id, {
          now,
          workerId: deps.workerId,
          error,
          retryable,
          nextAttemptAt: retryAt,
        });
        if (next === "dead") {
          await appendEvents(trx, [
            {
              time: now.toISOString(),
              actor,
              action: "notification.dead",
              subject: `notification:${m.id}`,
              details: {
                notificationId: m.id,
                event: m.event,
                channel: m.channel,
                recipient: m.recipient,
                subjectLine: m.subject,
                attempts: m.attempts,
                maxAttempts: m.maxAttempts,
                error,
              },
            },
          ]);
        }
        return next;
      });
      if (state === undefined) return { ...base(m), outcome: "skipped", error: LEASE_LOST };
      return state === "dead"
        ? { ...base(m), outcome: "dead", error }
        : { ...base(m), outcome: "failed", error, nextAttemptAt: retryAt.toISOString() };
    } catch (err) {
      return { ...base(m), outcome: "skipped", error: `recording the failure failed: ${storeError(err)}` };
    }
  }

  async function deliver(m: NotificationRecord): Promise<DeliveryOutcome> {
    if (m.attempts > m.maxAttempts) {
      return recordFailure(
        m,
        `abandoned after ${m.maxAttempts} attempt(s) whose deliverer stopped before recording an outcome; ` +
          "it may or may not have arrived",
        false,
      );
    }
    try {
      await channels.send(m, deps.now());
    } catch (err) {
      const error =
        err instanceof NotificationDeliveryError
          ? err.message
          : safeMessage(
              `unexpected ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
              secrets,
            );
      return recordFailure(m, error, true);
    }
    return recordSent(m);
  }

  try {
    const run = await runClaimLoop<NotificationRecord, DeliveryOutcome, DeliveryOutcome>({
      batchSize,
      limit,
      signal: options.signal,
      // One lane per channel (email, each webhook): a mail server that does not answer holds only
      // the email, and the webhooks go on.
      laneOf: (m) => (m.channel === "email" ? "email" : `webhook:${m.recipient}`),
      concurrencyOf: () => concurrency,
      // The outbox cannot leave a channel out of a claim, so none is made while a channel's queue is
      // full: messages are not leased long before they can be sent.
      claim: async (want, exclude) =>
        exclude.length > 0
          ? []
          : notificationRepository.claimDue(db, {
              now: deps.now(),
              limit: want,
              workerId: deps.workerId,
              ...(deps.owner === undefined ? {} : { owner: deps.owner }),
              leaseSeconds,
            }),
      // A message that failed earlier in this run and is already due again waits for the next run,
      // so a short backoff cannot spin one message through all its attempts at once.
      accept: (m) => !handled.has(m.id),
      run: (m) => {
        handled.add(m.id);
        return deliver(m);
      },
      // Each delivery records its own outcome (sent, failed, dead) as it finishes.
      record: async (done) => done,
      recordGroup: 1,
      release: (messages) =>
        notificationRepository.releaseClaims(
          db,
          deps.workerId,
          messages.map((m) => m.id),
        ),
      onOutcome: (outcome, done) => deps.onProgress?.(outcome, done),
    });
    outcomes.push(...run.outcomes);
    claimed = run.claimed;
    released = run.released;
  } finally {
    channels.close();
  }

  const count = (kind: DeliveryOutcomeKind) => outcomes.filter((o) => o.outcome === kind).length;
  return {
    outcomes,
    summary: {
      claimed,
      sent: count("sent"),
      failed: count("failed"),
      dead: count("dead"),
      skipped: count("skipped"),
      released,
    },
  };
}

function storeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Where `tenure notify test` sends: the channel, and for email the addresses. */
export interface TestMessageTarget {
  /** `email`, or the name of a webhook under `notify.webhooks`. */
  channel: string;
  /** For email: the recipients. */
  to?: readonly string[];
}

/**
 * Sends a test message straight through one channel, bypassing the outbox (nothing is queued or
 * retried), so a person can check the SMTP server or a webhook URL. Returns the recipient it went to.
 * @throws UsageError when the channel is not configured, or email has no `to`.
 * @throws NotificationDeliveryError (free of secrets) when sending failed.
 */
export async function sendTestNotification(
  notify: NotifyConfig | undefined,
  target: TestMessageTarget,
  now: Date,
): Promise<string> {
  const secrets = notifySecrets(notify);
  const webhooks = Object.keys(notify?.webhooks ?? {});
  const known = [...(notify?.email ? ["email"] : []), ...webhooks];
  if (!known.includes(target.channel)) {
    throw new UsageError(
      `--channel ${target.channel}: not a configured channel; configured: ${known.join(", ") || "none (add notify.email or notify.webhooks)"}`,
    );
  }
  const isEmail = target.channel === "email";
  if (isEmail && (target.to === undefined || target.to.length === 0)) {
    throw new UsageError("--channel email needs --to ADDRESS: who should receive the test message");
  }
  const recipient = isEmail ? (target.to ?? []).join(", ") : target.channel;
  const message: NotificationRecord = {
    id: `test-${now.getTime()}`,
    event: "test",
    dedupeKey: `test:${now.toISOString()}`,
    channel: isEmail ? "email" : "webhook",
    recipient,
    subject: "Tenure test notification",
    body: `This is a test message from Tenure, sent at ${now.toISOString()}. If you can read it, notifications reach you here.`,
    payload: {},
    state: "sending",
    attempts: 1,
    maxAttempts: 1,
    nextAttemptAt: now.toISOString(),
    claimedBy: null,
    claimExpiresAt: null,
    lastError: null,
    createdAt: now.toISOString(),
    sentAt: null,
  };
  const channels = openChannels(notify, secrets);
  try {
    await channels.send(message, now);
  } finally {
    channels.close();
  }
  return recipient;
}
