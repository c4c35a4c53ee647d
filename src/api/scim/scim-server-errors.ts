import type { FastifyError } from "fastify";
import { ConnectorError } from "../../connectors/connector-types.js";
import { TenureError } from "../../shared/errors.js";
import { isUniqueViolation } from "../../store/store-errors.js";
import { TooManyFailuresError } from "../auth/auth-errors.js";
import { ERROR_SCHEMA } from "./scim-server-schemas.js";

/** The `scimType` values of RFC 7644 §3.12 that Tenure's server answers with. */
export type ScimType =
  | "invalidFilter"
  | "tooMany"
  | "uniqueness"
  | "mutability"
  | "invalidSyntax"
  | "invalidPath"
  | "noTarget"
  | "invalidValue"
  | "invalidVers";

/** A refusal of a SCIM request: the HTTP status, the RFC 7644 scimType (400 and 409 only), what is wrong. */
export class ScimError extends TenureError {
  readonly scimType: ScimType | undefined;
  constructor(status: number, detail: string, scimType?: ScimType) {
    super(scimType === undefined ? `scim_${status}` : `scim_${scimType}`, detail, { httpStatus: status });
    this.scimType = scimType;
  }
}

export const invalidValue = (detail: string) => new ScimError(400, detail, "invalidValue");

/** The RFC 7644 §3.12 error body. `status` is a string there. */
export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: ScimType;
  detail: string;
}

export interface MappedScimError {
  status: number;
  body: ScimErrorBody;
  headers: Record<string, string>;
  /** The server's fault: logged with its stack; the client sees only the request id. */
  internal: boolean;
}

const FASTIFY: Record<
  string,
  { status: number; scimType?: ScimType; detail: (err: FastifyError) => string }
> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    scimType: "invalidSyntax",
    detail: () => "the request body is not valid JSON",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    scimType: "invalidSyntax",
    detail: () => "the request body is empty; a JSON object was expected",
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    detail: () => "the request body is larger than this server accepts (server.bodyLimit)",
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    detail: (err) => `${err.message}; send application/scim+json or application/json`,
  },
};

function body(status: number, detail: string, scimType?: ScimType): ScimErrorBody {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(status),
    ...(scimType !== undefined ? { scimType } : {}),
    detail,
  };
}

/**
 * The one mapping point from anything thrown while handling a SCIM request to the RFC 7644 error body
 * (docs/architecture.md "Errors"): ScimError as it says; other Tenure errors (authentication 401, role 403, the
 * failed-authentication limit 429, not found 404) with their status and message; fastify's body errors
 * (malformed JSON 400 invalidSyntax, too large 413, media type 415); a unique violation a racing writer
 * hit 409 uniqueness; a connected system that failed 502/503; anything else 500 with only the request id.
 */
export function toScimError(err: unknown, requestId: string): MappedScimError {
  if (err instanceof ScimError) {
    return {
      status: err.httpStatus,
      body: body(err.httpStatus, err.message, err.scimType),
      headers: {},
      internal: false,
    };
  }
  if (err instanceof TenureError && err.httpStatus < 500) {
    const headers: Record<string, string> = {};
    if (err instanceof TooManyFailuresError) headers["retry-after"] = String(err.retryAfterSeconds);
    const status = err.httpStatus === 422 ? 400 : err.httpStatus;
    return {
      status,
      body: body(
        status,
        err.message,
        status === 400 ? "invalidValue" : err.code === "key_taken" ? "uniqueness" : undefined,
      ),
      headers,
      internal: false,
    };
  }
  if (err instanceof ConnectorError) {
    // A connected system failed while the change was passed on: upstream, not this server's fault.
    return {
      status: err.httpStatus,
      body: body(err.httpStatus, err.message),
      headers: err.retryable ? { "retry-after": "60" } : {},
      internal: false,
    };
  }
  if (isUniqueViolation(err)) {
    return {
      status: 409,
      body: body(
        409,
        "another resource took that name or key meanwhile; read it and try again",
        "uniqueness",
      ),
      headers: {},
      internal: false,
    };
  }
  const fe = err as FastifyError;
  const known = typeof fe?.code === "string" ? FASTIFY[fe.code] : undefined;
  if (known !== undefined) {
    return {
      status: known.status,
      body: body(known.status, known.detail(fe), known.scimType),
      headers: {},
      internal: false,
    };
  }
  if (typeof fe?.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: body(fe.statusCode, fe.message), headers: {}, internal: false };
  }
  return {
    status: 500,
    body: body(500, `internal error; the server log has the details under request id ${requestId}`),
    headers: {},
    internal: true,
  };
}
