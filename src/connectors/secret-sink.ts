import path from "node:path";
import { z } from "zod";
import { redactor } from "../shared/redact.js";
import { secret } from "../shared/secret-field.js";
import { appendSinkLine, passwordSinkSchema } from "./password-sink.js";
import { postSignedJson } from "./webhook/webhook-post.js";
import { httpUrl } from "./webhook/webhook-schemas.js";

/**
 * Where a rotated credential goes (tenure.yaml `nhi.rotation.sink`), extending the connectors' password
 * sink: the same 0600 file with one JSON line per message, or a signed webhook.
 *
 * A rotation sends the sink two messages: the new secret, marked `pending`, before the target is touched
 * (a credential nobody knows is worse than an unused secret in the sink), then a message without the
 * secret saying what became of it: `active` (verified, in force) or `abandoned` (the target kept the old
 * one). The sink is the only place the secret is ever written.
 */
const webhookSinkSchema = z.strictObject({
  /** Where each message is POSTed as JSON. */
  url: secret(httpUrl),
  /** The HMAC-SHA256 key of the `Tenure-Signature` header (as the webhook connector signs). */
  secret: secret(z.string().min(16, { error: "must be at least 16 characters" })),
  /** Per-request timeout in milliseconds. */
  timeoutMs: z.number().int().positive().default(10_000),
});

/** The sink: `{file}` or `{webhook: {url, secret, timeoutMs}}`. */
export type SecretSink = { readonly file: string } | { readonly webhook: z.output<typeof webhookSinkSchema> };

// One object with both keys optional rather than a union: the config loader finds the secret fields
// (the webhook's url and secret) by walking the schema, which a union without a discriminator hides.
export const secretSinkSchema = z
  .strictObject({
    /** A file each message is appended to as one JSON line; mode 0600 (as the password sink's). */
    file: passwordSinkSchema.shape.file.optional(),
    webhook: webhookSinkSchema.optional(),
  })
  .superRefine((sink, ctx) => {
    if ((sink.file === undefined) === (sink.webhook === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "give either file: PATH or webhook: { url, secret }, not both or neither",
      });
    }
  })
  .transform(
    (sink): SecretSink => (sink.webhook === undefined ? { file: sink.file! } : { webhook: sink.webhook }),
  );

/** What a rotation delivers: the new secret, before it is set anywhere. */
export interface SecretDelivery {
  rotationId: string;
  system: string;
  username: string;
  secret: string;
  at: Date;
}

/** What became of a delivered secret; carries no secret. */
export interface SecretOutcome {
  rotationId: string;
  system: string;
  username: string;
  /** `active`: verified and in force. `abandoned`: not in force; the old credential is. */
  state: "active" | "abandoned";
  at: Date;
}

/**
 * Delivers the new secret, marked `pending`: a file line `{system, username, secret, at, rotationId,
 * state}` (0600, synced), or the same JSON POSTed signed to the webhook, which must answer 2xx.
 * @throws ConnectorError naming the sink (the file, or the webhook's origin and path), never the secret.
 */
export async function deliverSecret(sink: SecretSink, delivery: SecretDelivery): Promise<void> {
  const record = {
    system: delivery.system,
    username: delivery.username,
    secret: delivery.secret,
    at: delivery.at.toISOString(),
    rotationId: delivery.rotationId,
    state: "pending",
  };
  await send(sink, delivery.system, `delivery of the new secret of ${delivery.username}`, record, [
    delivery.secret,
  ]);
}

/**
 * Tells the sink what became of a delivered secret (`active` or `abandoned`), without the secret.
 * @throws ConnectorError as {@link deliverSecret}.
 */
export async function reportSecretOutcome(sink: SecretSink, outcome: SecretOutcome): Promise<void> {
  const record = {
    system: outcome.system,
    username: outcome.username,
    at: outcome.at.toISOString(),
    rotationId: outcome.rotationId,
    state: outcome.state,
  };
  await send(sink, outcome.system, `report of the rotation of ${outcome.username}`, record, []);
}

async function send(
  sink: SecretSink,
  system: string,
  doing: string,
  record: Readonly<Record<string, string>>,
  secrets: readonly string[],
): Promise<void> {
  if ("file" in sink) {
    await appendSinkLine(system, "secret sink file", sink.file, record);
    return;
  }
  const { url, secret: key, timeoutMs } = sink.webhook;
  await postSignedJson(
    {
      system,
      doing: `secret sink ${doing}`,
      url,
      key,
      timeoutMs,
      redact: redactor([...secrets, key, url]),
    },
    JSON.stringify(record),
    // The signature's time is when it is sent, by the real clock the receiver checks it against.
    new Date(),
  );
}

/** The sink with a relative file made absolute against the config file's folder. */
export function resolveSecretSink(sink: SecretSink, baseDir: string): SecretSink {
  return "file" in sink ? { file: path.resolve(baseDir, sink.file) } : sink;
}
