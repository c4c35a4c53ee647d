import { z } from "zod";
import { describeEvent } from "../../audit/event-summary.js";
import type { AuditEvent } from "../../audit/ledger.js";
import { instantQuery, pageOf, pageQuery } from "./common-schemas.js";

export const auditEventSchema = z
  .object({
    seq: z.number().int(),
    time: z.string(),
    actor: z.string(),
    action: z.string(),
    subject: z.string(),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
    summary: z
      .string()
      .describe("what the event changed, in words (as `tenure audit log` prints it); not hashed"),
  })
  .meta({ id: "AuditEvent" });

/** An event as the API answers it: the ledger's fields and a summary in words. */
export function withSummary<E extends Pick<AuditEvent, "action" | "details">>(e: E): E & { summary: string } {
  return { ...e, summary: describeEvent(e) };
}

export const auditEventPage = pageOf(auditEventSchema);

export const auditQuery = z.strictObject({
  identity: z
    .string()
    .min(1)
    .optional()
    .describe("only events about this identity (id, source key or email)"),
  action: z.string().min(1).optional().describe("only this action, e.g. identity.state_changed"),
  since: instantQuery.optional().describe("only events at or after this time"),
  until: instantQuery.optional().describe("only events before this time"),
  ...pageQuery,
});

export const timelineQuery = z.strictObject({ ...pageQuery });

export const seqCursor = z.object({ seq: z.number().int() });

export const publishedHeadSchema = z
  .object({
    seq: z.number().int().describe("the last event the head covers"),
    hash: z.string().describe("that event's hash"),
    time: z.string().describe("when the head was signed"),
    keyId: z.string().describe("first 16 hex digits of the SHA-256 of the raw Ed25519 public key"),
    signature: z.string().describe('Ed25519 over the canonical JSON {"hash","seq","time"}, base64'),
    publishedAt: z.string(),
    pendingSinks: z
      .array(z.string())
      .describe("sinks that have not received it yet (retried at the next run)"),
    lastError: z.string().nullable(),
  })
  .meta({ id: "PublishedHead" });

export const publishedHeadPage = pageOf(publishedHeadSchema).extend({
  keyId: z.string().nullable().describe("the configured signing key's id; null when none is configured"),
  publicKey: z.string().nullable().describe("its public key (SPKI PEM), to verify heads and exports with"),
});

export const headsQuery = z.strictObject({ ...pageQuery });
