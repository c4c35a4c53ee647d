// biome-ignore-all lint/suspicious/noTemplateCurlyInString: messages show the literal ${env:…} / ${file:…} syntax of tenure.yaml.
import { z } from "zod";
import { retrySchema } from "../config/retry-schema.js";
import { strictObject, VALUE_OFFSET } from "../config/schema-helpers.js";
import type { PolicyContext } from "../config/section-types.js";
import { closestMatch } from "../shared/did-you-mean.js";
import { secret } from "../shared/secret-field.js";
import {
  NOTIFICATION_EVENTS,
  type NotificationEventName,
  PERSONAL_EVENTS,
  placeholdersOf,
} from "./notification-events.js";
import { compileTemplate } from "./notification-templates.js";
import type { NotifyConfig, NotifyEmailConfig, NotifyTarget, NotifyWebhookConfig } from "./notify-config.js";

/** A webhook name: what routes call the webhook and what `tenure notify test --channel` takes. */
export const WEBHOOK_NAME = /^[a-z][a-z0-9_-]*$/;

const EMAIL_ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;
// `Name <address>` or a bare address.
const FROM_ADDRESS = /^(?:[^<>]*<[^\s@<>,;"]+@[^\s@<>,;"]+>|[^\s@<>,;"]+@[^\s@<>,;"]+)$/;

/** The parts of an `smtp://` / `smtps://` URL, or undefined when it is not one. */
export function parseSmtpUrl(
  url: string,
): Pick<NotifyEmailConfig, "host" | "port" | "secure" | "auth"> | undefined {
  const scheme = /^(smtps?):\/\//i.exec(url);
  if (scheme === null) return undefined;
  const secure = scheme[1]?.toLowerCase() === "smtps";
  const rest = url.slice(scheme[0].length);
  // The last '@' ends the credentials, so an unencoded '@' or '/' in a password still parses.
  const at = rest.lastIndexOf("@");
  const server = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?\/?$/.exec(rest.slice(at + 1));
  if (server === null || server[1] === undefined) return undefined;
  const port = server[2] === undefined ? (secure ? 465 : 587) : Number(server[2]);
  if (port < 1 || port > 65535) return undefined;
  let auth: NotifyEmailConfig["auth"] = null;
  if (at !== -1) {
    const credentials = rest.slice(0, at);
    const colon = credentials.indexOf(":");
    const user = decode(colon === -1 ? credentials : credentials.slice(0, colon));
    const pass = colon === -1 ? "" : decode(credentials.slice(colon + 1));
    if (user === "") return undefined;
    auth = { user, pass };
  }
  return { host: server[1].replace(/^\[|\]$/g, ""), port, secure, auth };
}

// Percent-decoding when the text is validly encoded; otherwise the text as written.
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "";
  } catch {
    return false;
  }
}

const positiveSeconds = "expected a whole number of seconds, at least 1";
const seconds = (fallback: number) =>
  z
    .number({ error: positiveSeconds })
    .int({ error: positiveSeconds })
    .min(1, { error: positiveSeconds })
    .default(fallback);

const SERVER_KEYS = ["host", "port", "secure", "auth"] as const;

const emailSchema = strictObject({
  smtp: secret(
    z.string().refine((url) => parseSmtpUrl(url) !== undefined, {
      error: "expected smtp://USER:PASSWORD@HOST:PORT or smtps://USER:PASSWORD@HOST:PORT",
    }),
  ).optional(),
  host: z.string().min(1, { error: "expected the SMTP server's host name" }).optional(),
  port: z
    .number({ error: "expected a port number from 1 to 65535" })
    .int({ error: "expected a port number from 1 to 65535" })
    .min(1, { error: "expected a port number from 1 to 65535" })
    .max(65535, { error: "expected a port number from 1 to 65535" })
    .optional(),
  secure: z.boolean().optional(),
  requireTLS: z.boolean().default(false),
  auth: strictObject({
    user: secret(z.string().min(1, { error: "expected the SMTP user name" })),
    pass: secret(
      z.string().min(1, { error: "expected the SMTP password, written as ${env:…} or ${file:…}" }),
    ),
  }).optional(),
  from: z.string().regex(FROM_ADDRESS, {
    error: "expected the sender's address, e.g. tenure@example.com or Tenure <tenure@example.com>",
  }),
  timeoutSeconds: seconds(30),
}).superRefine((email, ctx) => {
  if (email.smtp === undefined && email.host === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "expected the SMTP server: smtp: smtp://USER:PASSWORD@HOST:PORT, or host: (with port, auth)",
    });
  }
  if (email.smtp === undefined) return;
  for (const key of SERVER_KEYS) {
    if (email[key] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `'${key}' cannot be combined with smtp: give the server either as a URL or as host, port, secure and auth`,
      });
    }
  }
});

