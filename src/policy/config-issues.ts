import type { z } from "zod";
import type { NodePath } from "./config-references.js";

/** One problem in a config file, located precisely enough for an editor to jump to it. */
export interface ConfigIssue {
  /** The config file as the caller named it. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** Key path such as `sources.hr.timeZone`, or `` for the document itself. */
  readonly path: string;
  /** What was expected and what was found; never a value that came from a `${…}` reference. */
  readonly message: string;
}

/** `file:line:col: path: message`, the form editors and CI logs recognise. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path === "" ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/** `sources.hr.columns`, `roles[2].when`, `sources["odd.name"]`. */
export function formatPath(path: NodePath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value lines)",
  record: "a mapping (key: value lines)",
  array: "a list",
  nan: "a number",
};

/**
 * zod error map for config parsing: says what was expected, in the file's terms. What was found is
 * added by the loader from the YAML node, which knows whether the value came from a reference and
 * must not be shown. Schemas that set their own message take precedence over this.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  const key = issue.path?.at(-1);
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `missing required key '${String(key)}'`;
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      if ("discriminator" in issue && Array.isArray(issue.options)) {
        const options = (issue.options as unknown[]).map((v) => JSON.stringify(v)).join(", ");
        const input = issue.input as Record<string, unknown> | undefined;
        return input?.[String(issue.discriminator)] === undefined
          ? `missing required key '${String(issue.discriminator)}' (one of ${options})`
          : `expected one of ${options}`;
      }
      return undefined;
    case "too_small":
      if (issue.origin === "number") {
        return `expected ${issue.inclusive ? "at least" : "more than"} ${String(issue.minimum)}`;
      }
      if (issue.origin === "string") return `expected at least ${String(issue.minimum)} character(s)`;
      return undefined;
    case "too_big":
      if (issue.origin === "number") {
        return `expected ${issue.inclusive ? "at most" : "less than"} ${String(issue.maximum)}`;
      }
      if (issue.origin === "string") return `expected at most ${String(issue.maximum)} character(s)`;
      return undefined;
    default:
      return undefined;
  }
};
