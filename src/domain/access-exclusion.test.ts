import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { accessRemoved } from "./access-exclusion.js";
import type {
  AccessExclusion,
  Account,
  Assignment,
  EntitlementDef,
  Policy,
  RoleDef,
  RoleGrant,
  RoleRule,
  SystemDef,
} from "./access-types.js";
import { computeDesiredAccess } from "./desired-state.js";
import type { DesiredStateInput } from "./desired-state-types.js";
import { explainAccess } from "./explain.js";
import type { AttributeName, Identity, WorkerAttributes } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";
import { planIdentity } from "./plan.js";

const at = (line: number) => ({ file: "tenure.yaml", line, column: 1 });

function rule(source: string, reads: AttributeName[], test: (a: WorkerAttributes) => boolean): RoleRule {
  return { source, location: at(30), reads, evaluate: (a) => ({ value: test(a) }) };
}

function system(name: string): SystemDef {
  return {
    name,
    connector: "sql",
    connectorConfig: {},
    owner: null,
    drift: "report",
    orphans: "report",
    account: { username: "{givenName}.{familyName}", collision: "suffix", attributes: {} },
    correlation: { account: "email", identity: "email" },
    retry: { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 60 },
    location: at(10),
  };
}

function entitlement(sys: string, key: string, privileged = false): EntitlementDef {
  return { system: sys, key, displayName: key, privileged, risk: "low", owner: null, location: at(20) };
}

function role(name: string, when: RoleRule | null, grants: RoleGrant[], includes: string[] = []): RoleDef {
  return { name, description: null, when, includes, grants, requestable: null, location: at(40) };
}

const policy: Policy = {
  systems: { wiki: system("wiki"), deploy: system("deploy") },
  entitlements: {
    wiki: {
      readers: entitlement("wiki", "readers"),
      editors: entitlement("wiki", "editors"),
      admins: entitlement("wiki", "admins", true),
    },
    deploy: { users: entitlement("deploy", "users"), admins: entitlement("deploy", "admins", true) },
  },
  roles: {
    employee: role(
      "employee",
      rule("employmentType == 'employee'", ["employmentType"], (a) => a.employmentType === "employee"),
      [{ system: "wiki", entitlements: ["readers"] }],
    ),
    engineer: role(
      "engineer",
      rule("department == 'Engineering'", ["department"], (a) => a.department === "Engineering"),
      [
        { system: "deploy", entitlements: ["users"] },
        { system: "wiki", entitlements: ["editors"] },
      ],
      ["employee"],
    ),
    "wiki-admin": role("wiki-admin", null, [{ system: "wiki", entitlements: ["admins"] }]),
  },
};

const lifecycle: LifecycleConfig = {
  prehireDays: 7,
  moverGraceDays: 30,
  deleteAfterDays: 30,
  contractorWarningDays: 14,
  leaver: { revoke: "privileged" },
  massChangeThreshold: { percent: 10, minimum: 5 },
};

const NOW = "2026-03-10T12:00:00.000Z";

function person(overrides: Partial<WorkerAttributes> = {}, identity: Partial<Identity> = {}): Identity {
  return {
    id: "id-1",
    kind: "human",
    source: "hr",
    sourceKey: "E1",
    state: "active",
    attributes: workerAttributes({ startDate: "2025-01-01", ...overrides }),
    employment: 1,
    stateSince: "2025-01-01T00:00:00.000Z",
    createdAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:00.000Z",
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
    ...identity,
  };
}

function exclusion(
  target: AccessExclusion["target"],
  overrides: Partial<AccessExclusion> = {},
): AccessExclusion {
  return {
    identityId: "id-1",
    employment: 1,
    target,
    itemId: "item-7",
    campaignId: "c-1",
    campaign: "q1-access",
    ...overrides,
  };
}

function assignment(target: Assignment["target"]): Assignment {
  return {
    id: "a1",
    identityId: "id-1",
    target,
    employment: 1,
    validFrom: "2026-01-01T00:00:00.000Z",
    validUntil: null,
    reason: "on call",
    approvedBy: "boss",
    revokedAt: null,
  };
}

