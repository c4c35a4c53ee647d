import { TenureError } from "../shared/errors.js";
import { redactor } from "../shared/redact.js";
import type { NotifyConfig } from "./notify-config.js";

/** A message could not be delivered. Its message is free of secrets and fit for `last_error`. */
export class NotificationDeliveryError extends TenureError {
  constructor(message: string) {
    super("notification_delivery", message, { exitCode: 1, httpStatus: 502 });
  }
}

const MAX_ERROR_LENGTH = 500;

/**
 * Every secret `notify` holds, for masking: the SMTP password (as written and percent-encoded), each
 * webhook's signing secret and URL — whole, and its path, query and longer path segments, since a
 * Slack incoming-webhook URL is itself the token.
 */
export function notifySecrets(notify: NotifyConfig | undefined): string[] {
  if (notify === undefined) return [];
  const secrets: string[] = [];
  const pass = notify.email?.auth?.pass;
  if (pass !== undefined) secrets.push(pass, encodeURIComponent(pass));
  for (const webhook of Object.values(notify.webhooks)) {
    if (webhook.secret !== null) secrets.push(webhook.secret);
    secrets.push(webhook.url);
    try {
      const url = new URL(webhook.url);
      secrets.push(`${url.pathname}${url.search}`, url.search, url.password, ...url.searchParams.values());
      secrets.push(...url.pathname.split("/").filter((segment) => segment.length >= 12));
    } catch {
      // The schema lets only valid URLs through.
    }
  }
  return secrets;
}

/**
 * Turns anything a sender caught into a message fit for `last_error`, audit events and the CLI: the
 * secrets masked, control characters (a server could send them to forge log lines) turned into
 * spaces, and at most 500 characters.
 */
export function safeMessage(text: string, secrets: readonly string[]): string {
  const clean = redactor(secrets)(text)
    .replace(/\p{Cc}+/gu, " ")
    .trim();
  return clean.length > MAX_ERROR_LENGTH ? `${clean.slice(0, MAX_ERROR_LENGTH - 1)}…` : clean;
}
