import type { RoleRule } from "./access-types.js";
import type { RuleOutcome } from "./desired-state-types.js";
import type { AttributeName, WorkerAttributes } from "./identity-types.js";

/** Distinct attribute tuples remembered per rule; past this, new tuples are evaluated, not remembered. */
const RULE_MEMO_LIMIT = 50_000;
/**
 * After this many look-ups, a rule whose tuples are mostly distinct (it reads `employeeId`, say) stops
 * being memoised: remembering one result per person costs more than evaluating, and holds memory.
 */
const RULE_MEMO_PROBATION = 2_000;

/** One level per read attribute, keyed by its value (null included), the last level holding outcomes. */
export type MemoLevel = Map<string | null, MemoLevel | RuleOutcome>;

/** A role's birthright rule with the memo of its outcomes by the attributes it reads. */
export interface MemoisedRule {
  rule: RoleRule | null;
  /** Read attributes for the memo key; null when the rule is not memoised. */
  reads: readonly AttributeName[] | null;
  memo: MemoLevel | null;
  memoSize: number;
  memoLookups: number;
}

function evaluateSafely(rule: RoleRule, attributes: WorkerAttributes): RuleOutcome {
  try {
    const result = rule.evaluate(attributes);
    if (result.failed === true) return { value: false, error: result.error ?? "not evaluated", failed: true };
    // Anything but a literal true is false: a rule must never grant access by accident.
    if (result.value === true) return result.error === undefined ? TRUE : result;
    return result.error === undefined ? FALSE : { value: false, error: result.error };
  } catch (error) {
    return { value: false, error: error instanceof Error ? error.message : String(error) };
  }
}
const TRUE: RuleOutcome = Object.freeze({ value: true });
const FALSE: RuleOutcome = Object.freeze({ value: false });

export function evaluateRole(role: MemoisedRule, attributes: WorkerAttributes): RuleOutcome {
  const rule = role.rule!;
  const reads = role.reads;
  let level = role.memo;
  if (level === null || reads === null) return evaluateSafely(rule, attributes);
  // Nested maps keyed by the values themselves: no key string to build, and null is a key like any other.
  const last = reads.length - 1;
  for (let i = 0; i < last; i++) {
    const value = attributes[reads[i]!];
    let next = level.get(value) as MemoLevel | undefined;
    if (next === undefined) {
      next = new Map();
      level.set(value, next);
    }
    level = next;
  }
  const value = attributes[reads[last]!];
  let outcome = level.get(value) as RuleOutcome | undefined;
  role.memoLookups++;
  if (outcome === undefined) {
    outcome = evaluateSafely(rule, attributes);
    if (role.memoSize < RULE_MEMO_LIMIT) {
      level.set(value, outcome);
      role.memoSize++;
    }
  }
  if (role.memoLookups === RULE_MEMO_PROBATION && role.memoSize > RULE_MEMO_PROBATION / 2) role.memo = null;
  return outcome;
}
