import type { Account, Assignment, DesiredAccess, Lineage, Policy } from "./access-types.js";
import type { DesiredStateCalculator, DesiredStateContext } from "./desired-state-types.js";
import { heldAccountsOf, holdingsOf, type SodEvaluator, sodEvaluatorFor } from "./sod.js";
import type { Holding, SodViolation } from "./sod-holding-types.js";
import { formatSodItem } from "./sod-role-check.js";

/**
 * `sod.onBirthrightConflict: withhold`: access that birthright policy would newly give and that would
 * break a rule is kept out of the plan until an exception for that rule is approved. Only access not
 * yet in the target is withheld — what someone already has is the detective scan's business, never
 * taken away silently here. Pure.
 */

/** Access kept out of one identity's plan, and the rule it would have broken. */
export interface SodWithheld {
  rule: string;
  system: string;
  entitlement: string;
}

/** Whether a holding comes from birthright policy alone (not an assignment, not found in the target). */
function birthrightOnly(h: Holding): boolean {
  return h.source === "desired" && h.lineage.every((l) => l.kind === "role" || l.kind === "mover-grace");
}

function fromRole(lineage: readonly Lineage[], role: string): boolean {
  return lineage.some(
    (l) =>
      (l.kind === "role" && l.chain.includes(role)) || (l.kind === "mover-grace" && fromRole([l.from], role)),
  );
}

/**
 * Which of a violation's access is new birthright (held by policy, not found in the target) and so
 * can be withheld: as system/entitlement pairs of `desired`. Empty when the conflict is all access
 * already held or granted by request (the detective scan reports those).
 */
export function withholdable(violation: SodViolation, desired: DesiredAccess): SodWithheld[] {
  const out: SodWithheld[] = [];
  const found = new Set(
    violation.sides.flatMap((s) =>
      s.holdings.some((h) => h.source === "found") ? [formatSodItem(s.item)] : [],
    ),
  );
  for (const side of violation.sides) {
    if (found.has(formatSodItem(side.item)) || !side.holdings.every(birthrightOnly)) continue;
    const item = side.item;
    for (const system of Object.values(desired.systems)) {
      for (const key of Object.keys(system.entitlements)) {
        const lineage = system.entitlements[key]!;
        const match =
          item.kind === "entitlement"
            ? item.system === system.system && item.entitlement === key
            : fromRole(lineage, item.role);
        if (match && lineage.every((l) => l.kind === "role" || l.kind === "mover-grace"))
          out.push({ rule: violation.rule, system: system.system, entitlement: key });
      }
    }
  }
  return out;
}

/**
 * Desired access with new birthright conflicts withheld: each withheld entitlement moves from
 * `entitlements` to `withheld` with a lifecycle lineage naming the rule. `excepted(rule)`: an approved
 * exception is in force for the rule, so nothing of it is withheld. Returns what was withheld.
 */
export function withholdConflicts(
  calculator: DesiredStateCalculator,
  context: DesiredStateContext,
  accounts: readonly Account[],
  excepted: (rule: string) => boolean,
): { desired: DesiredAccess; withheld: SodWithheld[] } {
  const policy: Policy = calculator.policy;
  const sod = policy.sod;
  if (sod === undefined || sod.onBirthrightConflict !== "withhold") {
    return { desired: calculator.compute(context), withheld: [] };
  }
  const evaluator: SodEvaluator = sodEvaluatorFor(sod);
  const { desired, roles } = calculator.computeWithRoles(context);
  const holdings = holdingsOf(
    {
      policy,
      desired,
      roles,
      assignments: context.assignments as readonly Assignment[],
      accounts: heldAccountsOf(accounts),
      employment: context.identity.employment,
      now: context.now,
    },
    evaluator.names,
  );
  const violations = evaluator.evaluate(context.identity.id, context.identity.attributes, holdings);
  const withheld: SodWithheld[] = [];
  for (const v of violations) {
    if (Date.parse(v.from) > context.now.getTime() || excepted(v.rule)) continue;
    withheld.push(...withholdable(v, desired));
  }
  for (const w of withheld) {
    const system = desired.systems[w.system];
    if (system === undefined || !Object.hasOwn(system.entitlements, w.entitlement)) continue;
    const rule = sod.rules[w.rule]!;
    const why: Lineage = {
      kind: "lifecycle",
      policy: "sod.onBirthrightConflict: withhold",
      note: `withheld: it would break separation-of-duties rule ${rule.name} (${rule.location.file}:${rule.location.line}) until an exception is approved`,
    };
    const { [w.entitlement]: lineage, ...rest } = system.entitlements;
    system.entitlements = rest;
    system.withheld = { ...system.withheld, [w.entitlement]: [why, ...(lineage ?? [])] };
  }
  return { desired, withheld };
}
