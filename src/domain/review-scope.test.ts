import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reviewScope } from "../../test/helpers/review-definition.js";
import type { DesiredAccess, Lineage, Policy } from "./access-types.js";
import {
  type CandidateItem,
  candidatesOf,
  createPeerStats,
  identityInScope,
  itemInScope,
  peerGroupOf,
  type ReviewAccount,
} from "./review-scope.js";
import type { ReviewScope } from "./review-types.js";

const LOC = { file: "tenure.yaml", line: 1, column: 1 };
const policy = {
  systems: {},
  entitlements: {
    erp: {
      admin: {
        system: "erp",
        key: "admin",
        displayName: "admin",
        privileged: true,
        risk: "high",
        owner: null,
        location: LOC,
      },
      read: {
        system: "erp",
        key: "read",
        displayName: "read",
        privileged: false,
        risk: "low",
        owner: null,
        location: LOC,
      },
    },
  },
  roles: {
    ops: {
      name: "ops",
      description: null,
      when: null,
      includes: ["base"],
      grants: [],
      requestable: null,
      location: LOC,
    },
    base: {
      name: "base",
      description: null,
      when: null,
      includes: [],
      grants: [{ system: "erp", entitlements: ["admin"] }],
      requestable: null,
      location: LOC,
    },
  },
} as unknown as Policy;

const birthright: Lineage = { kind: "role", role: "base", chain: ["base"], rule: null };
const assigned: Lineage = {
  kind: "assignment",
  assignmentId: "a1",
  target: "erp:read",
  validUntil: null,
  requestId: "r1",
};
const grace: Lineage = { kind: "mover-grace", until: "2026-12-20T00:00:00Z", from: birthright };

function desired(entitlements: Record<string, Lineage[]>): DesiredAccess {
  return {
    identityId: "i1",
    systems: {
      erp: {
        system: "erp",
        presence: "enabled",
        presenceLineage: [],
        username: null,
        attributes: {},
        entitlements,
        withheld: {},
      },
    },
  };
}
const account: ReviewAccount = {
  system: "erp",
  username: "jdoe",
  entitlements: ["admin", "read", "payments"],
  isManaged: (k) => k !== "payments",
  lastUsedAt: "2026-10-01T00:00:00Z",
};
const scope = reviewScope;

describe("candidatesOf", () => {
  const list = candidatesOf({
    policy,
    desired: desired({ admin: [birthright], read: [assigned], old: [grace] }),
    roles: new Map([
      ["ops", [{ kind: "assignment", assignmentId: "a2", target: "role ops", validUntil: null }]],
    ]),
    accounts: [account],
    withRoles: true,
  });
  const byKey = new Map(list.map((c) => [c.accessKey, c]));

  it("gives one candidate per piece of access with its source, lineage and account", () => {
    expect([...byKey.keys()].sort()).toEqual([
      "entitlement:erp:admin",
      "entitlement:erp:old",
      "entitlement:erp:payments",
      "entitlement:erp:read",
      "role:ops",
    ]);
    expect(byKey.get("entitlement:erp:admin")).toMatchObject({
      source: "birthright",
      privileged: true,
      lineage: [birthright],
    });
    expect(byKey.get("entitlement:erp:read")).toMatchObject({
      source: "assignment",
      assignmentId: "a1",
      requestId: "r1",
      privileged: false,
      account: { username: "jdoe" },
    });
    expect(byKey.get("entitlement:erp:old")).toMatchObject({
      source: "mover-grace",
      graceUntil: "2026-12-20T00:00:00Z",
    });
    expect(byKey.get("entitlement:erp:payments")).toMatchObject({ source: "found", lineage: [] });
    // A role is privileged when a role it includes grants a privileged entitlement.
    expect(byKey.get("role:ops")).toMatchObject({ source: "assignment", privileged: true, account: null });
  });

  it("leaves out a system whose account is not enabled, and its entitlements found there", () => {
    const d = desired({ admin: [birthright] });
    d.systems.erp!.presence = "disabled";
    const none = candidatesOf({ policy, desired: d, roles: new Map(), accounts: [], withRoles: false });
    expect(none).toEqual([]);
  });

  it("filters by the scope: systems, entitlements, roles, privileged, requested, kept after a move", () => {
    const keys = (s: ReviewScope) =>
      list
        .filter((c: CandidateItem) => itemInScope(c, s))
        .map((c) => c.accessKey)
        .sort();
    expect(keys(scope())).toHaveLength(4);
    expect(keys(scope({ systems: ["crm"] }))).toEqual([]);
    expect(keys(scope({ entitlements: [{ system: "erp", entitlement: "read" }] }))).toEqual([
      "entitlement:erp:read",
    ]);
    expect(keys(scope({ roles: ["ops"] }))).toEqual(["role:ops"]);
    expect(keys(scope({ privilegedOnly: true }))).toEqual(["entitlement:erp:admin"]);
    expect(keys(scope({ requestedOnly: true }))).toEqual(["entitlement:erp:read"]);
    expect(keys(scope({ keptAfterMove: true }))).toEqual(["entitlement:erp:old"]);
  });
});

