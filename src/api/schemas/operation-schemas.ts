import { z } from "zod";
import { OPERATION_STATES } from "../../store/operation-repository.js";
import { lineageSchema, pageOf, pageQuery } from "./common-schemas.js";

const OPERATION_KINDS = [
  "create",
  "update",
  "enable",
  "disable",
  "delete",
  "grant",
  "revoke",
  "rotate",
] as const;

/** One change to one system, as a plan proposes it. */
export const plannedOperationSchema = z
  .object({
    system: z.string(),
    kind: z.enum(OPERATION_KINDS),
    identityId: z.string().nullable(),
    username: z.string(),
    nativeId: z.string().nullable(),
    entitlement: z.string().nullable(),
    attributes: z.record(z.string(), z.string().nullable()).nullable(),
    enabled: z.boolean().nullable(),
    lineage: z.array(lineageSchema),
    reason: z.string(),
    idempotencyKey: z.string(),
    drift: z.boolean(),
  })
  .meta({ id: "PlannedOperation" });

/** A durable operation row: the planned change and its progress. */
export const operationSchema = plannedOperationSchema
  .extend({
    id: z.string(),
    state: z.enum(OPERATION_STATES),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    nextAttemptAt: z.string(),
    lastError: z.string().nullable(),
    claimedBy: z.string().nullable(),
    seq: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    traceId: z
      .string()
      .nullable()
      .describe(
        "The trace that queued it: the request id of the push (its X-Request-Id or traceparent trace id when sent), a CLI sync/apply run, or a scheduled run; log lines about it carry the same traceId",
      ),
  })
  .meta({ id: "Operation" });

export const operationPage = pageOf(operationSchema);

export const operationListQuery = z.strictObject({
  state: z.enum(OPERATION_STATES).optional(),
  system: z.string().min(1).optional(),
  traceId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, "a trace id is 1 to 64 of A-Z a-z 0-9 . _ : -")
    .optional()
    .describe("Only the operations queued under this trace id (a push's request id)"),
  ...pageQuery,
});

export const operationCursor = z.object({ seq: z.number().int(), id: z.string() });

export const operationIdParams = z.strictObject({ id: z.string().min(1).max(100) });

export const queueCountsSchema = z.record(z.enum(OPERATION_STATES), z.number().int());
