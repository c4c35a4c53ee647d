import type { Policy } from "./access-types.js";
import type { SodItem, SodPolicy } from "./sod-types.js";

/**
 * What holding a role amounts to for separation of duties, and the roles that break a rule on their
 * own, by definition: whoever is given such a role is in conflict, whatever else they hold. Pure.
 */

/** `role ap-clerk` / `erp:vendor-create`: an item as messages and reports name it. */
export function formatSodItem(item: SodItem): string {
  return item.kind === "role" ? `role ${item.role}` : `${item.system}:${item.entitlement}`;
}

/** One string per item, for maps and sets (a system name cannot hold the separator). */
export function sodItemKey(item: SodItem): string {
  return item.kind === "role" ? `r\u0000${item.role}` : `e\u0000${item.system}\u0000${item.entitlement}`;
}

/**
 * What holding `role` gives, as separation-of-duties items: the role itself, every role it includes
 * (directly or through others, breadth-first; a cycle of includes ends where it closes), and the fixed
 * entitlement keys granted by each of those roles. Entitlements a grant names from attributes
 * (templates, lookup tables) are left out: which they are depends on the person. A role the policy does
 * not define gives itself only. Each item once, roles first in breadth-first order, then entitlements
 * in the order they are first granted.
 */
export function roleItems(policy: Policy, role: string): SodItem[] {
  const roles: SodItem[] = [];
  const entitlements: SodItem[] = [];
  const seenRoles = new Set<string>();
  const seenEntitlements = new Set<string>();
  const queue = [role];
  seenRoles.add(role);
  for (let i = 0; i < queue.length; i++) {
    const name = queue[i] as string;
    roles.push({ kind: "role", role: name });
    const def = Object.hasOwn(policy.roles, name) ? policy.roles[name] : undefined;
    if (def === undefined) continue;
    for (const grant of def.grants) {
      for (const entitlement of grant.entitlements) {
        const item: SodItem = { kind: "entitlement", system: grant.system, entitlement };
        const key = sodItemKey(item);
        if (seenEntitlements.has(key)) continue;
        seenEntitlements.add(key);
        entitlements.push(item);
      }
    }
    for (const included of def.includes) {
      if (seenRoles.has(included)) continue;
      seenRoles.add(included);
      queue.push(included);
    }
  }
  return [...roles, ...entitlements];
}

/** A role that breaks a rule by its definition alone, and the items of the rule it holds. */
export interface RoleBundleConflict {
  role: string;
  rule: string;
  /**
   * The rule's items the role holds ({@link roleItems}): for a pair rule those of side A, then those of
   * side B; for an `atMost` rule the (more than `max`) items of its set. In the rule's order.
   */
  items: SodItem[];
}

/**
 * Every role of `policy` whose own bundle — itself, what it includes, what those grant
 * ({@link roleItems}) — breaks a rule of `sod`: one item of each side of a pair rule, or more than
 * `max` items of an `atMost` rule. Rule scopes are not evaluated: the role breaks the rule for anyone
 * in its scope. In the order roles, then rules, are written.
 */
export function roleBundleConflicts(policy: Policy, sod: SodPolicy): RoleBundleConflict[] {
  const rules = Object.values(sod.rules);
  const out: RoleBundleConflict[] = [];
  if (rules.length === 0) return out;
  for (const role of Object.keys(policy.roles)) {
    const held = new Set(roleItems(policy, role).map(sodItemKey));
    const heldOf = (items: readonly SodItem[]) =>
      distinct(items).filter((item) => held.has(sodItemKey(item)));
    for (const rule of rules) {
      const c = rule.condition;
      if (c.kind === "pair") {
        const a = heldOf(c.sideA);
        const b = heldOf(c.sideB);
        if (a.length > 0 && b.length > 0) out.push({ role, rule: rule.name, items: [...a, ...b] });
      } else {
        const items = heldOf(c.items);
        if (items.length > c.max) out.push({ role, rule: rule.name, items });
      }
    }
  }
  return out;
}

function distinct(items: readonly SodItem[]): SodItem[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = sodItemKey(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
