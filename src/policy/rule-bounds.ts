import type { ASTNode } from "@marcbachmann/cel-js";
import { RE2JS } from "re2js";

/**
 * How many list (or map) elements one evaluation of a rule may iterate over, summed over every
 * comprehension (`exists`, `all`, `exists_one`, `map`, `filter`), nested ones included: a comprehension
 * nested in another counts its elements once for each element of the outer one.
 */
export const RULE_ITERATION_BUDGET = 10_000;

/** Patterns compiled at run time (a `matches()` whose pattern is not a literal), per rule. */
const DYNAMIC_PATTERN_CACHE = 64;

/** Why a rule is refused at load: the message, and the 0-based offset in its text. */
export interface BoundsProblem {
  readonly message: string;
  readonly offset: number;
}

/**
 * The meter of one compiled rule: reset before each evaluation, charged by every comprehension as it
 * starts. Evaluation is synchronous, so one meter per rule is enough.
 */
export interface RuleMeter {
  spent: number;
  /** Set once the budget is exceeded, with what exceeded it; later charges throw at once. */
  exceeded: string | null;
}

/** Thrown inside cel-js when a comprehension would take the rule past its budget. */
export class RuleBudgetExceeded extends Error {
  override readonly name = "RuleBudgetExceeded";
}

// The slice of cel-js's checked AST this module relies on. A checked `rcall` has `handle` (what its
// evaluation calls with [receiver, ...args]); a macro call (`exists`, `map` …) has `meta.alternate`,
// the comprehension it expands to, whose `handle` is called with the evaluated iterable. Both are
// replaced here; `bindBounds` refuses to go on if cel-js ever stops providing them, so an upgrade can
// never silently bring back backtracking or unbounded loops.
interface CheckedNode {
  readonly op: string;
  readonly args: unknown;
  readonly start: number;
  readonly meta?: { readonly alternate?: CheckedNode };
  handle?: (...args: never[]) => unknown;
}

interface ComprehensionArgs {
  readonly iterable: CheckedNode;
  readonly [key: string]: unknown;
}

function isNode(value: unknown): value is CheckedNode {
  return typeof value === "object" && value !== null && "op" in value;
}

function children(node: CheckedNode): CheckedNode[] {
  const out: CheckedNode[] = [];
  const add = (value: unknown): void => {
    if (Array.isArray(value)) for (const v of value) add(v);
    else if (isNode(value)) out.push(value);
  };
  if (node.op === "value" || node.op === "id") return out;
  if (node.op === "comprehension") {
    for (const value of Object.values(node.args as ComprehensionArgs)) add(value);
  } else {
    add(node.args);
  }
  return out;
}

function elementCount(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (value instanceof Map || value instanceof Set) return value.size;
  if (typeof value === "object" && value !== null) return Object.keys(value).length;
  return 0;
}

/**
 * The number of elements a comprehension's iterable has when the text says so (a literal list or map);
 * else 1, so the cost known statically is a lower bound and only a rule that must exceed is refused.
 */
function staticCount(iterable: CheckedNode): number {
  if ((iterable.op === "list" || iterable.op === "map") && Array.isArray(iterable.args))
    return iterable.args.length;
  return 1;
}

function compilePattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

function patternProblem(pattern: string, error: unknown): string {
  const why = error instanceof Error ? error.message : String(error);
  return `matches(): '${pattern}' is not a pattern Tenure runs (RE2 syntax, matched in linear time: no backreferences, lookahead or lookbehind): ${why}`;
}

/**
 * Makes a checked rule bounded, in place: every `matches()` runs on RE2 (re2js, linear in the input
 * whatever the pattern; a literal pattern is compiled here, so one RE2 does not accept is a problem at
 * its offset), and every comprehension charges `meter` with its element count before it runs,
 * throwing {@link RuleBudgetExceeded} past {@link RULE_ITERATION_BUDGET}. The cost that can be known
 * from the text — comprehensions over literal lists, nested ones multiplied — is checked here too: a
 * rule that would always exceed the budget is refused at load, at the offset of its outer comprehension.
 */
