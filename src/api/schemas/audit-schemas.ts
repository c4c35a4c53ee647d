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
