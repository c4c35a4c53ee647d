import { ConnectorError } from "../connector-types.js";
import { networkError } from "../http-errors.js";
import { errorForStatus } from "./webhook-errors.js";
import { SIGNATURE_HEADER, signWebhookBody } from "./webhook-signature.js";

/** One signed POST: where, with which key, and what may never appear in a message. */
export interface SignedPost {
  system: string;
  /** What the request does, for messages: `rotation sink delivery of svc_app`. */
  doing: string;
  url: string;
  /** The HMAC-SHA256 key of the `Tenure-Signature` header. */
  key: string;
  timeoutMs: number;
  /** Masks the URL, the key and any secret of the body in a message. */
  redact: (text: string) => string;
}

/**
 * POSTs `body` (JSON text) signed as the webhook connector signs (`Tenure-Signature: t=…,v1=…` over
 * `<unix seconds>.<body>`), redirects not followed, and returns the parsed JSON answer of a 2xx (undefined
 * when it is empty or not JSON). Used by the rotation sink and the rotation webhook, which carry secrets:
 * the body is never put in a message and the answer's text only through `redact`.
 * @throws ConnectorError for a network failure, a timeout or a non-2xx answer (webhook-errors' mapping).
 */
export async function postSignedJson(request: SignedPost, body: string, now: Date): Promise<unknown> {
  const { system, url, redact } = request;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        [SIGNATURE_HEADER]: signWebhookBody(request.key, Math.floor(now.getTime() / 1000), body),
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    throw networkError(system, "POST", url, request.timeoutMs, error, redact);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw networkError(system, "POST", url, request.timeoutMs, error, redact);
  }
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  if (response.status < 200 || response.status > 299) {
    throw errorForStatus(system, request.doing, "POST", url, response, parsed, redact);
  }
  return parsed;
}

/** A ConnectorError for an answer that is not what the receiver should have said. */
export function unexpectedAnswer(system: string, doing: string, expected: string): ConnectorError {
  return new ConnectorError(system, "invalid", `${doing}: the webhook answered 2xx without ${expected}`, {
    retryable: false,
  });
}
