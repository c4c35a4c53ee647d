import { z } from "zod";
import { openObject, planHashSchema } from "./common-schemas.js";

/** Most records one request may carry; a bigger load is several requests (or a CSV source). */
export const MAX_RECORDS_PER_PUSH = 1000;

export const sourceNameParams = z.strictObject({
  name: z.string().min(1).describe("a source of type push, as named under sources: in tenure.yaml"),
});

export const pushRecordsQuery = z.strictObject({
  confirmMassChange: planHashSchema
    .optional()
    .describe(
      "admin tokens only (an hr-source token gets 403): the plan hash of a push stopped by mass-change " +
        "protection (409 `mass_change` error.planHash); the same records pushed again with it go through " +
        "if they plan to that hash now (else 409 `plan_changed`); the audit records the token's name",
    ),
});

const pushedRecordSchema = z
  .record(z.string(), z.string().nullable())
  .describe(
    "one person's whole record: the source's field names (its `columns`, else the attribute names) → text; " +
      "a field left out, null or empty is empty, as an empty CSV cell",
  );

export const pushRecordsBody = z.strictObject({
  records: z.array(pushedRecordSchema).min(1).max(MAX_RECORDS_PER_PUSH),
});

const findingSchema = openObject({
  row: z.number().int(),
  key: z.string().nullable(),
  code: z.string(),
  severity: z.enum(["error", "warning"]),
  field: z.string().optional(),
  message: z.string(),
});

export const pushResultSchema = z
  .object({
    source: z.string(),
    summary: z
      .object({
        created: z.number().int(),
        updated: z.number().int(),
        unchanged: z.number().int(),
        rehired: z.number().int(),
        terminated: z.number().int(),
        rejected: z.number().int(),
      })
      .describe("how many records had each status"),
    results: z.array(
      z.object({
        row: z.number().int().describe("1-based position of the record in `records`"),
        key: z.string().nullable(),
        identityId: z.string().nullable(),
        status: z.enum(["created", "updated", "unchanged", "rehired", "terminated", "rejected"]),
        findings: z.array(findingSchema).describe("what data quality found: errors reject the record"),
      }),
    ),
    operations: z
      .object({
        queued: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int().describe("attempted; a retry is due later"),
        dead: z.number().int(),
        pending: z.number().int().describe("not finished when the push answered"),
      })
      .describe("the operations this push queued and where they stand"),
    recomputed: z
      .number()
      .int()
      .describe("identities planned: the changed people and the reports of changed managers"),
    problems: z.array(
      openObject({
        kind: z.string(),
        identityId: z.string().nullable(),
        system: z.string(),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: "PushResult" });