export function bindBounds(root: ASTNode, meter: RuleMeter): BoundsProblem | null {
  let problem: BoundsProblem | null = null;
  let firstLoop: number | null = null;
  const visit = (node: CheckedNode, multiplier: number): number => {
    let cost = 0;
    const alternate = node.meta?.alternate;
    if (alternate?.op === "comprehension") {
      firstLoop ??= node.start;
      const args = alternate.args as ComprehensionArgs;
      // The iterable is evaluated once per evaluation of this node; the body once per element.
      cost += visit(args.iterable, multiplier);
      const inner = multiplier * staticCount(args.iterable);
      cost += inner;
      instrumentComprehension(alternate, meter);
      for (const child of children(alternate)) {
        if (child !== args.iterable) cost += visit(child, inner);
      }
      return cost;
    }
    if (alternate !== undefined) return visit(alternate, multiplier);
    if (node.op === "rcall" && Array.isArray(node.args) && node.args[0] === "matches") {
      const refused = instrumentMatches(node);
      problem ??= refused;
    }
    for (const child of children(node)) cost += visit(child, multiplier);
    return cost;
  };
  const cost = visit(root as unknown as CheckedNode, 1);
  if (problem === null && cost > RULE_ITERATION_BUDGET) {
    problem = {
      message: `this rule iterates over ${cost.toLocaleString("en")} list elements for every identity (nested comprehensions multiply), more than the budget of ${RULE_ITERATION_BUDGET.toLocaleString("en")}`,
      offset: firstLoop ?? 0,
    };
  }
  return problem;
}

function requireHandle(node: CheckedNode, what: string): void {
  if (typeof node.handle !== "function") {
    throw new Error(
      `@marcbachmann/cel-js no longer exposes the ${what} handle that Tenure bounds; check src/policy/rule-bounds.ts against this version`,
    );
  }
}

function instrumentComprehension(node: CheckedNode, meter: RuleMeter): void {
  requireHandle(node, "comprehension");
  const original = node.handle as (iterable: unknown, ...rest: unknown[]) => unknown;
  node.handle = ((iterable: unknown, ...rest: unknown[]) => {
    charge(meter, elementCount(iterable));
    return original(iterable, ...rest);
  }) as never;
}

function charge(meter: RuleMeter, count: number): void {
  if (meter.exceeded !== null) throw new RuleBudgetExceeded(meter.exceeded);
  meter.spent += count;
  if (meter.spent > RULE_ITERATION_BUDGET) {
    meter.exceeded = `the rule iterated over more than ${RULE_ITERATION_BUDGET.toLocaleString("en")} list elements (nested comprehensions multiply); it was stopped there`;
    throw new RuleBudgetExceeded(meter.exceeded);
  }
}

/** Replaces a checked `receiver.matches(pattern)` with RE2; a literal pattern RE2 refuses is a problem. */
function instrumentMatches(node: CheckedNode): BoundsProblem | null {
  requireHandle(node, "method call");
  const [, , args] = node.args as [string, CheckedNode, CheckedNode[]];
  const patternNode = args[0];
  if (patternNode?.op === "value" && typeof patternNode.args === "string") {
    const pattern = patternNode.args;
    let compiled: RE2JS;
    try {
      compiled = compilePattern(pattern);
    } catch (error) {
      return { message: patternProblem(pattern, error), offset: patternNode.start };
    }
    node.handle = ((values: unknown[]) => compiled.test(textOf(values[0]))) as never;
    return null;
  }
  const cache = new Map<string, RE2JS>();
  node.handle = ((values: unknown[]) => {
    const pattern = textOf(values[1]);
    let compiled = cache.get(pattern);
    if (compiled === undefined) {
      try {
        compiled = compilePattern(pattern);
      } catch (error) {
        throw new Error(patternProblem(pattern, error));
      }
      if (cache.size >= DYNAMIC_PATTERN_CACHE) cache.clear();
      cache.set(pattern, compiled);
    }
    return compiled.test(textOf(values[0]));
  }) as never;
  return null;
}

function textOf(value: unknown): string {
  if (typeof value !== "string") throw new Error(`matches() needs text, not ${typeof value}`);
  return value;
}
