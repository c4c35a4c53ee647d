import { z } from "zod";
import { strictObject, VALUE_OFFSET } from "../../config/schema-helpers.js";
import type { NodePath, PolicyContext } from "../../config/section-types.js";
import { DURATION_FORMS, parseDuration } from "../../domain/duration.js";
import { PLATFORM_ROLE_NAMES } from "../../domain/platform-role-names.js";
import {
  type ApprovalStepDef,
  type ApproverSpec,
  ELEVATION_MAX_MS,
  type RequestableDef,
} from "../../domain/request-policy.js";
import { compileRule } from "../rule-compiler.js";

/**
 * A CEL condition, compiled once here: over the identity's attributes, and with `request` also over
 * the request (`ticket`, `justification`). `true` (a YAML boolean) reads as the expression `true`.
 */
export function celRule(options: { request?: boolean } = {}) {
  return z.preprocess(
    (value) => (typeof value === "boolean" ? String(value) : value),
    z.string().transform((source, ctx) => {
      const compiled = compileRule(source, options);
      if (compiled.ok) return compiled.rule;
      ctx.addIssue({
        code: "custom",
        message: compiled.problem.message,
        params: { tenure: VALUE_OFFSET, offset: compiled.problem.offset },
      });
      return z.NEVER;
    }),
  );
}

/** A duration as written (`8h`, `7d`), in milliseconds. */
export const durationSchema = z
  .string({ error: `expected a duration: ${DURATION_FORMS}` })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms !== undefined) return ms;
    ctx.addIssue({ code: "custom", message: `expected a duration: ${DURATION_FORMS}` });
    return z.NEVER;
  });

const APPROVER_KINDS = ["manager", "owner", "system-owner"] as const;
const requiredSchema = z
  .number({ error: "expected how many distinct approvals the step needs (1 or more)" })
  .int({ error: "expected how many distinct approvals the step needs (1 or more)" })
  .min(1, { error: "expected how many distinct approvals the step needs (1 or more)" });

const stepObject = strictObject({
  name: z.string().min(1).optional(),
  approvers: z
    .enum(APPROVER_KINDS, { error: `expected who decides: ${APPROVER_KINDS.join(", ")}` })
    .optional(),
  identities: z
    .array(z.string().min(1, { error: "expected an email address, HR key or identity id" }))
    .min(1, { error: "expected at least one person" })
    .optional(),
  platformRole: z
    .enum(PLATFORM_ROLE_NAMES, { error: `expected a platform role: ${PLATFORM_ROLE_NAMES.join(", ")}` })
    .optional(),
  required: requiredSchema.default(1),
});

/**
 * One approval step: `manager`, `owner` or `system-owner` as a word, or a mapping naming who decides —
 * `{ approvers: owner }`, `{ identities: [a@example.com, b@example.com], required: 2 }`,
 * `{ platformRole: admin }` — with `required` distinct approvals (default 1) and an optional `name`.
 */
const stepSchema = z
  .custom<string | z.output<typeof stepObject>>()
  .superRefine((value, ctx) => {
    if (typeof value === "string") {
      if (!(APPROVER_KINDS as readonly string[]).includes(value)) {
        ctx.addIssue({
          code: "custom",
          message: `expected ${APPROVER_KINDS.join(", ")}, or a mapping with approvers, identities or platformRole`,
        });
      }
      return;
    }
    const result = stepObject.safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({ ...(issue as z.core.$ZodIssueCustom), code: "custom", path: [...issue.path] });
      }
      return;
    }
    const who = [result.data.approvers, result.data.identities, result.data.platformRole].filter(
      (x) => x !== undefined,
    );
    if (who.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: "expected exactly one of approvers, identities or platformRole: who decides this step",
      });
    } else if (result.data.identities !== undefined && result.data.required > result.data.identities.length) {
      ctx.addIssue({
        code: "custom",
        path: ["required"],
        message: `this step needs ${result.data.required} approvals but names only ${result.data.identities.length} ${result.data.identities.length === 1 ? "person" : "people"}`,
      });
    } else if (result.data.approvers !== undefined && result.data.required > 1) {
      ctx.addIssue({
        code: "custom",
        path: ["required"],
        message: `'${result.data.approvers}' is one person: a step of theirs can need only 1 approval`,
      });
    }
  })
  .transform((value) =>
    typeof value === "string" ? stepObject.parse({ approvers: value }) : stepObject.parse(value),
  );

const quotaSchema = strictObject({
  max: z.number().int().min(1, { error: "expected the most auto-approvals per person (1 or more)" }),
  per: durationSchema,
});

