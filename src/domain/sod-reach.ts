import type { Policy } from "./access-types.js";
import type { AttributeName, WorkerAttributes } from "./identity-types.js";
import type { RoleRule } from "./rule-types.js";
import { sodEvaluatorFor } from "./sod.js";
import { roleItems, sodItemKey } from "./sod-role-check.js";
import type { SodPolicy } from "./sod-types.js";

/**
 * What a full separation-of-duties scan must read, and which identities it need not evaluate. Pure.
 *
 * An identity can break a rule only with items some rule names. Those come from four places: roles
 * held by birthright (and what they include and grant), assignments, mover grace, and entitlements
 * reconcile found on its accounts. For someone with no assignment in force or to come and no mover
 * grace, everything they can hold is bounded above by the named items of the birthright roles whose
 * rules hold on their attributes and the named entitlements found on their enabled accounts. When that
 * bound breaks no rule ({@link SodEvaluator.mayBreak}), neither does their access, whatever its windows,
 * its presence in each system or the rules' scopes: the scan skips them. Everyone else is evaluated in
 * full (engine/sod-access.ts), so what is found is exactly what evaluating everyone would find.
 */

/** Separates a system from an entitlement, and one found entitlement from the next, in {@link SodReach.mayBreak}. */
export const FOUND_UNIT = "\u001f";
export const FOUND_SEPARATOR = "\u001e";

/** The bound of one identity, as the store reads it for a full scan. */
export interface SodReachInput {
  /**
   * The values of {@link SodReach.reads}, in that order, as a JSON array; or, when `reads` is null,
   * the identity's attributes as a JSON object. The text keys a memo: equal texts, equal roles.
   */
  attributes: string;
  /** The named entitlements found on its enabled accounts: `system␟key` joined by `␞`; null: none. */
  found: string | null;
}

export interface SodReach {
  /** `system␟key` of every entitlement a rule names: found entitlements of other keys are never held items. */
  readonly foundKeys: readonly string[];
  /**
   * The attributes the birthright rules that matter read, in a fixed order; null when one of them does
   * not declare what it reads (then the whole attributes are needed).
   */
  readonly reads: readonly AttributeName[] | null;
  /**
   * Whether an identity without assignments or mover grace could break a rule: false means it breaks
   * none, and need not be evaluated. Memoised on the attribute text and the found entitlements.
   */
  mayBreak(input: SodReachInput): boolean;
}

interface BirthrightRole {
  rule: RoleRule;
  /** Item keys a rule names among what the role gives (itself, its includes, their fixed grants). */
  keys: string[];
  /** It (or a role it includes) derives an entitlement from attributes in a system a rule names one of. */
  derives: boolean;
}

// Bounds on the memos: a population has few distinct attribute tuples and access profiles; past these,
// results are computed without being kept.
const MEMO_LIMIT = 200_000;

const reaches = new WeakMap<SodPolicy, WeakMap<Policy, SodReach>>();

/** The reach of `sod` over `policy`, built once per pair of compiled objects. */
export function sodReachFor(policy: Policy, sod: SodPolicy): SodReach {
  let byPolicy = reaches.get(sod);
  if (byPolicy === undefined) {
    byPolicy = new WeakMap();
    reaches.set(sod, byPolicy);
  }
  let reach = byPolicy.get(policy);
  if (reach === undefined) {
    reach = createSodReach(policy, sod);
    byPolicy.set(policy, reach);
  }
  return reach;
}

export function createSodReach(policy: Policy, sod: SodPolicy): SodReach {
  const evaluator = sodEvaluatorFor(sod);
  const foundKeys = new Set<string>();
  for (const rule of evaluator.rules) {
    const c = rule.condition;
    for (const item of c.kind === "pair" ? [...c.sideA, ...c.sideB] : c.items) {
      if (item.kind === "entitlement") foundKeys.add(`${item.system}${FOUND_UNIT}${item.entitlement}`);
    }
  }
  const namedSystems = new Set([...foundKeys].map((k) => k.slice(0, k.indexOf(FOUND_UNIT))));

  // Birthright roles that give some named item; the others cannot matter to a rule.
  const birthright: BirthrightRole[] = [];
  for (const def of Object.values(policy.roles)) {
    if (def.when === null) continue;
    const items = roleItems(policy, def.name);
    const keys = items.filter((i) => evaluator.names(i)).map(sodItemKey);
    const derives = items.some(
      (i) =>
        i.kind === "role" &&
        Object.hasOwn(policy.roles, i.role) &&
        policy.roles[i.role]!.grants.some((g) => (g.derived?.length ?? 0) > 0 && namedSystems.has(g.system)),
    );
    if (keys.length > 0 || derives) birthright.push({ rule: def.when, keys, derives });
  }
  let reads: AttributeName[] | null = [];
  for (const role of birthright) {
    if (role.rule.reads.length === 0) {
      reads = null;
      break;
    }
    for (const name of role.rule.reads) if (!reads.includes(name)) reads.push(name);
  }
  const readList = reads;

  /** Held birthright roles, as indices joined by commas; "*" when one derives (evaluate in full). */
  const heldMemo = new Map<string, string>();
  const held = (text: string): string => {
    const known = heldMemo.get(text);
    if (known !== undefined) return known;
    let attributes: WorkerAttributes;
    if (readList === null) attributes = JSON.parse(text) as WorkerAttributes;
    else {
      const values = JSON.parse(text) as unknown[];
      const partial: Record<string, unknown> = {};
      readList.forEach((name, i) => {
        partial[name] = values[i] ?? null;
      });
      attributes = partial as unknown as WorkerAttributes;
    }
    const out: number[] = [];
    let derives = false;
    birthright.forEach((role, i) => {
      if (!holds(role.rule, attributes)) return;
      out.push(i);
      if (role.derives) derives = true;
    });
    const result = derives ? "*" : out.join(",");
    if (heldMemo.size < MEMO_LIMIT) heldMemo.set(text, result);
    return result;
  };

  const boundMemo = new Map<string, boolean>();
  return {
    foundKeys: [...foundKeys],
    reads: readList,
    mayBreak(input) {
      if (evaluator.rules.length === 0) return false;
      const roles = held(input.attributes);
      if (roles === "*") return true;
      const key = `${roles}${FOUND_SEPARATOR}${input.found ?? ""}`;
      const known = boundMemo.get(key);
      if (known !== undefined) return known;
      const keys: string[] = [];
      if (roles !== "") for (const i of roles.split(",")) keys.push(...birthright[Number(i)]!.keys);
      if (input.found !== null && input.found !== "") {
        for (const unit of input.found.split(FOUND_SEPARATOR)) {
          const at = unit.indexOf(FOUND_UNIT);
          keys.push(
            sodItemKey({ kind: "entitlement", system: unit.slice(0, at), entitlement: unit.slice(at + 1) }),
          );
        }
      }
      const result = evaluator.mayBreak(keys);
      if (boundMemo.size < MEMO_LIMIT) boundMemo.set(key, result);
      return result;
    },
  };
}

/** A birthright rule's outcome as the desired-state calculator takes it: only a literal true holds. */
function holds(rule: RoleRule, attributes: WorkerAttributes): boolean {
  try {
    return rule.evaluate(attributes).value === true;
  } catch {
    return false;
  }
}
