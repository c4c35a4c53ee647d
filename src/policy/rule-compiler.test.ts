import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import type { WorkerAttributes } from "../domain/identity-types.js";
import { type CompiledRule, compileRule } from "./rule-compiler.js";

const person = workerAttributes({
  title: "Senior Engineer",
  location: "London",
  costCenter: "4100",
  startDate: "2021-03-01",
});

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

describe("compileRule: evaluation", () => {
  it("evaluates comparisons, ||, in, string functions and date strings", () => {
    const employee = rule("employmentType == 'employee' || employmentType == 'intern'");
    expect(employee.evaluate(person)).toEqual({ value: true });
    expect(employee.evaluate({ ...person, employmentType: "intern" })).toEqual({ value: true });
    expect(employee.evaluate({ ...person, employmentType: "contractor" })).toEqual({ value: false });

    expect(rule("department in ['Engineering', 'Product']").evaluate(person).value).toBe(true);
    expect(rule("title.startsWith('Senior') && location != 'Paris'").evaluate(person).value).toBe(true);
    expect(rule("email.endsWith('@example.test')").evaluate(person).value).toBe(true);
    expect(rule("startDate < '2022-01-01'").evaluate(person).value).toBe(true);
    expect(rule("int(costCenter) >= 4000").evaluate(person).value).toBe(true);
    expect(rule("true").evaluate(person).value).toBe(true);
  });

  it("reads a null attribute as the empty string", () => {
    const noDepartment = { ...person, department: null };
    expect(rule("department == 'Engineering'").evaluate(noDepartment)).toEqual({ value: false });
    expect(rule("department != 'Engineering'").evaluate(noDepartment)).toEqual({ value: true });
    expect(rule("department == ''").evaluate(noDepartment)).toEqual({ value: true });
    expect(rule("department.startsWith('Eng')").evaluate(noDepartment)).toEqual({ value: false });
    expect(rule("department in ['Engineering']").evaluate(noDepartment)).toEqual({ value: false });
    // A date that is not set compares as '', before every date: the documented guard is != ''.
    const guarded = rule("endDate != '' && endDate < '2030-01-01'");
    expect(guarded.evaluate(person).value).toBe(false);
    expect(guarded.evaluate({ ...person, endDate: "2025-06-30" }).value).toBe(true);
  });

  it("treats a missing property like null rather than failing", () => {
    const partial = { ...person } as Partial<WorkerAttributes>;
    delete partial.department;
    expect(rule("department == ''").evaluate(partial as WorkerAttributes)).toEqual({ value: true });
  });

  it("never throws: a run-time error makes the rule false and is explained", () => {
    const numeric = rule("int(costCenter) > 100");
    const result = numeric.evaluate({ ...person, costCenter: "CC-9" });
    expect(result.value).toBe(false);
    expect(result.error).toMatch(/int/);
    expect(numeric.evaluate({ ...person, costCenter: null }).value).toBe(false);
  });

  it("lets the other side of || decide when one side fails, as CEL specifies", () => {
    const either = rule("int(costCenter) > 100 || department == 'Engineering'");
    expect(either.evaluate({ ...person, costCenter: "CC-9" })).toEqual({ value: true });
  });

  it("lists the attributes read, once each, in order of first use, not macro variables", () => {
    expect(rule("title.startsWith('S') && department == 'x' || title == 'y'").reads).toEqual([
      "title",
      "department",
    ]);
    expect(rule("['Sales', 'Support'].exists(d, d == department)").reads).toEqual(["department"]);
    expect(rule("true").reads).toEqual([]);
  });

  it("returns the same result objects for every call, so a plan allocates nothing per rule", () => {
    const engineer = rule("department == 'Engineering'");
    expect(engineer.evaluate(person)).toBe(engineer.evaluate({ ...person }));
    expect(Object.isFrozen(engineer.evaluate(person))).toBe(true);
  });
});

describe("compileRule: problems, with the offset of the offending token", () => {
  it("suggests the attribute meant by an unknown name", () => {
    expect(problem("departmnet == 'Sales'")).toEqual({
      message: "unknown attribute 'departmnet' — did you mean 'department'?",
      offset: 0,
    });
    expect(problem("department == 'Sales' && titel == 'x'")).toEqual({
      message: "unknown attribute 'titel' — did you mean 'title'?",
      offset: 25,
    });
  });

  it("names the attributes and the quoting rule when nothing is near", () => {
    expect(problem("department == Sales").message).toBe(
      "unknown attribute 'Sales': a rule reads employeeId, givenName, familyName, displayName, email, department, title, location, costCenter, managerId, employmentType, status, startDate, endDate, terminationDate; text is quoted ('Sales')",
    );
  });

  it("reports a syntax error at the character, with a hint for =", () => {
    expect(problem("department = 'Sales'")).toEqual({
      message: "syntax error: Unexpected character: = (compare with ==)",
      offset: 11,
    });
    expect(problem("department == 'Sales' &&")).toEqual({
      message: "syntax error: Unexpected token: EOF",
      offset: 24,
    });
  });

  it("reports a type error, since every attribute is a string", () => {
    expect(problem("costCenter > 100")).toEqual({
      message:
        "type error: no such overload: string > int (every attribute is a string; quote values: 'Sales')",
      offset: 0,
    });
    expect(problem("department == null").message).toMatch(/^type error: no such overload: string == null/);
  });

  it("requires a boolean result", () => {
    expect(problem("department")).toEqual({
      message: "a rule must be true or false, but this one gives a string",
      offset: 0,
    });
    expect(problem("size(title)").message).toBe("a rule must be true or false, but this one gives an int");
  });

  it("rejects an empty rule", () => {
    expect(problem("").message).toMatch(/^syntax error/);
  });
});
