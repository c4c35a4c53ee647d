import type { Lineage } from "./access-types.js";
import type { SodItem, SodSeverity } from "./sod-types.js";

/** Effective access as separation-of-duties rules see it, and what breaking a rule looks like. */

/**
 * One piece of access an identity holds (or will hold) for a window, and why. `until` null: open-ended.
 * `source` says how it was found: given by policy or an assignment (`desired`), or read in the target
 * by reconcile (`found`), whoever put it there.
 */
export interface Holding {
  item: SodItem;
  from: string;
  until: string | null;
  source: "desired" | "found";
  lineage: readonly Lineage[];
  /** For `found`: the system, the account's username, and whether Tenure granted it (else added outside). */
  account?: { system: string; username: string; managed: boolean };
}

/** One side of a violation: the access held and every reason it is held. */
export interface ViolationSide {
  item: SodItem;
  holdings: readonly Holding[];
}

/**
 * A rule broken by one identity: the access colliding (two sides for `pair`, more than `max` for
 * `atMost`) and the window in which all of it is held at once.
 */
export interface SodViolation {
  identityId: string;
  rule: string;
  severity: SodSeverity;
  sides: readonly ViolationSide[];
  from: string;
  until: string | null;
  /** Stable for the same rule, identity and colliding items: what the store keys open violations by. */
  key: string;
}
