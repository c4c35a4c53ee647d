import { z } from "zod";
import { parseConnectorConfig } from "../connector-config.js";

/** The operations a manual system turns into tasks (credential rotation is not one of them). */
export const MANUAL_KINDS = ["create", "update", "enable", "disable", "delete", "grant", "revoke"] as const;
export type ManualKind = (typeof MANUAL_KINDS)[number];

/** Placeholder → what it holds, for every kind; the docs list the same. */
const COMMON_PLACEHOLDERS = {
  system: "the system's name",
  username: "the account's username",
  fulfiller: "who does the work (`fulfiller`)",
  url: "the application's address (`url`; a template may use it only when `url` is set)",
} as const;

const ATTRIBUTE_PLACEHOLDERS = {
  attributes: "every attribute to set, one `name: value` line each",
  displayName: "the account attribute displayName (map it under account.attributes), or (not set)",
  email: "the account attribute email (map it under account.attributes), or (not set)",
} as const;

/** The placeholders each kind's template may use. */
export const PLACEHOLDERS: Readonly<Record<ManualKind, readonly string[]>> = {
  create: [...Object.keys(COMMON_PLACEHOLDERS), ...Object.keys(ATTRIBUTE_PLACEHOLDERS), "enabled"],
  update: [...Object.keys(COMMON_PLACEHOLDERS), ...Object.keys(ATTRIBUTE_PLACEHOLDERS)],
  enable: Object.keys(COMMON_PLACEHOLDERS),
  disable: Object.keys(COMMON_PLACEHOLDERS),
  delete: Object.keys(COMMON_PLACEHOLDERS),
  grant: [...Object.keys(COMMON_PLACEHOLDERS), "entitlement"],
  revoke: [...Object.keys(COMMON_PLACEHOLDERS), "entitlement"],
};

/** A compiled instruction template: literal text and placeholder names, alternating. */
export interface InstructionTemplate {
  readonly source: string;
  readonly parts: ReadonlyArray<{ text: string } | { placeholder: string }>;
}

/**
 * Compiles `{placeholder}` text, `{{` and `}}` standing for literal braces (as in account templates).
 * Returns the problem, in words, when a placeholder is not one of `allowed` or a brace is unbalanced.
 */
export function compileInstructions(
  source: string,
  allowed: readonly string[],
): InstructionTemplate | string {
  const parts: Array<{ text: string } | { placeholder: string }> = [];
  let text = "";
  for (let i = 0; i < source.length; ) {
    const pair = source.slice(i, i + 2);
    if (pair === "{{" || pair === "}}") {
      text += pair[0];
      i += 2;
    } else if (source[i] === "{") {
      const close = source.indexOf("}", i);
      if (close < 0) return `unclosed "{" at position ${i + 1} (write "{{" for a literal brace)`;
      const name = source.slice(i + 1, close).trim();
      if (!allowed.includes(name))
        return `unknown placeholder {${name}}: this kind has ${allowed.join(", ")}`;
      if (text !== "") parts.push({ text });
      parts.push({ placeholder: name });
      text = "";
      i = close + 1;
    } else if (source[i] === "}") {
      return `unmatched "}" at position ${i + 1} (write "}}" for a literal brace)`;
    } else {
      text += source[i];
      i++;
    }
  }
  if (text !== "") parts.push({ text });
  return { source, parts };
}

/** Substitutes each placeholder; one missing from `values` renders as (not set). */
export function renderInstructions(
  template: InstructionTemplate,
  values: Readonly<Record<string, string | undefined>>,
): string {
  return template.parts.map((p) => ("text" in p ? p.text : (values[p.placeholder] ?? "(not set)"))).join("");
}

// Shown to a person, so it must look like an address; never echoed in messages (it may carry a token).
const applicationUrl = z
  .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
  .refine((url) => !URL.canParse(url) || (new URL(url).username === "" && new URL(url).password === ""), {
    error: "must not contain credentials (user:password@): the instructions show it to people",
  });

const instructionTemplate = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(4000, { error: "at most 4000 characters" });

export const manualConnectorConfigSchema = z
  .strictObject({
    /** Who carries out the tasks: a person or a team, as a name or an email address. */
    fulfiller: z
      .string({ error: "expected who carries out the tasks, e.g. it-helpdesk@example.com" })
      .trim()
      .min(1, { error: "expected who carries out the tasks, e.g. it-helpdesk@example.com" })
      .max(200, { error: "at most 200 characters" })
      .refine((name) => !/\p{Cc}/u.test(name), { error: "must not contain control characters" }),
    /** How long a task may stay open before it is overdue and alerts, in hours. */
    slaHours: z
      .number({ error: "expected a number of hours, e.g. 24" })
      .positive({ error: "expected a number of hours above 0" })
      .max(24 * 366, { error: "expected at most a year (8784 hours)" })
      .default(24),
    /** The application's address, shown in every task. */
    url: applicationUrl.optional(),
    /** Per kind, the text of its tasks, replacing the built-in one. */
    instructions: z
      .strictObject({
        create: instructionTemplate.optional(),
        update: instructionTemplate.optional(),
        enable: instructionTemplate.optional(),
        disable: instructionTemplate.optional(),
        delete: instructionTemplate.optional(),
        grant: instructionTemplate.optional(),
        revoke: instructionTemplate.optional(),
      } satisfies Record<ManualKind, unknown>)
      .default({}),
  })
  .superRefine((config, ctx) => {
    for (const kind of MANUAL_KINDS) {
      const source = config.instructions[kind];
      if (source === undefined) continue;
      const compiled = compileInstructions(source, PLACEHOLDERS[kind]);
      if (typeof compiled === "string") {
        ctx.addIssue({ code: "custom", path: ["instructions", kind], message: compiled });
      } else if (
        config.url === undefined &&
        compiled.parts.some((p) => "placeholder" in p && p.placeholder === "url")
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["instructions", kind],
          message: "uses {url}, but `url` is not set",
        });
      }
    }
  });

/** The parsed configuration of one `manual` system (defaults applied). */
export type ManualConnectorConfig = z.output<typeof manualConnectorConfigSchema>;

/**
 * Parses the `manual` configuration of one system, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem.
 */
export function parseManualConnectorConfig(system: string, raw: unknown): ManualConnectorConfig {
  return parseConnectorConfig("manual", manualConnectorConfigSchema, system, raw);
}
