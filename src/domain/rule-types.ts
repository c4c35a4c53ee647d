import type { AttributeName, WorkerAttributes } from "./identity-types.js";

/** Where a piece of policy was written, so every explanation and error can point at it. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** A compiled birthright rule. `evaluate` never throws: a runtime error counts as false and is explained. */
export interface RoleRule {
  /** The CEL source text as written. */
  source: string;
  location: SourceLocation;
  /**
   * The rule on one identity's attributes. Never throws. `error` says why a rule that could not be
   * computed on these values is false; `failed` marks a rule stopped by its evaluation budget: neither
   * true nor false, so that identity's access must be left as it is (and the failure reported).
   */
  evaluate(attributes: WorkerAttributes): { value: boolean; error?: string; failed?: boolean };
  /** The attributes the expression reads, for explanations ("department is 'Sales'") and for impact analysis. */
  reads: readonly AttributeName[];
}
