import { z } from "zod";
import type { EventDefinition } from "./notification-event-types.js";

/**
 * The notification of a failed credential rotation (issue 17, item 4). It goes to the NHI's owner, else
 * the address `nhi.rotation.alertEmail` names: the `to` field (routed by default to `{{to}}` when
 * notify.email is configured). It never holds the secret: the new one is named by the rotation's id,
 * under which the sink holds it.
 */

const text = z.string();

export interface NhiRotationFailedData {
  rotationId: string;
  nhiId: string;
  /** The NHI's name. */
  name: string;
  system: string;
  username: string;
  /** The owner's email address, else the configured alert address; null when neither is known. */
  to: string | null;
  /** The step that failed: deliver, set, verify or retire. */
  step: string;
  /** What failed (free of secrets). */
  error: string;
  /** Which credential works now, in words. */
  inForce: string;
  /** `scheduled` or `on-demand`. */
  reason: string;
}

export const nhiRotationFailed: EventDefinition<NhiRotationFailedData> = {
  schema: z.object({
    rotationId: text,
    nhiId: text,
    name: text,
    system: text,
    username: text,
    to: text.nullable(),
    step: text,
    error: text,
    inForce: text,
    reason: text,
  }),
  placeholders: {
    rotationId: "the rotation's id (the sink's rotationId)",
    nhiId: "the non-human identity's id",
    name: "the non-human identity's name",
    system: "the system holding the credential",
    username: "the account whose credential was rotated",
    to: "the NHI owner's email address, else nhi.rotation.alertEmail; as a recipient: {{to}}",
    step: "the step that failed: deliver, set, verify or retire",
    error: "what failed",
    inForce: "which credential works now",
    reason: "scheduled or on-demand",
  },
  values: (d) => ({ ...d, to: d.to ?? "(none)" }),
  dedupeKey: (d) => `nhi.rotation-failed:${d.rotationId}`,
  template: {
    subject: "Credential rotation of {{name}} ({{username}} in {{system}}) failed at {{step}}",
    text:
      "The {{reason}} rotation {{rotationId}} of the credential of {{name}} ({{username}} in {{system}}) failed " +
      "at the {{step}} step: {{error}}\n\nNow: {{inForce}}.\n\nFix the cause, then rotate again: tenure nhi rotate {{nhiId}}",
  },
};
