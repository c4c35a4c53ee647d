import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import { resolveSecretSink, type SecretSink, secretSinkSchema } from "../../connectors/secret-sink.js";
import {
  type WebhookRotatorConfig,
  webhookRotatorConfigSchema,
} from "../../connectors/webhook/webhook-rotation.js";
import { cronPattern } from "./schedule-section.js";

const EMAIL_ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;
const minutes = "expected a whole number of minutes, at least 1";

/**
 * `nhi.rotation` — credential rotation of non-human identities (issue 17, item 4; docs/nhi.md):
 *
 * ```yaml
 * rotation:
 *   sink: { file: ./rotated-secrets.jsonl }        # or: { webhook: { url: ${env:SINK_URL}, secret: ${env:SINK_KEY} } }
 *   schedule: "0 3 * * *"                          # when due rotations run; default off (on demand only)
 *   alertEmail: secops@example.com                 # told of a failure when the NHI's owner has no address
 *   webhookRotators:
 *     billing-api: { url: ${env:ROTATE_URL}, secret: ${env:ROTATE_KEY}, verifyUrl: ${env:VERIFY_URL} }
 * ```
 *
 * Systems whose connector rotates (postgres, mariadb, OpenLDAP) need nothing here but the sink; a system
 * named under `webhookRotators` is rotated by that webhook instead of its connector.
 */
export const nhiRotationSchema = strictObject({
  /** Where each new secret is delivered, before the target is touched: a 0600 file or a signed webhook. */
  sink: secretSinkSchema,
  /** The cron pattern of scheduled rotations (`off`: on demand only). */
  schedule: cronPattern().default("off"),
  /** Who is alerted of a failed rotation when the NHI's owner has no email address. */
  alertEmail: z
    .string()
    .regex(EMAIL_ADDRESS, { error: "expected an email address, e.g. secops@example.com" })
    .optional(),
  /**
   * A rotation still unfinished after this long is taken for interrupted (its process stopped): the next
   * rotation of the NHI records it failed, alerts, and goes ahead. Default 60.
   */
  staleAfterMinutes: z
    .number({ error: minutes })
    .int({ error: minutes })
    .min(1, { error: minutes })
    .default(60),
  /** System name → the webhook that sets (and verifies) its credential. */
  webhookRotators: z.record(z.string().min(1), webhookRotatorConfigSchema).default({}),
});

/** `nhi.rotation` resolved: the sink file absolute against the config file's folder. */
export interface NhiRotationConfig {
  readonly sink: SecretSink;
  readonly schedule: string;
  readonly alertEmail: string | null;
  readonly staleAfterMinutes: number;
  readonly webhookRotators: Readonly<Record<string, WebhookRotatorConfig>>;
}

/** Makes the sink file absolute against the config file's folder `baseDir`. */
export function resolveNhiRotation(
  value: z.output<typeof nhiRotationSchema>,
  baseDir: string,
): NhiRotationConfig {
  return {
    sink: resolveSecretSink(value.sink, baseDir),
    schedule: value.schedule,
    alertEmail: value.alertEmail ?? null,
    staleAfterMinutes: value.staleAfterMinutes,
    webhookRotators: value.webhookRotators,
  };
}
