import { type ASTNode, Environment } from "@marcbachmann/cel-js";
import type { RoleRule } from "../domain/access-types.js";
import { ATTRIBUTE_NAMES, type WorkerAttributes } from "../domain/identity-types.js";
import { closestMatch } from "../shared/did-you-mean.js";
import type { AttributeName } from "./config-types.js";
import { bindBounds, type RuleMeter } from "./rule-bounds.js";

/** A birthright rule compiled from its CEL text, before the loader attaches where it was written. */
export type CompiledRule = Omit<RoleRule, "location">;

type RuleResult = ReturnType<RoleRule["evaluate"]>;

/** Why a rule does not compile, and where in its text (0-based offset into the expression). */
export interface RuleProblem {
  readonly message: string;
  readonly offset: number;
}

export type RuleCompilation =
  | { readonly ok: true; readonly rule: CompiledRule }
  | { readonly ok: false; readonly problem: RuleProblem };

// Every attribute is declared as a string, so comparing one with a number, calling a list function on
// it or reading an attribute that does not exist fails when the policy loads, not on the first joiner.
// Building an Environment is the expensive part of cel-js, so there is one, shared by every rule.
const environment = createEnvironment([]);
// Built on first use: most configurations have no auto-approval rule, and an Environment is costly.

/** What an auto-approval rule reads besides the requester's attributes: the request itself. */
export const REQUEST_VARIABLES = ["ticket", "justification"] as const;
let requestEnvironment: Environment | undefined;

function environmentFor(request: boolean): Environment {
  if (!request) return environment;
  requestEnvironment ??= createEnvironment(REQUEST_VARIABLES);
  return requestEnvironment;
}

function createEnvironment(extra: readonly string[]): Environment {
  const env = new Environment();
  for (const name of [...ATTRIBUTE_NAMES, ...extra]) env.registerVariable(name, "string");
  return env;
}

const ATTRIBUTES: ReadonlySet<string> = new Set(ATTRIBUTE_NAMES);
const WITH_REQUEST: ReadonlySet<string> = new Set([...ATTRIBUTE_NAMES, ...REQUEST_VARIABLES]);

// Results are shared and frozen: evaluate runs once per identity and role in a plan, so it should
// allocate nothing.
const TRUE = Object.freeze({ value: true });
const FALSE = Object.freeze({ value: false });

/** The slice of cel-js errors this module reads. */
interface CelError {
  readonly name?: string;
  readonly code?: string;
  readonly summary?: string;
  readonly message?: string;
  readonly range?: { readonly start: number; readonly end: number };
}

/**
 * Compiles the CEL text of a `when:` rule, once, at load time. The rule must be a boolean expression
 * over the identity attributes (`department == 'Engineering'`); a syntax error, a type error, an
 * attribute that does not exist or a result that is not a boolean is a problem, with the offset of
 * the offending token when cel-js names one.
 *
 * Semantics of the compiled rule: every attribute is a string, and an attribute the identity does not
 * have (null) reads as the empty string `''`. So `department == 'Sales'` is false and
 * `department != 'Sales'` true for someone without a department, and `department == ''` asks whether
 * it is missing. `evaluate` never throws: an error at run time (such as `int(costCenter)` on a cost
 * centre that is not a number) makes the rule false and is returned as `error`.
 *
 * Evaluation is bounded (see rule-bounds.ts): `matches()` runs on RE2, in time linear in the text, and
 * a pattern RE2 does not accept is a problem here; comprehensions share a budget of list elements per
 * evaluation, and a rule whose literal lists alone exceed it is a problem here. A rule that runs past
 * the budget at evaluation is stopped there and returns `failed: true` with the error: it was neither
 * true nor false, and the caller must not change that identity's access on its account.
 */