const requestableObject = strictObject({
  eligible: celRule().optional(),
  defaultDuration: durationSchema.optional(),
  maxDuration: durationSchema.optional(),
  approval: z.array(stepSchema).optional(),
  autoApprove: strictObject({ when: celRule({ request: true }), quota: quotaSchema.optional() }).optional(),
});

/**
 * `requestable:` of a role or an entitlement: `true` (anyone active may ask; the manager approves;
 * 7 days by default, 30 at most), `false`, or the settings: `eligible` (CEL), `defaultDuration`,
 * `maxDuration`, `approval` steps, `autoApprove` (`when` in CEL over the requester and `ticket` /
 * `justification`, with an optional `quota: { max, per }`).
 */
export const requestableSchema = z
  .custom<boolean | z.output<typeof requestableObject>>()
  .superRefine((value, ctx) => {
    if (typeof value === "boolean") return;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      ctx.addIssue({
        code: "custom",
        message: "expected true, false, or the request settings (eligible, maxDuration, approval, …)",
      });
      return;
    }
    const result = requestableObject.safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ ...(issue as z.core.$ZodIssueCustom), code: "custom", path: [...issue.path] });
    }
  })
  .transform((value) => (typeof value === "boolean" ? value : requestableObject.parse(value)))
  .default(false);

export type RequestableFile = z.output<typeof requestableSchema>;

const DEFAULTS = {
  standing: { defaultMs: 7 * 86_400_000, maxMs: 30 * 86_400_000 },
  elevation: { defaultMs: 3_600_000, maxMs: 8 * 3_600_000 },
};

/**
 * The compiled `requestable:` at `path` (null when not requestable), with its defaults — shorter for an
 * elevation role — and the checks that need the whole setting: the default within the maximum, an
 * elevation no longer than a day, and some way to be approved.
 */
export function resolveRequestable(
  value: RequestableFile,
  path: NodePath,
  ctx: PolicyContext,
  options: { elevation: boolean },
): RequestableDef | null {
  if (value === false) return null;
  const settings = value === true ? {} : value;
  const defaults = options.elevation ? DEFAULTS.elevation : DEFAULTS.standing;
  const maxDurationMs = settings.maxDuration ?? Math.max(defaults.maxMs, settings.defaultDuration ?? 0);
  const defaultDurationMs = settings.defaultDuration ?? Math.min(defaults.defaultMs, maxDurationMs);
  const at = [...path, "requestable"];
  if (settings.defaultDuration !== undefined && settings.defaultDuration > maxDurationMs) {
    ctx.report([...at, "defaultDuration"], "the default duration is longer than maxDuration");
  }
  if (options.elevation && maxDurationMs > ELEVATION_MAX_MS) {
    ctx.report(
      [...at, settings.maxDuration !== undefined ? "maxDuration" : "defaultDuration"],
      "an elevation lasts at most 24h: make it shorter, or make the role standing (elevation: false)",
    );
  }
  const approval = (settings.approval ?? [{ approvers: "manager" as const, required: 1 }]).map(
    (step, i): ApprovalStepDef => ({
      name: step.name ?? stepName(step),
      approvers: approverSpec(step),
      required: step.required,
      location: ctx.locate([...at, "approval", i], "value"),
    }),
  );
  if (approval.length === 0 && settings.autoApprove === undefined) {
    ctx.report(
      [...at, "approval"],
      "expected approval steps, or autoApprove: nobody could ever approve a request for this",
    );
  } else if (approval.length === 0 && settings.autoApprove?.quota !== undefined) {
    ctx.report(
      [...at, "approval"],
      "expected approval steps: past the auto-approval quota the steps decide, and there are none",
    );
  }
  return {
    eligible:
      settings.eligible === undefined
        ? null
        : { ...settings.eligible, location: ctx.locate([...at, "eligible"], "value") },
    defaultDurationMs,
    maxDurationMs,
    approval,
    autoApprove:
      settings.autoApprove === undefined
        ? null
        : {
            when: {
              ...settings.autoApprove.when,
              location: ctx.locate([...at, "autoApprove", "when"], "value"),
            },
            quota:
              settings.autoApprove.quota === undefined
                ? null
                : { max: settings.autoApprove.quota.max, periodMs: settings.autoApprove.quota.per },
          },
    location: ctx.locate(at, "key"),
  };
}

type StepFile = z.output<typeof stepObject>;

function approverSpec(step: StepFile): ApproverSpec {
  if (step.identities !== undefined) return { kind: "identities", refs: [...step.identities] };
  if (step.platformRole !== undefined) return { kind: "platform-role", role: step.platformRole };
  return { kind: step.approvers ?? "manager" };
}

function stepName(step: StepFile): string {
  if (step.identities !== undefined) return step.identities.join(", ");
  if (step.platformRole !== undefined) return `${step.platformRole}s`;
  return step.approvers ?? "manager";
}
