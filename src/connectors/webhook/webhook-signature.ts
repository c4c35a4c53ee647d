import { createHmac, timingSafeEqual } from "node:crypto";

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = "Tenure-Signature";

/** The HMAC-SHA256, hex, of `<timestamp>.<body>` under `secret`. */
export function computeWebhookSignature(
  secret: string,
  timestamp: number,
  body: string | Uint8Array,
): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
}

/** The `Tenure-Signature` header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhookBody(secret: string, timestamp: number, body: string | Uint8Array): string {
  return `t=${timestamp},v1=${computeWebhookSignature(secret, timestamp, body)}`;
}

/**
 * For receivers: whether `header` (the `Tenure-Signature` value, `t=<unix>,v1=<hex>`) is a valid
 * signature of `body` (the raw request body, exactly as received, before any JSON parsing) under
 * `secret`, made within `toleranceSeconds` of `now` (either way). Requests outside that window are
 * refused, so a captured request cannot be replayed later. Several `v1=` entries are accepted (any one
 * may match, for key rotation). Comparison is constant-time. Never throws on malformed input.
 *
 * @param now the receiver's current time: a Date or milliseconds since the epoch (`Date.now()`).
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | readonly string[] | null | undefined,
  body: string | Uint8Array,
  now: Date | number,
  toleranceSeconds = 300,
): boolean {
  if (typeof header !== "string" || secret === "") return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return false;
      timestamp = Number(value);
    } else if (key === "v1" && /^[0-9a-f]{64}$/i.test(value)) {
      candidates.push(value.toLowerCase());
    }
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  const nowSeconds = Math.floor((typeof now === "number" ? now : now.getTime()) / 1000);
  if (!Number.isFinite(nowSeconds) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(computeWebhookSignature(secret, timestamp, body), "hex");
  let ok = false;
  for (const candidate of candidates) {
    if (timingSafeEqual(expected, Buffer.from(candidate, "hex"))) ok = true;
  }
  return ok;
}
