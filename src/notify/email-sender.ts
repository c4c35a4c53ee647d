import nodemailer from "nodemailer";
import { NotificationDeliveryError, safeMessage } from "./delivery-errors.js";
import type { NotifyEmailConfig } from "./notify-config.js";

/** One plain-text email. */
export interface EmailMessage {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

/** The slice of a nodemailer transporter this sender uses. */
interface MailTransport {
  sendMail(message: { from: string; to: string[]; subject: string; text: string }): Promise<unknown>;
  close(): void;
}

export interface EmailSender {
  /**
   * Sends one message over SMTP; resolves once the server accepted it for every recipient.
   * @throws NotificationDeliveryError (message free of secrets) when it could not: connection
   *   refused, TLS, authentication, a recipient refused, a timeout.
   */
  send(message: EmailMessage): Promise<void>;
  /** Closes the SMTP connection, if one is open. */
  close(): void;
}

/**
 * An SMTP sender (nodemailer) for `notify.email`. `smtp://` upgrades with STARTTLS when the server
 * offers it (`requireTLS` makes that mandatory); `smtps://` speaks TLS from the start. Certificates are
 * verified. nodemailer's own logging stays off, and it may not read files or URLs named in a message.
 * `secrets` are masked in every error.
 */
export function createEmailSender(config: NotifyEmailConfig, secrets: readonly string[]): EmailSender {
  const timeout = config.timeoutSeconds * 1000;
  const transport: MailTransport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: config.requireTLS,
    ...(config.auth === null ? {} : { auth: { user: config.auth.user, pass: config.auth.pass } }),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const server = `${config.host}:${config.port}`;
  return {
    async send(message) {
      try {
        await transport.sendMail({
          from: config.from,
          to: [...message.to],
          subject: message.subject,
          text: message.text,
        });
      } catch (error) {
        throw new NotificationDeliveryError(safeMessage(`email via ${server}: ${describe(error)}`, secrets));
      }
    },
    close() {
      transport.close();
    },
  };
}

/** nodemailer's error code (EAUTH, ECONNECTION …), the SMTP reply code and its message. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
  const prefix = [typeof code === "string" ? code : "", typeof responseCode === "number" ? responseCode : ""]
    .filter((part) => part !== "")
    .join(" ");
  return prefix === "" ? error.message : `${prefix}: ${error.message}`;
}
