import { SIGNATURE_HEADER, signWebhookBody } from "../connectors/webhook/webhook-signature.js";
import type { NotificationRecord } from "../store/notification-repository.js";
import { NotificationDeliveryError, safeMessage } from "./delivery-errors.js";
import { escapeSlack } from "./notification-templates.js";
import type { NotifyWebhookConfig } from "./notify-config.js";

/** What a message POSTed to a `json` webhook looks like. */
export interface JsonWebhookBody {
  /** The notification's id: the same message retried has the same id, so a receiver may de-duplicate. */
  id: string;
  event: string;
  subject: string;
  text: string;
  /** The event's data (docs/notifications.md lists each event's fields). */
  data: Record<string, unknown>;
  createdAt: string;
}

// Slack's limits: a header's plain text, a section's mrkdwn.
const SLACK_HEADER_MAX = 150;
const SLACK_SECTION_MAX = 3000;

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The request body for a message: for `slack`, `{ text, blocks }` as Slack incoming webhooks take it —
 * the subject as a header and as the notification fallback `text` (mrkdwn-escaped), the body (escaped
 * when it was rendered) as a mrkdwn section; for `json`, {@link JsonWebhookBody}.
 */
export function webhookBody(
  format: NotifyWebhookConfig["format"],
  message: Pick<NotificationRecord, "id" | "event" | "subject" | "body" | "payload" | "createdAt">,
): string {
  if (format === "json") {
    const body: JsonWebhookBody = {
      id: message.id,
      event: message.event,
      subject: message.subject,
      text: message.body,
      data: message.payload,
      createdAt: message.createdAt,
    };
    return JSON.stringify(body);
  }
  return JSON.stringify({
    text: escapeSlack(message.subject),
    blocks: [
      { type: "header", text: { type: "plain_text", text: truncate(message.subject, SLACK_HEADER_MAX) } },
      { type: "section", text: { type: "mrkdwn", text: truncate(message.body, SLACK_SECTION_MAX) } },
    ],
  });
}

/**
 * POSTs `body` to the webhook. Any 2xx is done; anything else — another status, a redirect (not
 * followed), no answer within `timeoutSeconds`, a refused connection — throws. With a `secret`, the
 * request carries `Tenure-Signature` as the webhook connector's does (`verifyWebhookSignature` checks it).
 * @throws NotificationDeliveryError naming the webhook and the URL's origin only (a Slack URL's path
 *   is its token), with `secrets` masked.
 */
export async function postWebhook(
  webhook: NotifyWebhookConfig,
  body: string,
  secrets: readonly string[],
  now: Date,
): Promise<void> {
  const where = `webhook ${webhook.name}: POST ${originOf(webhook.url)}/…`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (webhook.secret !== null) {
    headers[SIGNATURE_HEADER] = signWebhookBody(webhook.secret, Math.floor(now.getTime() / 1000), body);
  }
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(webhook.timeoutSeconds * 1000),
    });
  } catch (error) {
    throw new NotificationDeliveryError(safeMessage(`${where}: ${networkReason(error, webhook)}`, secrets));
  }
  // Read the answer either way, so the connection is released; a short reason helps (Slack: no_service).
  const answer = await response.text().catch(() => "");
  if (response.status >= 200 && response.status <= 299) return;
  const reason = answer.trim() === "" ? "" : `: ${answer.trim().slice(0, 200)}`;
  throw new NotificationDeliveryError(
    safeMessage(`${where} answered HTTP ${response.status}${reason}`, secrets),
  );
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

function networkReason(error: unknown, webhook: NotifyWebhookConfig): string {
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError" || name === "AbortError") return `no answer within ${webhook.timeoutSeconds} s`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : "network error";
  return typeof code === "string" && !message.includes(code) ? `${code} ${message}` : message;
}