function input(identity: Identity, extra: Partial<DesiredStateInput> = {}): DesiredStateInput {
  return {
    identity,
    policy,
    lifecycle,
    assignments: [],
    usernames: {},
    now: new Date(NOW),
    today: NOW.slice(0, 10),
    ...extra,
  };
}

function account(system: string, entitlements: string[]): Account {
  return {
    system,
    nativeId: `n-${system}`,
    username: "ada.lovelace",
    identityId: "id-1",
    enabled: true,
    attributes: {},
    entitlements,
    managedEntitlements: entitlements,
    managed: true,
    lastSeenAt: null,
    lastUsedAt: null,
  };
}

const EXCLUDED_NOTE = "excluded by review item item-7 in campaign q1-access";

describe("review exclusions in desired state", () => {
  it("withholds an excluded birthright entitlement with the review as its reason, and the plan revokes it", () => {
    const ada = person();
    const d = computeDesiredAccess(
      input(ada, { exclusions: [exclusion({ system: "wiki", entitlement: "editors" })] }),
    );
    const wiki = d.systems.wiki!;
    expect(Object.keys(wiki.entitlements)).toEqual(["readers"]);
    expect(wiki.withheld.editors![0]).toEqual({
      kind: "lifecycle",
      policy: "reviews",
      note: EXCLUDED_NOTE,
      review: { itemId: "item-7", campaignId: "c-1" },
    });
    expect(wiki.presence).toBe("enabled");

    const ops = planIdentity(
      d,
      [account("wiki", ["readers", "editors"]), account("deploy", ["users"])],
      policy,
    );
    expect(ops.map((o) => [o.kind, o.system, o.entitlement])).toEqual([["revoke", "wiki", "editors"]]);
    expect(ops[0]!.reason).toBe(`Revoke wiki:editors: ${EXCLUDED_NOTE}.`);
    // Without the account holding it, nothing is granted either.
    expect(planIdentity(d, [account("wiki", ["readers"]), account("deploy", ["users"])], policy)).toEqual([]);
  });

  it("drops an excluded role and what only it brings, keeping what another held role gives", () => {
    const d = computeDesiredAccess(input(person(), { exclusions: [exclusion({ role: "employee" })] }));
    expect(Object.keys(d.systems.wiki!.entitlements)).toEqual(["editors"]);
    expect(Object.keys(d.systems.deploy!.entitlements)).toEqual(["users"]);
    const explained = explainAccess(input(person(), { exclusions: [exclusion({ role: "employee" })] }));
    expect(explained.lines.find((l) => l.startsWith("role employee:"))).toContain(
      `${EXCLUDED_NOTE}: not held through policy`,
    );
  });

  it("explains an excluded entitlement as withheld by the review", () => {
    const explained = explainAccess(
      input(person(), { exclusions: [exclusion({ system: "wiki", entitlement: "editors" })] }),
      { entitlement: "wiki:editors" },
    );
    expect(explained.lines).toContain(`wiki:editors is withheld: ${EXCLUDED_NOTE}`);
  });

  it("keeps access an assignment gives: a request approved after the review wins", () => {
    const d = computeDesiredAccess(
      input(person(), {
        assignments: [assignment({ system: "wiki", entitlement: "editors" })],
        exclusions: [exclusion({ system: "wiki", entitlement: "editors" })],
      }),
    );
    expect(d.systems.wiki!.entitlements.editors!.map((l) => l.kind)).toEqual(["assignment"]);
    expect(d.systems.wiki!.withheld).toEqual({});
  });

  it("ignores exclusions of an earlier employment (a rehire starts clean) and of other identities", () => {
    const rehired = person({}, { employment: 2 });
    const d = computeDesiredAccess(
      input(rehired, {
        exclusions: [
          exclusion({ system: "wiki", entitlement: "editors" }),
          exclusion({ role: "engineer" }, { identityId: "id-2", employment: 2 }),
        ],
      }),
    );
    expect(Object.keys(d.systems.wiki!.entitlements).sort()).toEqual(["editors", "readers"]);
    expect(d.systems.deploy).toBeDefined();
  });

  it("ends mover grace early for the excluded access", () => {
    const mover = person(
      { department: "Sales" },
      {
        previousAttributes: workerAttributes({ startDate: "2025-01-01", department: "Engineering" }),
        attributesChangedAt: "2026-03-01T00:00:00.000Z",
      },
    );
    const kept = computeDesiredAccess(input(mover));
    expect(kept.systems.deploy!.entitlements.users![0]!.kind).toBe("mover-grace");
    const ended = computeDesiredAccess(
      input(mover, { exclusions: [exclusion({ system: "deploy", entitlement: "users" })] }),
    );
    expect(ended.systems.deploy!.entitlements).toEqual({});
    expect(ended.systems.deploy!.withheld.users![0]!).toMatchObject({ note: EXCLUDED_NOTE });
    const roleEnded = computeDesiredAccess(input(mover, { exclusions: [exclusion({ role: "engineer" })] }));
    expect(roleEnded.systems.deploy).toBeUndefined();
    expect(accessRemoved(kept, roleEnded)).toEqual([
      { system: "wiki", entitlement: "editors" },
      { system: "deploy", entitlement: "users" },
      { system: "deploy", entitlement: null },
    ]);
  });

  it("never lets excluded access into the plan (property)", () => {
    const targets: AccessExclusion["target"][] = [
      { role: "employee" },
      { role: "engineer" },
      { role: "wiki-admin" },
      { system: "wiki", entitlement: "readers" },
      { system: "wiki", entitlement: "editors" },
      { system: "wiki", entitlement: "admins" },
      { system: "deploy", entitlement: "users" },
    ];
    const allHeld: Record<string, string[]> = { wiki: ["readers", "editors", "admins"], deploy: ["users"] };
    fc.assert(
      fc.property(
        fc.subarray(targets),
        fc.constantFrom("Engineering", "Sales"),
        fc.constantFrom("employee", "contractor"),
        fc.option(fc.constantFrom("Engineering", "Sales"), { nil: null }),
        fc.boolean(),
        fc.boolean(),
        (excluded, department, employmentType, previous, holdsAll, adminAssigned) => {
          const identity = person(
            { department, employmentType },
            previous === null
              ? {}
              : {
                  previousAttributes: workerAttributes({ startDate: "2025-01-01", department: previous }),
                  attributesChangedAt: "2026-03-01T00:00:00.000Z",
                },
          );
          const assignments = adminAssigned ? [assignment({ role: "wiki-admin" })] : [];
          const d = computeDesiredAccess(
            input(identity, { assignments, exclusions: excluded.map((t) => exclusion(t)) }),
          );
          const accounts = holdsAll ? Object.entries(allHeld).map(([s, e]) => account(s, e)) : [];
          const ops = planIdentity(d, accounts, policy);
          for (const op of ops) {
            if (op.kind !== "grant") continue;
            const policyOnly = op.lineage.every((l) => l.kind === "role" || l.kind === "mover-grace");
            for (const t of excluded) {
              if ("role" in t) {
                // No grant comes from an excluded role by policy.
                const viaRole = op.lineage.some(
                  (l) =>
                    (l.kind === "role" && l.chain.includes(t.role)) ||
                    (l.kind === "mover-grace" && l.from.kind === "role" && l.from.chain.includes(t.role)),
                );
                expect(viaRole).toBe(false);
              } else if (t.system === op.system && t.entitlement === op.entitlement) {
                expect(policyOnly).toBe(false);
              }
            }
          }
          // Held and excluded, and no assignment gives it: the plan revokes it.
          if (holdsAll) {
            for (const t of excluded) {
              if ("role" in t) continue;
              const assigned = adminAssigned && t.system === "wiki" && t.entitlement === "admins";
              const given = d.systems[t.system]?.entitlements[t.entitlement] !== undefined;
              if (!assigned && !given) {
                expect(
                  ops.some(
                    (o) => o.kind === "revoke" && o.system === t.system && o.entitlement === t.entitlement,
                  ),
                ).toBe(true);
              }
            }
          }
        },
      ),
    );
  });
});