const webhookSchema = strictObject({
  url: secret(z.string().refine(isHttpUrl, { error: "expected an https:// (or http://) URL" })),
  format: z.enum(["slack", "json"]).default("slack"),
  secret: secret(
    z.string().min(16, { error: "expected a signing secret of at least 16 characters, written as ${env:…}" }),
  ).optional(),
  timeoutSeconds: seconds(10),
});

/** A problem found by compiling a template or a recipient placeholder, placed at its character. */
function templateIssue(ctx: z.RefinementCtx, message: string, offset: number): void {
  ctx.addIssue({ code: "custom", message, params: { tenure: VALUE_OFFSET, offset } });
}

function templateText(event: NotificationEventName) {
  const placeholders = placeholdersOf(event);
  return z
    .string()
    .min(1, { error: "expected text; leave the key out to keep the built-in one" })
    .superRefine((text, ctx) => {
      const compiled = compileTemplate(text, placeholders);
      if (!compiled.ok) templateIssue(ctx, compiled.problem.message, compiled.problem.offset);
    });
}

/** An email recipient: an address, or `{{field}}` naming a field of the event that holds one. */
function recipient(event: NotificationEventName) {
  const placeholders = placeholdersOf(event);
  return z.string().superRefine((text, ctx) => {
    if (!text.includes("{{")) {
      if (!EMAIL_ADDRESS.test(text)) {
        ctx.addIssue({
          code: "custom",
          message: "expected an email address, or a placeholder of the event such as {{managerEmail}}",
        });
      }
      return;
    }
    const compiled = compileTemplate(text, placeholders);
    if (!compiled.ok) {
      templateIssue(ctx, compiled.problem.message, compiled.problem.offset);
      return;
    }
    const parts = compiled.template.parts;
    if (parts.length !== 1 || !("placeholder" in parts[0]!)) {
      templateIssue(ctx, "expected either an address or one placeholder alone, e.g. {{managerEmail}}", 0);
    }
  });
}

function targetSchema(event: NotificationEventName) {
  return strictObject({
    email: z.array(recipient(event)).min(1, { error: "expected at least one address" }).optional(),
    webhook: z.string().min(1, { error: "expected the name of a webhook under notify.webhooks" }).optional(),
  }).superRefine((target, ctx) => {
    const given = (target.email === undefined ? 0 : 1) + (target.webhook === undefined ? 0 : 1);
    if (given !== 1) {
      ctx.addIssue({
        code: "custom",
        message:
          given === 0
            ? "expected a target: email: [ADDRESS, …] or webhook: NAME"
            : "expected one target per list item: email: or webhook:, not both",
      });
    }
  });
}

/** The events `notify.securityContacts` receive when `routes:` does not name other targets for them. */
export const SECURITY_CONTACT_EVENTS: readonly NotificationEventName[] = [
  "leaver.deprovisioned",
  "leaver.sla-breached",
];

const perEvent = <T extends z.ZodType>(schema: (event: NotificationEventName) => T) =>
  strictObject(
    Object.fromEntries(NOTIFICATION_EVENTS.map((event) => [event, schema(event).optional()])) as {
      [K in NotificationEventName]: z.ZodOptional<T>;
    },
  ).prefault({});

/**
 * `notify:` — how Tenure tells people: the email server (`email`), named webhooks (`webhooks`), which
 * events go where (`routes`), template overrides (`templates`, placeholders checked here), retries, and
 * the security contacts told about leavers (`securityContacts`, the default route of the leaver events).
 * Defaults as in `NotifyConfig`; references to webhooks and email are checked by {@link resolveNotify}.
 */
export const notifySection = strictObject({
  email: emailSchema.optional(),
  webhooks: z
    .record(
      z.string().regex(WEBHOOK_NAME, {
        error: "a webhook name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
      }),
      webhookSchema,
    )
    .default({}),
  routes: perEvent((event) => z.array(targetSchema(event))),
  templates: perEvent((event) =>
    strictObject({ subject: templateText(event).optional(), text: templateText(event).optional() }),
  ),
  retry: retrySchema({ maxAttempts: 10, baseDelaySeconds: 60, maxDelaySeconds: 3600 }),
  securityContacts: z
    .array(z.string().regex(EMAIL_ADDRESS, { error: "expected an email address, e.g. security@example.com" }))
    .default([]),
  unreachableWindowMinutes: z
    .number({ error: "expected a whole number of minutes, at least 1" })
    .int({ error: "expected a whole number of minutes, at least 1" })
    .min(1, { error: "expected a whole number of minutes, at least 1" })
    .default(60),
});

export type NotifyFile = z.output<typeof notifySection>;

/**
 * Builds `NotifyConfig`: the SMTP server from its URL or keys, each webhook named after its key, and
 * reports every route naming a webhook that is not configured, or sending email without `notify.email`.
 */
