import type { Policy, SystemDef } from "./access-types.js";

/**
 * What the planner and the desired-state calculator both look up in a policy, built once per policy
 * object: the systems in the order the file declares them (plans and lineage follow it) and, per
 * system, its privileged entitlements (what a leaver loses at once, and what a plan marks).
 */
export interface PolicyIndex {
  readonly systems: readonly SystemDef[];
  readonly order: ReadonlyMap<string, number>;
  readonly privileged: ReadonlyMap<string, ReadonlySet<string>>;
}

const indexes = new WeakMap<Policy, PolicyIndex>();

export function indexPolicy(policy: Policy): PolicyIndex {
  let index = indexes.get(policy);
  if (index === undefined) {
    const names = Object.keys(policy.systems);
    index = {
      systems: names.map((name) => policy.systems[name]!),
      order: new Map(names.map((name, i) => [name, i])),
      privileged: new Map(
        names.map((name) => {
          const defs = policy.entitlements[name] ?? {};
          return [name, new Set(Object.keys(defs).filter((key) => defs[key]!.privileged))];
        }),
      ),
    };
    indexes.set(policy, index);
  }
  return index;
}
