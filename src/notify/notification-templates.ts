import { closestMatch } from "../shared/did-you-mean.js";
import { TenureError } from "../shared/errors.js";

/** A piece of a compiled template: text as written, or a placeholder (with where it was written). */
export type TemplatePart =
  | { readonly text: string }
  | { readonly placeholder: string; readonly offset: number };

/** A template checked against the placeholders of its event, ready to render. */
export interface CompiledTemplate {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

/** A problem in a template, at `offset` (0-based) in its text. */
export interface TemplateProblem {
  readonly message: string;
  readonly offset: number;
}

export type TemplateCompileResult =
  | { readonly ok: true; readonly template: CompiledTemplate }
  | { readonly ok: false; readonly problem: TemplateProblem };

/** Rendering met a placeholder its data has no value for: a bug in the caller, never sent as "undefined". */
export class NotificationTemplateError extends TenureError {
  constructor(message: string) {
    super("notification_template", message, { exitCode: 1, httpStatus: 500 });
  }
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/y;

/**
 * Compiles `{{placeholder}}` text. Every `{{` opens a placeholder: a name of letters and digits,
 * optionally padded with spaces, closed by `}}`. A name not in `placeholders` is a problem at that
 * placeholder, with the nearest known name suggested; so is a `{{` that does not form a placeholder.
 * Pure; never throws.
 */
export function compileTemplate(source: string, placeholders: readonly string[]): TemplateCompileResult {
  const parts: TemplatePart[] = [];
  let at = 0;
  for (;;) {
    const open = source.indexOf("{{", at);
    if (open === -1) break;
    if (open > at) parts.push({ text: source.slice(at, open) });
    PLACEHOLDER.lastIndex = open;
    const match = PLACEHOLDER.exec(source);
    const name = match?.[1];
    if (match === null || name === undefined) {
      return {
        ok: false,
        problem: {
          message: "'{{' starts a placeholder, which is a name closed by '}}', e.g. {{system}}",
          offset: open,
        },
      };
    }
    if (!placeholders.includes(name)) {
      const suggestion = closestMatch(name, placeholders);
      return {
        ok: false,
        problem: {
          message:
            suggestion === undefined
              ? `unknown placeholder '${name}': this event has ${placeholders.join(", ")}`
              : `unknown placeholder '${name}' — did you mean '${suggestion}'?`,
          offset: open,
        },
      };
    }
    parts.push({ placeholder: name, offset: open });
    at = open + match[0].length;
  }
  if (at < source.length) parts.push({ text: source.slice(at) });
  return { ok: true, template: { source, parts } };
}

/** Like {@link compileTemplate}, for templates that are known to be valid (the built-in ones). */
export function mustCompile(source: string, placeholders: readonly string[]): CompiledTemplate {
  const result = compileTemplate(source, placeholders);
  if (!result.ok) throw new NotificationTemplateError(`invalid template: ${result.problem.message}`);
  return result.template;
}

/**
 * Renders a template: each placeholder's value goes through `escapeValue` (the channel's escaping); the
 * template's own text is kept as written.
 * @throws NotificationTemplateError naming `where` and the placeholder when `values` lacks it.
 */
export function renderTemplate(
  template: CompiledTemplate,
  values: Readonly<Record<string, string | undefined>>,
  escapeValue: (value: string) => string,
  where: string,
): string {
  let out = "";
  for (const part of template.parts) {
    if ("text" in part) {
      out += part.text;
      continue;
    }
    const value = values[part.placeholder];
    if (typeof value !== "string") {
      throw new NotificationTemplateError(
        `${where}: placeholder {{${part.placeholder}}} has no value in the event's data`,
      );
    }
    out += escapeValue(value);
  }
  return out;
}

/**
 * Slack mrkdwn escaping of a value: `&`, `<` and `>` become entities, so a value cannot open a link or
 * mention (`<!channel>`) in the message. Other mrkdwn (`*`, `_`) is left: it can only restyle text.
 */
export function escapeSlack(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** A value in plain text: kept as it is. */
export function plainText(value: string): string {
  return value;
}

/**
 * One line for a subject or a heading: line breaks and other control characters become spaces, so
 * a value cannot add a header line to an email.
 */
export function oneLine(text: string): string {
  return text
    .replace(/\p{Cc}+/gu, " ")
    .replace(/ {2,}/g, " ")
    .trim();
}
