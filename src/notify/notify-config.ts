import type { NotificationEventName, NotificationTemplate } from "./notification-events.js";

// notify/ owns its section of tenure.yaml (notify-section.ts) and these types, as each connector owns its
// `config:`; policy/ composes the sections and re-exports the types. See docs/architecture.md.

/** `notify:` after loading: channels, which events go where, template overrides, retries. */
export interface NotifyConfig {
  /** The SMTP server and sender; null when the file configures no email. */
  readonly email: NotifyEmailConfig | null;
  /** Webhooks by name, the name being their key under `notify.webhooks`. */
  readonly webhooks: Readonly<Record<string, NotifyWebhookConfig>>;
  /** Event → the targets it is sent to. An event not listed is not sent anywhere. */
  readonly routes: Readonly<Partial<Record<NotificationEventName, readonly NotifyTarget[]>>>;
  /** Event → the parts of its built-in template the file replaces. */
  readonly templates: Readonly<Partial<Record<NotificationEventName, Partial<NotificationTemplate>>>>;
  /** Delivery attempts and the backoff between them. Default 10 attempts, 60 s doubling to 3600 s. */
  readonly retry: {
    readonly maxAttempts: number;
    readonly baseDelaySeconds: number;
    readonly maxDelaySeconds: number;
  };
  /** At most one `connector.unreachable` per system per this many minutes. Default 60. */
  readonly unreachableWindowMinutes: number;
}

/** An SMTP server, from `notify.email.smtp` (a URL) or its `host`/`port`/`secure`/`auth` keys. */
export interface NotifyEmailConfig {
  readonly host: string;
  readonly port: number;
  /** TLS from the start (smtps, port 465); otherwise STARTTLS when the server offers it. */
  readonly secure: boolean;
  /** Refuse to send unless STARTTLS succeeds. Default false. */
  readonly requireTLS: boolean;
  readonly auth: { readonly user: string; readonly pass: string } | null;
  /** The From address, e.g. `Tenure <tenure@example.com>`. */
  readonly from: string;
  /** How long connecting, greeting and each SMTP command may take. Default 30. */
  readonly timeoutSeconds: number;
}

export interface NotifyWebhookConfig {
  /** The key under `notify.webhooks`. */
  readonly name: string;
  /** Where messages are POSTed. Often holds a token (Slack incoming webhooks): treated as a secret. */
  readonly url: string;
  /** `slack`: `{ text, blocks }` for a Slack incoming webhook; `json`: Tenure's own JSON. Default `slack`. */
  readonly format: "slack" | "json";
  /** With it, each request is signed as the webhook connector signs (Tenure-Signature). */
  readonly secret: string | null;
  /** How long a request may take. Default 10. */
  readonly timeoutSeconds: number;
}

/** One target of a route: email to these addresses (or `{{field}}` of the event), or a named webhook. */
export type NotifyTarget = { readonly email: readonly string[] } | { readonly webhook: string };
