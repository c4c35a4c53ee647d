import type { IncomingHttpHeaders } from "node:http";

/** A caller's own request id: bounded, and only characters safe in logs, headers and URLs. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** W3C Trace Context: version-traceid-parentid-flags, lower-case hex (www.w3.org/TR/trace-context). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * The id a caller gave its request, to be ours too (request id, trace id of what it queues), so its
 * logs and ours line up: `X-Request-Id` when it is 1 to 64 of `A-Z a-z 0-9 . _ : -`, else the trace id
 * of a valid `traceparent` (version not ff, ids not all zeros), else null (the server makes one).
 * Anything else — too long, other characters, repeated headers — is ignored, never echoed.
 */
export function incomingTraceId(headers: IncomingHttpHeaders): string | null {
  const given = headers["x-request-id"];
  if (typeof given === "string" && REQUEST_ID.test(given)) return given;
  const parent = headers.traceparent;
  if (typeof parent !== "string") return null;
  const m = TRACEPARENT.exec(parent.trim());
  if (m === null) return null;
  const [, version, traceId, parentId] = m;
  if (version === "ff" || /^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return null;
  return traceId!;
}
