import { z } from "zod";
import { retrySchema } from "../../config/retry-schema.js";
import { strictObject, VALUE_OFFSET } from "../../config/schema-helpers.js";
import type { PolicyContext } from "../../config/section-types.js";
import { CONNECTOR_TYPES } from "../../connectors/connector-registry.js";
import type { SystemDef } from "../../domain/access-types.js";
import { ATTRIBUTE_NAMES } from "../../domain/identity-types.js";
import { compileTemplate, TemplateError } from "../../domain/username-template.js";
import { closestMatch } from "../../shared/did-you-mean.js";
import { cronPattern } from "./schedule-section.js";

/** A system name: what grants, entitlements, operations and the CLI call the system. */
export const SYSTEM_NAME = /^[a-z][a-z0-9_-]*$/;

export const DEFAULT_USERNAME_TEMPLATE = "{givenName}.{familyName}";

/**
 * An `{attribute}` template. Compiled here only to be checked, so a placeholder naming something that
 * is not an attribute fails at load; the planner compiles it again to render it.
 */
const template = z.string().superRefine(checkTemplate);

/** Reports a template that does not compile, at the placeholder it is about (a zod superRefine). */
export function checkTemplate(text: string, ctx: z.RefinementCtx): void {
  try {
    compileTemplate(text);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    const { message, offset } = describeTemplateError(error, text);
    ctx.addIssue({ code: "custom", message, params: { tenure: VALUE_OFFSET, offset } });
  }
}

/**
 * Points a template problem at the placeholder it is about and suggests the attribute meant.
 * `TemplateError` carries only its message, so the name and position are read back from it; if its
 * wording changes, the problem still reads well but points at the start of the template.
 */
function describeTemplateError(error: TemplateError, text: string): { message: string; offset: number } {
  const unknown = /unknown attribute "([^"]*)"/.exec(error.message)?.[1];
  if (unknown !== undefined) {
    const suggestion = closestMatch(unknown, ATTRIBUTE_NAMES);
    const at = text.search(new RegExp(`\\{\\s*${escapeRegExp(unknown)}\\s*[|}]`));
    return {
      message:
        suggestion === undefined
          ? `unknown attribute '${unknown}' in template: a placeholder reads one of ${ATTRIBUTE_NAMES.join(", ")}`
          : `unknown attribute '${unknown}' in template — did you mean '${suggestion}'?`,
      offset: Math.max(0, at),
    };
  }
  const position = /at position (\d+)/.exec(error.message)?.[1];
  return { message: error.message, offset: position === undefined ? 0 : Number(position) - 1 };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A deadline longer than this would outlast the claim of an operation waiting behind it in its
 * system's lane (apply's lease is set from the longest deadline, and kept at most an hour).
 */
const MAX_DEADLINE_SECONDS = 1200;
const deadline = `expected a number of seconds above 0 and at most ${MAX_DEADLINE_SECONDS}`;
const lanes = "expected a whole number of operations run at once, from 1 to 256";

/** Every key of a system except `connector` and `config`, whose schema depends on the connector. */
const systemShape = {
  owner: z.string().min(1, { error: "expected who owns the system, e.g. an email address" }).optional(),
  drift: z.enum(["enforce", "report"]).default("report"),
  orphans: z.enum(["report", "disable"]).default("report"),
  account: strictObject({
    username: template.default(DEFAULT_USERNAME_TEMPLATE),
    usernameFallback: template.optional(),
    collision: z.enum(["suffix", "fail"]).default("suffix"),
    attributes: z.record(z.string().min(1), template).default({}),
  }).prefault({}),
  correlation: strictObject({
    account: z
      .string()
      .min(1, { error: "expected an account attribute of the connector, or username" })
      .default("username"),
    identity: z.enum([...ATTRIBUTE_NAMES, "username"]).default("username"),
  }).prefault({}),
  retry: retrySchema({ maxAttempts: 5, baseDelaySeconds: 30, maxDelaySeconds: 3600 }),
  timeoutSeconds: z
    .number({ error: deadline })
    .positive({ error: deadline })
    .max(MAX_DEADLINE_SECONDS, { error: deadline })
    .default(30),
  readTimeoutSeconds: z
    .number({ error: deadline })
    .positive({ error: deadline })
    .max(MAX_DEADLINE_SECONDS, { error: deadline })
    .default(600),
  concurrency: z
    .number({ error: lanes })
    .int({ error: lanes })
    .min(1, { error: lanes })
    .max(256, { error: lanes })
    .default(8),
  reconcile: strictObject({ schedule: cronPattern().optional() }).optional(),
  createMissingGroups: z.boolean({ error: "expected true or false" }).default(false),
};

function systemSchemaFor(connector: string, config: z.ZodType) {
  return strictObject({ connector: z.literal(connector), ...systemShape, config });
}

type SystemSchema = ReturnType<typeof systemSchemaFor>;

// One member per registered connector type, so `config:` is checked by that connector's own schema
// and its problems get a file:line:column like any other key.
const systemSchemas = Object.entries(CONNECTOR_TYPES).map(([type, entry]) =>
  systemSchemaFor(type, entry.schema as z.ZodType),
) as [SystemSchema, ...SystemSchema[]];

/**
 * `systems:` — the connected applications, by name: the connector that reaches each one (`connector:`
 * names a folder under src/connectors, `config:` is that connector's own configuration), and the
 * policies that apply to its accounts. Defaults as in `SystemDef`.
 */
export const systemsSection = z
  .record(
    z.string().regex(SYSTEM_NAME, {
      error: "a system name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
    }),
    z.discriminatedUnion("connector", systemSchemas),
  )
  .default({});

export type SystemsFile = z.output<typeof systemsSection>;

/**
 * Names each system after its key, records where it was written and resolves the relative paths in
 * its connector config (a `sqlite:` file) against the config file's folder.
 */
export function resolveSystems(value: SystemsFile, ctx: PolicyContext): Record<string, SystemDef> {
  const systems: Record<string, SystemDef> = {};
  for (const [name, system] of Object.entries(value)) {
    const type = CONNECTOR_TYPES[system.connector];
    if (type === undefined)
      throw new Error(`system ${name}: connector ${system.connector} is not registered`);
    const resolvePaths = type.resolvePaths as unknown as (config: unknown, baseDir: string) => unknown;
    if (system.createMissingGroups) {
      const can = (type.canCreateGroups as ((config: unknown) => true | string) | undefined)?.(system.config);
      if (can !== true) {
        ctx.report(
          ["systems", name, "createMissingGroups"],
          `the ${system.connector} connector cannot create groups${can === undefined ? "" : `: ${can}`}; set it to false (a grant of a missing group then fails naming it)`,
        );
      }
    }
    const setsCredentials = type.setsCredentials as unknown as ((config: unknown) => boolean) | undefined;
    systems[name] = {
      name,
      connector: system.connector,
      connectorConfig: resolvePaths(system.config, ctx.baseDir),
      owner: system.owner ?? null,
      drift: system.drift,
      orphans: system.orphans,
      account: { ...system.account },
      correlation: { ...system.correlation },
      retry: { ...system.retry },
      timeoutSeconds: system.timeoutSeconds,
      readTimeoutSeconds: system.readTimeoutSeconds,
      concurrency: system.concurrency,
      createMissingGroups: system.createMissingGroups,
      ...(setsCredentials?.(system.config) === true ? { setsCredentials: true } : {}),
      ...(system.reconcile?.schedule === undefined
        ? {}
        : { reconcile: { schedule: system.reconcile.schedule } }),
      location: ctx.locate(["systems", name]),
    };
  }
  return systems;
}
