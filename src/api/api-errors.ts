import type { FastifyError } from "fastify";
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from "fastify-type-provider-zod";
import { z } from "zod";
import { ConnectorError } from "../connectors/connector-types.js";
import { InvalidInputError, MassChangeError, PlanChangedError, TenureError } from "../shared/errors.js";
import { TooManyFailuresError } from "./auth/auth-errors.js";

/**
 * The one shape of every error the API returns. `code` is stable and machine-readable; `message`
 * says what went wrong in words; `details` says where (`body.name`, `query.limit`, `params.id`).
 * 500s carry `requestId` (the same id is in the server log) and never a stack trace.
 */
export const apiErrorSchema = z
  .object({
    error: z.object({
      code: z.string().describe("stable machine-readable code, e.g. invalid_request, unauthenticated"),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })),
      requestId: z.string().optional(),
      counts: z
        .record(z.string(), z.object({ disable: z.number(), delete: z.number(), total: z.number() }))
        .optional()
        .describe(
          "mass_change only: per `source:NAME` (identities it would terminate, as disable) and `system:NAME` " +
            "(accounts it would disable and delete), with the population (total)",
        ),
      system: z.string().optional().describe("system_* codes: the system that failed"),
      retryable: z
        .boolean()
        .optional()
        .describe("system_* codes: whether the same request may succeed later (503) or not (502)"),
      planHash: z
        .string()
        .optional()
        .describe(
          "mass_change: the stopped plan's hash (confirmMassChange takes it); plan_changed: the new plan's",
        ),
    }),
  })
  .meta({ id: "Error" });

export type ApiErrorBody = z.output<typeof apiErrorSchema>;
export type ApiErrorDetail = ApiErrorBody["error"]["details"][number];

/** A request the schema could not catch (a cursor that does not decode, a name not configured): 400. */
export class BadRequestError extends TenureError {
  readonly detail: ApiErrorDetail;
  constructor(path: string, message: string) {
    super("invalid_request", `the request is not valid: ${path}: ${message}`, { httpStatus: 400 });
    this.detail = { path, message };
  }
}

export interface MappedError {
  status: number;
  body: ApiErrorBody;
  headers: Record<string, string>;
  /** Whether it is the server's fault (logged as an error with its stack; the caller sees none of it). */
  internal: boolean;
}

const CONTEXT_NAMES: Record<string, string> = {
  querystring: "query",
  params: "params",
  body: "body",
  headers: "headers",
};

function joinPath(context: string, instancePath: string, key?: string): string {
  const parts = instancePath.split("/").filter((p) => p !== "");
  if (key !== undefined) parts.push(key);
  return [context, ...parts].join(".");
}

/** What each zod issue of a request validation says, one detail per unknown field. */
function validationDetails(err: FastifyError): ApiErrorDetail[] {
  const context = CONTEXT_NAMES[String(err.validationContext ?? "body")] ?? "body";
  return (err.validation ?? []).flatMap((v) => {
    const params = (v.params ?? {}) as { keys?: unknown };
    if (v.keyword === "unrecognized_keys" && Array.isArray(params.keys)) {
      return params.keys.map((key) => ({
        path: joinPath(context, v.instancePath, String(key)),
        message: "unknown field",
      }));
    }
    return [{ path: joinPath(context, v.instancePath), message: v.message ?? "invalid" }];
  });
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "malformed_json",
  FST_ERR_CTP_EMPTY_JSON_BODY: "malformed_json",
  FST_ERR_CTP_BODY_TOO_LARGE: "body_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "bad_request",
};

function body(code: string, message: string, details: ApiErrorDetail[] = []): ApiErrorBody {
  return { error: { code, message, details } };
}

/**
 * The one mapping point from anything thrown while handling a request to the API error shape
 * (docs/architecture.md "Errors"): request validation → 400 with a detail per problem; TenureError → its own status
 * and code; fastify's own 4xx (malformed JSON, body too large, media type) → their status; anything
 * else → 500 with a generic message and the request id.
 */
export function toApiError(err: unknown, requestId: string): MappedError {
  const fe = err as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fe)) {
    const details = validationDetails(fe);
    const where = details.map((d) => d.path).join(", ");
    return {
      status: 400,
      body: body("invalid_request", `the request is not valid: ${where}`, details),
      headers: {},
      internal: false,
    };
  }
  if (err instanceof TenureError) {
    const details: ApiErrorDetail[] =
      err instanceof InvalidInputError
        ? err.details.map((message) => ({ path: "", message }))
        : err instanceof BadRequestError
          ? [err.detail]
          : [];
    const mapped = body(err.code, err.message, details);
    const headers: Record<string, string> = {};
    if (err instanceof MassChangeError) {
      mapped.error.counts = err.counts;
      mapped.error.planHash = err.planHash;
      mapped.error.details = Object.entries(err.counts).map(([path, c]) => ({
        path,
        message: path.startsWith("source:")
          ? `would terminate ${c.disable} of ${c.total} identities`
          : `would disable ${c.disable} and delete ${c.delete} of ${c.total} accounts`,
      }));
    }
    if (err instanceof PlanChangedError) {
      mapped.error.planHash = err.planHash;
      mapped.error.details = [
        { path: "confirmMassChange", message: `confirmed ${err.confirmed}, plan now ${err.planHash}` },
      ];
    }
    if (err instanceof ConnectorError) {
      mapped.error.system = err.system;
      mapped.error.retryable = err.retryable;
      if (err.retryable) headers["retry-after"] = "60";
    }
    if (err instanceof TooManyFailuresError) headers["retry-after"] = String(err.retryAfterSeconds);
    // A failed system (502/503) is not the server's fault: no stack in the log, no request id needed.
    const internal = err.httpStatus >= 500 && !(err instanceof ConnectorError);
    if (internal) mapped.error.requestId = requestId;
    return { status: err.httpStatus, body: mapped, headers, internal };
  }
  if (!isResponseSerializationError(fe as never) && typeof fe.statusCode === "number") {
    const status = fe.statusCode;
    if (status >= 400 && status < 500) {
      const code = FASTIFY_CODES[fe.code] ?? (status === 404 ? "not_found" : "bad_request");
      return { status, body: body(code, fe.message), headers: {}, internal: false };
    }
  }
  const mapped = body(
    "internal",
    `internal error; the server log has the details under request id ${requestId}`,
  );
  mapped.error.requestId = requestId;
  return { status: 500, body: mapped, headers: {}, internal: true };
}
