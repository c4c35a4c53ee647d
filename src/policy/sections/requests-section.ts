import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import type { PolicyContext } from "../../config/section-types.js";
import type { Policy } from "../../domain/access-types.js";
import { DEFAULT_REQUEST_SETTINGS, ELEVATION_MAX_MS } from "../../domain/request-policy.js";
import { closestMatch } from "../../shared/did-you-mean.js";
import { secret } from "../../shared/secret-field.js";
import type { RequestsConfig, WorkflowConfig } from "../config-types.js";
import { durationSchema } from "./requestable-schema.js";
import { ROLE_NAME } from "./roles-section.js";

const person = z.string().min(1, { error: "expected an email address, HR key or identity id" });

/**
 * One workflow that elevates people while it is open: an incident system or a change calendar posting
 * signed events to `POST /api/workflows/<name>/events` (docs/requests.md "Workflow-bound elevation").
 */
const workflowSchema = strictObject({
  /** The shared secret of the HMAC-SHA256 signature. */
  secret: secret(z.string().min(16, { error: "expected a shared secret of 16 characters or more" })),
  /** The elevation role granted to the responders while the workflow is open. */
  role: z.string().regex(ROLE_NAME, { error: "expected a role name" }),
  /** The longest an opened workflow keeps the elevation if no close arrives; at most 24h. */
  maxDuration: durationSchema.optional(),
  /** How the sender shapes its events: `generic` (Tenure's JSON) or `pagerduty` (PagerDuty v3 webhooks). */
  format: z.enum(["generic", "pagerduty"]).default("generic"),
  /** How far a signed timestamp may be from now before the event is refused as a replay. */
  tolerance: durationSchema.optional(),
});

/** `requests:` — how the access request workflow runs as a whole (docs/requests.md). Every key has a default. */
export const requestsSection = strictObject({
  pendingExpiry: durationSchema.optional(),
  remindAfter: z.union([durationSchema, z.literal("off")]).optional(),
  escalateAfter: z.union([durationSchema, z.literal("off")]).optional(),
  fallbackApprovers: z.array(person).default([]),
  securityContacts: z.array(person).default([]),
  warnBeforeExpiry: durationSchema.optional(),
  workflows: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]*$/, { error: "a workflow name has only a-z, 0-9, '_' and '-'" }),
      workflowSchema,
    )
    .default({}),
}).default({ fallbackApprovers: [], securityContacts: [], workflows: {} });

export type RequestsFile = z.output<typeof requestsSection>;

/**
 * The request settings with their defaults, and the checks needing the roles: each workflow names an
 * elevation role, and elevates for no longer than a day.
 */
export function resolveRequests(file: RequestsFile, policy: Policy, ctx: PolicyContext): RequestsConfig {
  const d = DEFAULT_REQUEST_SETTINGS;
  const workflows: Record<string, WorkflowConfig> = {};
  for (const [name, w] of Object.entries(file.workflows)) {
    const path = ["requests", "workflows", name];
    const role = policy.roles[w.role];
    if (role === undefined || !Object.hasOwn(policy.roles, w.role)) {
      const suggestion = closestMatch(w.role, Object.keys(policy.roles));
      ctx.report(
        [...path, "role"],
        `unknown role '${w.role}'${suggestion === undefined ? "" : ` — did you mean '${suggestion}'?`}`,
      );
    } else if (role.elevation !== true) {
      ctx.report([...path, "role"], `role '${w.role}' is not an elevation role (elevation: true)`);
    }
    const maxDurationMs =
      w.maxDuration ??
      (role?.elevation === true ? role.requestable?.maxDurationMs : undefined) ??
      8 * 3_600_000;
    if (maxDurationMs > ELEVATION_MAX_MS) {
      ctx.report([...path, "maxDuration"], "a workflow elevates for at most 24h");
    }
    workflows[name] = {
      name,
      secret: w.secret,
      role: w.role,
      maxDurationMs,
      format: w.format,
      toleranceMs: w.tolerance ?? 5 * 60_000,
    };
  }
  const off = (v: number | "off" | undefined, fallback: number | null) =>
    v === "off" ? null : (v ?? fallback);
  return {
    pendingExpiryMs: file.pendingExpiry ?? d.pendingExpiryMs,
    remindAfterMs: off(file.remindAfter, d.remindAfterMs),
    escalateAfterMs: off(file.escalateAfter, d.escalateAfterMs),
    fallbackApprovers: [...file.fallbackApprovers],
    securityContacts: [...file.securityContacts],
    warnBeforeExpiryMs: file.warnBeforeExpiry ?? d.warnBeforeExpiryMs,
    workflows,
  };
}