describe("identityInScope", () => {
  it("keeps non-human identities only when asked, and applies the where rule", () => {
    const attributes = { department: "Finance" } as never;
    const where = {
      source: "department == 'Finance'",
      location: LOC,
      reads: ["department" as const],
      evaluate: (a: { department: string | null }) => ({ value: a.department === "Finance" }),
    };
    expect(identityInScope({ kind: "human", attributes }, scope({ nonHuman: true }))).toBe(false);
    expect(identityInScope({ kind: "service", attributes }, scope({ nonHuman: true }))).toBe(true);
    expect(identityInScope({ kind: "human", attributes }, scope({ where: where as never }))).toBe(true);
    expect(
      identityInScope(
        { kind: "human", attributes: { department: "Sales" } as never },
        scope({ where: where as never }),
      ),
    ).toBe(false);
  });
});

describe("peer statistics", () => {
  it("count peers by department and title, the holder not counted", () => {
    const stats = createPeerStats();
    const g = peerGroupOf({ department: "Finance", title: "Accountant" });
    for (let i = 0; i < 10; i++) stats.add(g, i < 3 ? ["a", "a", "b"] : ["b"]);
    stats.add(peerGroupOf({ department: "Finance", title: "Controller" }), ["a"]);
    expect(stats.peersOf(g, "a")).toEqual({ total: 9, holding: 2 });
    expect(stats.peersOf(g, "b")).toEqual({ total: 9, holding: 9 });
    expect(peerGroupOf({ department: "Finance", title: null })).toBeNull();
    expect(stats.peersOf(null, "a")).toBeNull();
  });

  it("count each person once per key however people, groups and repeated keys interleave", () => {
    const person = fc.record({
      group: fc.option(fc.constantFrom("g1", "g2", "g3"), { nil: null }),
      keys: fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(fc.array(person, { maxLength: 40 }), (people) => {
        const stats = createPeerStats();
        for (const p of people) stats.add(p.group, p.keys);
        for (const group of ["g1", "g2", "g3", null]) {
          const members = people.filter((p) => p.group === group);
          for (const key of ["a", "b", "c", "d", "e"] as const) {
            const holding = members.filter((p) => (p.keys as string[]).includes(key)).length;
            const expected =
              group === null || members.length === 0
                ? null
                : { total: members.length - 1, holding: Math.max(0, holding - 1) };
            expect(stats.peersOf(group, key)).toEqual(expected);
          }
        }
      }),
    );
  });

  it("merged from two counts of two parts of the people, answer as one count of everyone", () => {
    // A campaign split across two threads counts each half, then each merges the other's counts.
    const person = fc.record({
      group: fc.option(fc.constantFrom("g1", "g2", "g3"), { nil: null }),
      keys: fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 6 }),
      first: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(person, { maxLength: 40 }), (people) => {
        const whole = createPeerStats();
        const one = createPeerStats();
        const two = createPeerStats();
        for (const p of people) {
          whole.add(p.group, p.keys);
          (p.first ? one : two).add(p.group, p.keys);
        }
        const oneCounts = one.counts();
        one.merge(two.counts());
        two.merge(oneCounts);
        // Counted after the merge: a person of the part merged in is not taken for this one.
        const late = { group: "g1", keys: ["a", "a", "b"] };
        for (const s of [whole, one, two]) s.add(late.group, late.keys);
        for (const group of ["g1", "g2", "g3", null])
          for (const key of ["a", "b", "c", "d", "e"]) {
            expect(one.peersOf(group, key)).toEqual(whole.peersOf(group, key));
            expect(two.peersOf(group, key)).toEqual(whole.peersOf(group, key));
          }
      }),
    );
  });

  it("answer from the counts as they are when asked, with people added between the questions", () => {
    // Answers are kept per group and access, and the group last asked about is remembered: a person
    // added afterwards (to a group asked about before it existed, too) must change the next answer.
    const step = fc.oneof(
      fc.record({
        add: fc.constantFrom("g1", "g2", "g3"),
        keys: fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 4 }),
      }),
      fc.record({ ask: fc.constantFrom("g1", "g2", "g3"), key: fc.constantFrom("a", "b", "c", "d") }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const stats = createPeerStats();
        const added: { group: string; keys: string[] }[] = [];
        for (const s of steps) {
          if ("add" in s) {
            stats.add(s.add, s.keys);
            added.push({ group: s.add, keys: s.keys });
            continue;
          }
          const members = added.filter((p) => p.group === s.ask);
          const holding = members.filter((p) => p.keys.includes(s.key)).length;
          expect(stats.peersOf(s.ask, s.key)).toEqual(
            members.length === 0 ? null : { total: members.length - 1, holding: Math.max(0, holding - 1) },
          );
        }
      }),
    );
  });
});
