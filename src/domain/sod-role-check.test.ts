import { describe, expect, it } from "vitest";
import type { Policy, RoleDef, RoleGrant } from "./access-types.js";
import { formatSodItem, roleBundleConflicts, roleItems } from "./sod-role-check.js";
import type { SodCondition, SodItem, SodPolicy, SodRule } from "./sod-types.js";

const at = { file: "tenure.yaml", line: 1, column: 1 };

function role(name: string, includes: string[], grants: RoleGrant[] = []): RoleDef {
  return { name, description: null, when: null, includes, grants, requestable: null, location: at };
}

function policyOf(roles: RoleDef[]): Policy {
  return {
    systems: {},
    entitlements: {},
    roles: Object.fromEntries(roles.map((r) => [r.name, r])),
  };
}

const r = (name: string): SodItem => ({ kind: "role", role: name });
const e = (system: string, entitlement: string): SodItem => ({ kind: "entitlement", system, entitlement });

function sodOf(rules: Record<string, SodCondition>): SodPolicy {
  return {
    onBirthrightConflict: "report",
    rules: Object.fromEntries(
      Object.entries(rules).map(([name, condition]): [string, SodRule] => [
        name,
        {
          name,
          description: name,
          severity: "high",
          owner: null,
          condition,
          scope: null,
          mitigations: [],
          location: at,
        },
      ]),
    ),
  };
}

describe("formatSodItem", () => {
  it("names a role and an entitlement as messages show them", () => {
    expect(formatSodItem(r("ap-clerk"))).toBe("role ap-clerk");
    expect(formatSodItem(e("erp", "vendor-create"))).toBe("erp:vendor-create");
  });
});

describe("roleItems", () => {
  it("gives the role, the roles it includes breadth-first, then the fixed entitlements they grant, each once", () => {
    const policy = policyOf([
      role("lead", ["clerk", "approver"], [{ system: "erp", entitlements: ["report"] }]),
      role("clerk", ["base"], [{ system: "erp", entitlements: ["vendor-create", "report"] }]),
      role("approver", ["base"], [{ system: "erp", entitlements: ["payment-approve"] }]),
      role("base", [], [{ system: "wiki", entitlements: ["readers"] }]),
    ]);
    expect(roleItems(policy, "lead")).toEqual([
      r("lead"),
      r("clerk"),
      r("approver"),
      r("base"),
      e("erp", "report"),
      e("erp", "vendor-create"),
      e("erp", "payment-approve"),
      e("wiki", "readers"),
    ]);
  });

  it("leaves out entitlements named from attributes", () => {
    const policy = policyOf([
      role(
        "dept",
        [],
        [
          {
            system: "ad",
            entitlements: ["staff"],
            derived: [
              {
                kind: "map",
                attribute: "department",
                map: { Finance: "finance" },
                default: null,
                location: at,
              },
            ],
          },
        ],
      ),
    ]);
    expect(roleItems(policy, "dept")).toEqual([r("dept"), e("ad", "staff")]);
  });

  it("ends where a cycle of includes closes", () => {
    const policy = policyOf([
      role("a", ["b"], [{ system: "s", entitlements: ["x"] }]),
      role("b", ["c"]),
      role("c", ["a", "c"], [{ system: "s", entitlements: ["y"] }]),
    ]);
    expect(roleItems(policy, "b")).toEqual([r("b"), r("c"), r("a"), e("s", "y"), e("s", "x")]);
  });

  it("gives a role the policy does not define as itself, and follows no include it cannot find", () => {
    expect(roleItems(policyOf([]), "ghost")).toEqual([r("ghost")]);
    expect(roleItems(policyOf([role("a", ["ghost"])]), "a")).toEqual([r("a"), r("ghost")]);
  });

  it("does not take a role named like an Object.prototype member for a definition", () => {
    expect(roleItems(policyOf([]), "constructor")).toEqual([r("constructor")]);
  });
});

describe("roleBundleConflicts", () => {
  const policy = policyOf([
    role("clerk", [], [{ system: "erp", entitlements: ["vendor-create"] }]),
    role("approver", [], [{ system: "erp", entitlements: ["payment-approve"] }]),
    role("ap-lead", ["clerk"], [{ system: "erp", entitlements: ["payment-approve"] }]),
    role("finance-all", ["ap-lead"]),
    role("ops", ["db", "net", "cloud"]),
    role("db", []),
    role("net", []),
    role("cloud", []),
    role("two", ["db", "net"]),
  ]);
  const sod = sodOf({
    "vendor-payment": {
      kind: "pair",
      sideA: [r("clerk"), e("erp", "vendor-create")],
      sideB: [e("erp", "payment-approve")],
    },
    "admin-sprawl": { kind: "atMost", max: 2, items: [r("db"), r("net"), r("cloud")] },
  });

  it("finds the roles holding both sides of a pair rule, through includes too, with the items they hold", () => {
    const found = roleBundleConflicts(policy, sod).filter((c) => c.rule === "vendor-payment");
    expect(found).toEqual([
      {
        role: "ap-lead",
        rule: "vendor-payment",
        items: [r("clerk"), e("erp", "vendor-create"), e("erp", "payment-approve")],
      },
      {
        role: "finance-all",
        rule: "vendor-payment",
        items: [r("clerk"), e("erp", "vendor-create"), e("erp", "payment-approve")],
      },
    ]);
  });

  it("finds a role holding more than atMost items of the set, and not one holding exactly that many", () => {
    const found = roleBundleConflicts(policy, sod).filter((c) => c.rule === "admin-sprawl");
    expect(found).toEqual([{ role: "ops", rule: "admin-sprawl", items: [r("db"), r("net"), r("cloud")] }]);
  });

  it("terminates on a cycle of includes, and finds the conflict every role of the cycle holds", () => {
    const cyclic = policyOf([
      role("a", ["b"], [{ system: "erp", entitlements: ["vendor-create"] }]),
      role("b", ["a"], [{ system: "erp", entitlements: ["payment-approve"] }]),
    ]);
    expect(roleBundleConflicts(cyclic, sod).map((c) => c.role)).toEqual(["a", "b"]);
  });

  it("finds nothing without rules", () => {
    expect(roleBundleConflicts(policy, sodOf({}))).toEqual([]);
  });
});
