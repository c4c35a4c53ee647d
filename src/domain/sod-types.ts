import type { RoleRule, SourceLocation } from "./rule-types.js";

/**
 * Separation of duties (tenure.yaml `sod:`): sets of access that must not be held together. Compiled
 * by the config loader (policy/sections/sod-section.ts), evaluated by domain/sod.ts.
 */

/** A piece of access a rule names: a role, or one entitlement of one system. */
export type SodItem =
  | { kind: "role"; role: string }
  | { kind: "entitlement"; system: string; entitlement: string };

export type SodSeverity = "high" | "medium" | "low";

/** A control that lowers the risk of a violation someone is allowed to keep, and who runs it. */
export interface MitigatingControl {
  control: string;
  owner: string | null;
}

/**
 * `pair`: holding any item of `sideA` together with any item of `sideB` is a conflict (maker/checker).
 * `atMost`: holding more than `max` distinct items of `items` at once is a conflict.
 */
export type SodCondition =
  | { kind: "pair"; sideA: readonly SodItem[]; sideB: readonly SodItem[] }
  | { kind: "atMost"; max: number; items: readonly SodItem[] };

export interface SodRule {
  name: string;
  /** The risk, in words an auditor reads: "can create a vendor and approve its payment". */
  description: string;
  severity: SodSeverity;
  /** Who answers for the rule (an email address, HR key or identity id): told of violations, decides exceptions. */
  owner: string | null;
  condition: SodCondition;
  /** CEL over the identity's attributes: the rule applies only where it holds; null: to everyone. */
  scope: RoleRule | null;
  mitigations: readonly MitigatingControl[];
  location: SourceLocation;
}

/** `sod:` compiled. */
export interface SodPolicy {
  rules: Readonly<Record<string, SodRule>>;
  /**
   * A birthright change (a mover) that would create a conflict: `report` grants it and reports the
   * violation; `withhold` keeps the newer access out of the plan until an exception is approved.
   */
  onBirthrightConflict: "report" | "withhold";
}
