import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { RULE_ITERATION_BUDGET } from "./rule-bounds.js";
import { type CompiledRule, compileRule } from "./rule-compiler.js";

const person = workerAttributes({ title: "Engineer" });

function rule(source: string): CompiledRule {
  const compiled = compileRule(source);
  if (!compiled.ok) throw new Error(`expected ${source} to compile: ${compiled.problem.message}`);
  return compiled.rule;
}

function problem(source: string) {
  const compiled = compileRule(source);
  if (compiled.ok) throw new Error(`expected ${source} not to compile`);
  return compiled.problem;
}

function timed<T>(fn: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = fn();
  return { result, ms: performance.now() - started };
}

describe("matches() runs on RE2, in time linear in the text", () => {
  it("evaluates a catastrophic-backtracking pattern at once, on short and very long text", () => {
    const evil = rule("title.matches('(a+)+$')");
    // A backtracking engine takes tens of seconds on 26 characters, doubling with each one more.
    const short = timed(() => evil.evaluate({ ...person, title: `${"a".repeat(26)}b` }));
    expect(short.result).toEqual({ value: false });
    expect(short.ms).toBeLessThan(2000);
    const long = timed(() => evil.evaluate({ ...person, title: `${"a".repeat(100_000)}b` }));
    expect(long.result).toEqual({ value: false });
    expect(long.ms).toBeLessThan(5000);
    expect(evil.evaluate({ ...person, title: "aaaa" })).toEqual({ value: true });
  });

  it("keeps CEL's meaning: a search anywhere in the text, RE2 syntax", () => {
    expect(rule("title.matches('gin')").evaluate(person).value).toBe(true);
    expect(rule("title.matches('^gin')").evaluate(person).value).toBe(false);
    expect(rule("title.matches('(?i)^engineer$')").evaluate(person).value).toBe(true);
    expect(rule("email.matches('^[a-z]+@example\\\\.test$')").evaluate(person).value).toBe(true);
  });

  it("refuses at load, at the pattern, what RE2 cannot run in linear time", () => {
    expect(problem("title.matches('(a)\\\\1')")).toEqual({
      message: expect.stringMatching(/^matches\(\): '\(a\)\\1' is not a pattern Tenure runs \(RE2 syntax/),
      offset: 14,
    });
    expect(problem("department == 'x' || title.matches('^(?=E)')").message).toMatch(/lookahead/);
    expect(problem("department == 'x' || title.matches('^(?=E)')").offset).toBe(35);
  });

  it("compiles a pattern that is not a literal when it runs: a bad one is that evaluation's error", () => {
    const dynamic = rule("title.matches(department)");
    expect(dynamic.evaluate({ ...person, department: "^Eng" })).toEqual({ value: true });
    expect(dynamic.evaluate({ ...person, department: "(a+)+$", title: `${"a".repeat(26)}b` })).toEqual({
      value: false,
    });
    const bad = dynamic.evaluate({ ...person, department: "(x)\\1" });
    expect(bad.value).toBe(false);
    expect(bad.error).toMatch(/not a pattern Tenure runs/);
    expect(bad.failed).toBeUndefined();
  });
});

describe("comprehensions have a budget of list elements per evaluation", () => {
  const list = (n: number) => `[${Array.from({ length: n }, (_, i) => `'v${i}'`).join(", ")}]`;

  it("refuses at load a rule whose literal lists alone exceed the budget, at its first comprehension", () => {
    // 101 + 101 × 100 elements: over 10,000 for every identity, whatever its attributes.
    const source = `department == 'x' || ${list(101)}.exists(a, ${list(100)}.exists(b, a + b == title))`;
    expect(problem(source)).toEqual({
      message:
        "this rule iterates over 10,201 list elements for every identity (nested comprehensions multiply), more than the budget of 10,000",
      offset: 21,
    });
    // Within the budget it loads and runs.
    expect(rule(`${list(50)}.exists(a, ${list(50)}.exists(b, a + b == title))`).evaluate(person).value).toBe(
      false,
    );
    expect(RULE_ITERATION_BUDGET).toBe(10_000);
  });

  it("stops a rule that runs past the budget on one identity's values, and says so; others evaluate", () => {
    const pairs = rule("title.split(',').exists(a, title.split(',').exists(b, a + b == 'x'))");
    const many = Array.from({ length: 200 }, (_, i) => `t${i}`).join(",");
    const stopped = pairs.evaluate({ ...person, title: many });
    expect(stopped).toEqual({
      value: false,
      failed: true,
      error:
        "the rule iterated over more than 10,000 list elements (nested comprehensions multiply); it was stopped there",
    });
    // The meter is per evaluation: the next identity starts from nothing.
    expect(pairs.evaluate({ ...person, title: "x," })).toEqual({ value: true });
    expect(pairs.evaluate({ ...person, title: "a,b" })).toEqual({ value: false });
  });

  it("is not fooled by || or exists() swallowing the error", () => {
    const swallowed = rule(
      "title.split(',').exists(a, title.split(',').map(b, a + b).size() > 1000000) || department != ''",
    );
    const many = Array.from({ length: 200 }, (_, i) => `t${i}`).join(",");
    expect(swallowed.evaluate({ ...person, title: many })).toMatchObject({ value: false, failed: true });
    expect(swallowed.evaluate(person)).toEqual({ value: true });
  });

  it("counts map and filter, and a map over a map, as they run", () => {
    const nested = rule("title.split(',').map(a, title.split(',').filter(b, b != a)).size() > 0");
    const many = Array.from({ length: 120 }, (_, i) => `t${i}`).join(",");
    expect(nested.evaluate({ ...person, title: many })).toMatchObject({ failed: true });
    expect(nested.evaluate({ ...person, title: "a,b,c" })).toEqual({ value: true });
  });
});
