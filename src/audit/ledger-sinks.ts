import { createHash } from "node:crypto";
import { mkdir, open } from "node:fs/promises";
import path from "node:path";
import { SIGNATURE_HEADER, signWebhookBody } from "../connectors/webhook/webhook-signature.js";
import { TenureError } from "../shared/errors.js";
import { notificationRepository } from "../store/notification-repository.js";
import type { Db } from "../store/schema-types.js";
import type { HeadSinkConfig } from "./audit-config.js";
import type { SignedHead } from "./ledger-signing.js";

/** The notification event name of a head sent by email (the outbox row's `event`). */
export const HEAD_EMAIL_EVENT = "audit.head_published";

/**
 * A sink's stable id, recorded in `ledger_heads.pending_sinks`: `file:PATH`, `email:ADDRESSES`, or
 * `webhook:ORIGIN#HASH` — a webhook URL may hold a token, so only its origin and a digest of it are kept.
 */
export function sinkId(sink: HeadSinkConfig): string {
  switch (sink.kind) {
    case "file":
      return `file:${sink.path}`;
    case "email":
      return `email:${sink.to.join(",")}`;
    case "webhook":
      return `webhook:${originOf(sink.url)}#${createHash("sha256").update(sink.url).digest("hex").slice(0, 8)}`;
  }
}

/** One line of a heads file, and the body POSTed to a webhook: the signed head as JSON. */
export function headLine(head: SignedHead): string {
  return JSON.stringify({
    seq: head.seq,
    hash: head.hash,
    time: head.time,
    keyId: head.keyId,
    signature: head.signature,
  });
}

export interface SinkContext {
  /** The transaction-capable database, for the email sink's outbox row. */
  db: Db;
  now: Date;
  /** Delivery attempts of an emailed head (notify.retry.maxAttempts). */
  emailMaxAttempts: number;
}

/**
 * Hands `head` to `sink`. File: appends one JSON line, created with mode 0600, fsynced before it returns.
 * Webhook: POSTs the line (signed with `Tenure-Signature` when the sink has a secret); any 2xx is done.
 * Email: queues one message in the notification outbox (delivered by the `notify` job).
 * @throws TenureError `head_sink_failed` with a message free of the URL's path and of secrets.
 */
export async function deliverHead(sink: HeadSinkConfig, head: SignedHead, ctx: SinkContext): Promise<void> {
  switch (sink.kind) {
    case "file":
      return appendHeadToFile(sink.path, head);
    case "webhook":
      return postHead(sink, head, ctx.now);
    case "email":
      await notificationRepository.insertMany(
        ctx.db,
        [
          {
            event: HEAD_EMAIL_EVENT,
            dedupeKey: `ledger-head:${head.keyId}:${head.seq}:${sink.to.join(",")}`,
            channel: "email",
            recipient: sink.to.join(", "),
            subject: `Tenure audit ledger head: event ${head.seq}`,
            body:
              `The audit ledger's head, signed by key ${head.keyId} at ${head.time}.\n` +
              "Keep this message: `tenure audit verify --heads FILE` checks the ledger against heads kept outside it.\n\n" +
              `${headLine(head)}\n`,
            payload: { ...head },
            maxAttempts: ctx.emailMaxAttempts,
          },
        ],
        ctx.now,
      );
      return;
  }
}

async function appendHeadToFile(file: string, head: SignedHead): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const handle = await open(file, "a", 0o600);
    try {
      await handle.appendFile(`${headLine(head)}\n`, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new TenureError(
      "head_sink_failed",
      `file ${file}: ${typeof code === "string" ? code : "write failed"}`,
    );
  }
}

async function postHead(
  sink: Extract<HeadSinkConfig, { kind: "webhook" }>,
  head: SignedHead,
  now: Date,
): Promise<void> {
  const where = `webhook POST ${originOf(sink.url)}/…`;
  const body = headLine(head);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (sink.secret !== null) {
    headers[SIGNATURE_HEADER] = signWebhookBody(sink.secret, Math.floor(now.getTime() / 1000), body);
  }
  let response: Response;
  try {
    response = await fetch(sink.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(sink.timeoutSeconds * 1000),
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
    const code = (cause as { code?: unknown } | undefined)?.code;
    const reason =
      name === "TimeoutError" || name === "AbortError"
        ? `no answer within ${sink.timeoutSeconds} s`
        : typeof code === "string"
          ? code
          : "network error";
    throw new TenureError("head_sink_failed", `${where}: ${reason}`);
  }
  // Read the answer either way, so the connection is released; its text is not repeated (it may echo the URL).
  await response.text().catch(() => "");
  if (response.status < 200 || response.status > 299) {
    throw new TenureError("head_sink_failed", `${where} answered HTTP ${response.status}`);
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}