export function resolveNotify(value: NotifyFile, ctx: PolicyContext): NotifyConfig {
  const webhooks: Record<string, NotifyWebhookConfig> = {};
  for (const [name, webhook] of Object.entries(value.webhooks)) {
    webhooks[name] = {
      name,
      url: webhook.url,
      format: webhook.format,
      secret: webhook.secret ?? null,
      timeoutSeconds: webhook.timeoutSeconds,
    };
  }
  const names = Object.keys(webhooks);
  const routes: Partial<Record<NotificationEventName, NotifyTarget[]>> = {};
  for (const event of NOTIFICATION_EVENTS) {
    const targets = value.routes[event];
    if (targets === undefined) continue;
    routes[event] = targets.map((target, i) => {
      const path = ["notify", "routes", event, i];
      if (target.webhook !== undefined) {
        if (!Object.hasOwn(webhooks, target.webhook)) {
          ctx.report([...path, "webhook"], unknownWebhookMessage(target.webhook, names));
        }
        return { webhook: target.webhook };
      }
      if (value.email === undefined) {
        ctx.report(
          [...path, "email"],
          "email is not configured: add notify.email (the SMTP server and from address)",
        );
      }
      return { email: [...(target.email ?? [])] };
    });
  }
  // A person-directed event (an approver asked to decide, a requester told) goes to that person by email
  // unless routes say otherwise.
  if (value.email !== undefined) {
    for (const event of PERSONAL_EVENTS) routes[event] ??= [{ email: ["{{to}}"] }];
  }
  // The leaver notices go to the security contacts, in one message per leaver, unless routes say otherwise.
  if (value.securityContacts.length > 0) {
    if (value.email === undefined) {
      ctx.report(
        ["notify", "securityContacts"],
        "email is not configured: add notify.email (the SMTP server and from address) to tell the security contacts",
      );
    }
    for (const event of SECURITY_CONTACT_EVENTS) routes[event] ??= [{ email: [...value.securityContacts] }];
  }
  const templates: NotifyConfig["templates"] = Object.fromEntries(
    Object.entries(value.templates)
      .filter(([, template]) => template !== undefined)
      .map(([event, template]) => [event, { ...template }]),
  );
  return {
    email: value.email === undefined ? null : resolveEmail(value.email),
    webhooks,
    routes,
    templates,
    retry: { ...value.retry },
    unreachableWindowMinutes: value.unreachableWindowMinutes,
  };
}

function resolveEmail(email: NonNullable<NotifyFile["email"]>): NotifyEmailConfig {
  const common = { requireTLS: email.requireTLS, from: email.from, timeoutSeconds: email.timeoutSeconds };
  const fromUrl = email.smtp === undefined ? undefined : parseSmtpUrl(email.smtp);
  if (fromUrl !== undefined) return { ...fromUrl, ...common };
  const secure = email.secure ?? email.port === 465;
  return {
    host: email.host ?? "",
    port: email.port ?? (secure ? 465 : 587),
    secure,
    auth: email.auth === undefined ? null : { user: email.auth.user, pass: email.auth.pass },
    ...common,
  };
}

function unknownWebhookMessage(name: string, webhooks: readonly string[]): string {
  const suggestion = closestMatch(name, webhooks);
  if (suggestion !== undefined) return `unknown webhook '${name}' — did you mean '${suggestion}'?`;
  if (webhooks.length === 0)
    return `unknown webhook '${name}': no webhooks are configured under notify.webhooks`;
  return `unknown webhook '${name}': notify.webhooks has ${webhooks.join(", ")}`;
}

const REFERENCE = /^\$\{(env|file):[^}]*\}$/;

/**
 * `notify` with its secrets hidden, for anything that prints a config: the SMTP password and webhook
 * secrets become `***`, a webhook URL (whose path often is the token) keeps only its origin. A value
 * shown as the reference it was written as (`${env:SLACK_WEBHOOK}`) is kept: it names where the secret
 * lives, not the secret.
 */
export function redactNotify(notify: NotifyConfig): NotifyConfig {
  const hide = (value: string) => (REFERENCE.test(value) ? value : "***");
  const webhooks: Record<string, NotifyWebhookConfig> = {};
  for (const [name, webhook] of Object.entries(notify.webhooks)) {
    let url = webhook.url;
    if (!REFERENCE.test(url)) {
      try {
        url = `${new URL(url).origin}/***`;
      } catch {
        url = "***";
      }
    }
    webhooks[name] = { ...webhook, url, secret: webhook.secret === null ? null : hide(webhook.secret) };
  }
  const email =
    notify.email === null
      ? null
      : {
          ...notify.email,
          auth:
            notify.email.auth === null ? null : { ...notify.email.auth, pass: hide(notify.email.auth.pass) },
        };
  return { ...notify, email, webhooks };
}