export function compileRule(source: string, options: { request?: boolean } = {}): RuleCompilation {
  // An auto-approval rule (`requestable.autoApprove.when`) also reads `ticket` and `justification`;
  // its `evaluate` is given them beside the attributes.
  const env = environmentFor(options.request === true);
  const known = options.request ? WITH_REQUEST : ATTRIBUTES;
  let parsed: ReturnType<Environment["parse"]>;
  try {
    parsed = env.parse(source);
  } catch (error) {
    return { ok: false, problem: describeCompileError(error as CelError, source, known) };
  }
  const checked = parsed.check();
  if (!checked.valid) {
    return { ok: false, problem: describeCompileError((checked.error ?? {}) as CelError, source, known) };
  }
  if (checked.type !== "bool") {
    return {
      ok: false,
      problem: {
        message: `a rule must be true or false, but this one gives ${checked.type === undefined ? "something else" : article(checked.type)}`,
        offset: 0,
      },
    };
  }

  const meter: RuleMeter = { spent: 0, exceeded: null };
  const bounded = bindBounds(parsed.ast, meter);
  if (bounded !== null) return { ok: false, problem: bounded };

  const reads = attributesRead(parsed.ast, known);
  const count = reads.length;
  const run = parsed;
  // One variables object per rule, with a key for each attribute the rule reads, refilled on each
  // call, so a call allocates nothing. Safe because evaluation is synchronous and calls nothing of
  // ours: no second evaluation of this rule can start while one is running.
  const variables: Record<string, string> = {};
  for (const name of reads) variables[name] = "";
  const evaluate = (attributes: WorkerAttributes): RuleResult => {
    for (let i = 0; i < count; i++) {
      const name = reads[i] as AttributeName;
      variables[name] = attributes[name] ?? "";
    }
    meter.spent = 0;
    meter.exceeded = null;
    try {
      const value: unknown = run(variables);
      // cel-js may swallow an error inside `||` / `&&` / exists(); the meter still knows.
      if (meter.exceeded !== null) return { value: false, error: meter.exceeded, failed: true };
      if (value === true) return TRUE;
      if (value === false) return FALSE;
      // The type check makes this unreachable for declared types; kept so a surprise is explained.
      return { value: false, error: `the rule gave ${typeof value}, not true or false` };
    } catch (error) {
      if (meter.exceeded !== null) return { value: false, error: meter.exceeded, failed: true };
      const e = error as CelError;
      return { value: false, error: e.summary ?? e.message ?? String(error) };
    }
  };
  return { ok: true, rule: { source, evaluate, reads } };
}

function describeCompileError(error: CelError, source: string, known: ReadonlySet<string>): RuleProblem {
  const offset = clamp(error.range?.start ?? 0, source.length);
  const summary = error.summary ?? firstLine(error.message ?? "invalid expression");
  if (error.code === "unknown_variable") {
    const name = error.range === undefined ? summary : source.slice(error.range.start, error.range.end);
    return { message: unknownAttributeMessage(name, [...known]), offset };
  }
  if (error.name === "ParseError") {
    const hint = source[offset] === "=" && source[offset + 1] !== "=" ? " (compare with ==)" : "";
    return { message: `syntax error: ${summary}${hint}`, offset };
  }
  const hint = /overload/.test(summary) ? " (every attribute is a string; quote values: 'Sales')" : "";
  return { message: `type error: ${summary}${hint}`, offset };
}

function unknownAttributeMessage(name: string, known: readonly string[]): string {
  const suggestion = closestMatch(name, known);
  if (suggestion !== undefined) return `unknown attribute '${name}' — did you mean '${suggestion}'?`;
  return `unknown attribute '${name}': a rule reads ${known.join(", ")}; text is quoted ('${name}')`;
}

/**
 * The attributes an expression reads, in order of first use. Every identifier that names an
 * attribute counts, so a macro variable named like an attribute (`list.exists(title, …)`) is counted
 * too: the list may be longer than strictly needed, never shorter.
 */
function attributesRead(root: ASTNode, known: ReadonlySet<string>): AttributeName[] {
  const seen = new Set<AttributeName>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (typeof value !== "object" || value === null || !("op" in value)) return;
    const node = value as ASTNode;
    if (node.op === "id") {
      if (known.has(node.args)) seen.add(node.args as AttributeName);
      return;
    }
    if (node.op === "value") return;
    visit(node.args);
  };
  visit(root);
  return [...seen];
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? text;
}

function clamp(offset: number, length: number): number {
  return Math.max(0, Math.min(offset, length));
}
