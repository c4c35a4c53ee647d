import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import type { Assignment, Policy, RoleDef, RoleRule, SystemDef } from "./access-types.js";
import type { DesiredStateInput } from "./desired-state-types.js";
import { explainAccess } from "./explain.js";
import type { AttributeName, Identity, WorkerAttributes } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";

const at = (line: number) => ({ file: "/srv/tenure/tenure.yaml", line, column: 5 });

function eq(attribute: AttributeName, value: string, line: number): RoleRule {
  return {
    source: `${attribute} == '${value}'`,
    location: at(line),
    reads: [attribute],
    evaluate: (a) => ({ value: a[attribute] === value }),
  };
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
    location: at(5),
  };
}

function role(
  name: string,
  when: RoleRule | null,
  grants: RoleDef["grants"],
  includes: string[] = [],
): RoleDef {
  return { name, description: null, when, includes, grants, requestable: null, location: at(50) };
}

const ent = (s: string, key: string, privileged = false) => ({
  system: s,
  key,
  displayName: key,
  privileged,
  risk: "low" as const,
  owner: null,
  location: at(20),
});

const policy: Policy = {
  systems: { wiki: system("wiki"), deploy: system("deploy") },
  entitlements: {
    wiki: { readers: ent("wiki", "readers"), admins: ent("wiki", "admins", true) },
    deploy: { users: ent("deploy", "users"), admins: ent("deploy", "admins", true) },
  },
  roles: {
    employee: role("employee", eq("employmentType", "employee", 30), [
      { system: "wiki", entitlements: ["readers"] },
    ]),
    engineer: role(
      "engineer",
      eq("department", "Engineering", 42),
      [{ system: "deploy", entitlements: ["users"] }],
      ["employee"],
    ),
    "wiki-admin": role("wiki-admin", null, [{ system: "wiki", entitlements: ["admins"] }]),
  },
};

const lifecycle: LifecycleConfig = {
  prehireDays: 7,
  moverGraceDays: 0,
  deleteAfterDays: 30,
  contractorWarningDays: 14,
  leaver: { revoke: "privileged" },
  massChangeThreshold: { percent: 10, minimum: 5 },
};

function identity(attributes: Partial<WorkerAttributes>, overrides: Partial<Identity> = {}): Identity {
  return {
    id: "id-1",
    kind: "human",
    source: "hr",
    sourceKey: "E1",
    state: "active",
    attributes: workerAttributes({
      givenName: "Sam",
      familyName: "Vimes",
      displayName: "Sam Vimes",
      email: null,
      department: "Sales",
      title: null,
      startDate: "2024-01-01",
      ...attributes,
    }),
    employment: 1,
    stateSince: "2024-01-01T00:00:00.000Z",
    createdAt: "2024-01-01T00:00:00.000Z",
    updatedAt: "2024-01-01T00:00:00.000Z",
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
    ...overrides,
  };
}

const deployAdmins: Assignment = {
  id: "a1",
  identityId: "id-1",
  target: { system: "deploy", entitlement: "admins" },
  employment: 1,
  validFrom: "2026-03-01T00:00:00.000Z",
  validUntil: "2026-05-01",
  reason: "release duty",
  approvedBy: "carrot",
  revokedAt: null,
};

function input(who: Identity, assignments: Assignment[] = []): DesiredStateInput {
  return {
    identity: who,
    policy,
    lifecycle,
    assignments,
    usernames: {},
    now: new Date("2026-03-10T12:00:00Z"),
    today: "2026-03-10",
  };
}

describe("explainAccess", () => {
  it("says why each role is or is not held, with the values the rule read and where it is written", () => {
    const e = explainAccess(input(identity({}), [deployAdmins]));
    expect(e.lines).toEqual([
      "role employee: `employmentType == 'employee'` is true (tenure.yaml:30) → grants wiki account, wiki:readers",
      "role engineer: `department == 'Engineering'` is false, department is 'Sales' (tenure.yaml:42)",
      "role wiki-admin: no birthright rule; not included by a held role nor assigned (tenure.yaml:50)",
      "assignment a1 grants deploy:admins until 2026-05-01",
      "wiki: account sam.vimes enabled, granted by role employee",
      "wiki:readers is desired: granted by role employee",
      "deploy: account sam.vimes enabled, granted by assignment a1 until 2026-05-01",
      "deploy:admins is desired: granted by assignment a1 until 2026-05-01",
    ]);
    expect(e.entries[1]).toMatchObject({
      kind: "role",
      held: false,
      rule: {
        value: false,
        reads: [{ attribute: "department", value: "Sales" }],
        location: "tenure.yaml:42",
      },
    });
  });

  it("says a rule stopped by its evaluation budget failed and leaves the identity unplanned", () => {
    const budgeted: RoleRule = {
      source: "title.split(',').exists(a, title.split(',').exists(b, a + b == 'x'))",
      location: at(60),
      reads: ["title"],
      evaluate: () => ({
        value: false,
        error: "the rule iterated over more than 10,000 list elements",
        failed: true,
      }),
    };
    const withBudget: Policy = {
      ...policy,
      roles: {
        ...policy.roles,
        pairs: role("pairs", budgeted, [{ system: "wiki", entitlements: ["admins"] }]),
      },
    };
    const e = explainAccess({ ...input(identity({})), policy: withBudget });
    expect(e.lines).toContain(
      "role pairs: `title.split(',').exists(a, title.split(',').exists(b, a + b == 'x'))` failed (the rule iterated over more than 10,000 list elements): nothing is planned for this identity while it fails (tenure.yaml:60)",
    );
  });

  it("shows include chains", () => {
    const e = explainAccess(input(identity({ department: "Engineering", employmentType: "contractor" })));
    expect(e.lines[0]).toBe(
      "role employee: `employmentType == 'employee'` is false, employmentType is 'contractor'; held through engineer → employee (tenure.yaml:30) → grants wiki account, wiki:readers",
    );
  });

  it("explains a leaver's withheld privileged entitlement and the disabled account", () => {
    const leaver = identity(
      { status: "terminated", terminationDate: "2026-03-04" },
      { state: "terminated", stateSince: "2026-03-04T09:00:00Z" },
    );
    const grant: Assignment = { ...deployAdmins, target: { role: "wiki-admin" }, validUntil: null };
    const e = explainAccess(input(leaver, [grant]), { entitlement: "wiki:admins" });
    expect(e.lines).toEqual([
      "role wiki-admin: no birthright rule; held through assignment a1 (tenure.yaml:50) → grants wiki account, wiki:admins",
      "assignment a1 grants role wiki-admin with no end date",
      "wiki: account sam.vimes disabled, granted by role employee and 1 more: terminated on 2026-03-04: disabled by lifecycle.leaver",
      "wiki:admins is privileged and withheld: terminated on 2026-03-04, lifecycle.leaver.revoke = privileged",
    ]);
  });

  it("explains an account held disabled by a dormant policy as the plan treats it", () => {
    const who = identity({ employmentType: "employee" });
    const hold = {
      identityId: "id-1",
      system: "wiki",
      lastUsedAt: "2025-10-01T00:00:00Z",
      disabledAt: "2026-03-08T00:00:00Z",
    };
    const line = (e: ReturnType<typeof explainAccess>) => e.lines.find((l) => l.startsWith("wiki: account"));
    expect(line(explainAccess(input(who), { system: "wiki" }))).toContain("enabled");
    const held = line(explainAccess(input(who), { system: "wiki", dormant: [hold] }));
    expect(held).toContain("disabled");
    expect(held).toContain("reviews.dormant.wiki");
  });

  it("says why not: the roles that would grant it and why they are not held", () => {
    const e = explainAccess(input(identity({})), { system: "deploy", entitlement: "users" });
    expect(e.lines).toEqual([
      "role engineer: `department == 'Engineering'` is false, department is 'Sales' (tenure.yaml:42)",
      "deploy: no account: no held role or active assignment grants one",
      "deploy:users is not desired: no held role or active assignment grants it",
    ]);
  });

  it("explains assignments that do not count", () => {
    const rehired = identity({}, { employment: 2 });
    const e = explainAccess(
      input(rehired, [deployAdmins, { ...deployAdmins, id: "a2", employment: 2, validUntil: "2026-03-09" }]),
      {
        entitlement: "deploy:admins",
      },
    );
    expect(e.lines.filter((l) => l.startsWith("assignment"))).toEqual([
      "assignment a1 (deploy:admins) does not count: granted in employment 1, the identity is in employment 2 (a rehire never resurrects access)",
      "assignment a2 (deploy:admins) does not count: expired at 2026-03-09",
    ]);
  });

  it("explains mover grace and the role it keeps", () => {
    const mover = identity(
      { department: "Sales" },
      {
        previousAttributes: identity({ department: "Engineering" }).attributes,
        attributesChangedAt: "2026-03-05T00:00:00.000Z",
      },
    );
    const e = explainAccess(
      { ...input(mover), lifecycle: { ...lifecycle, moverGraceDays: 10 } },
      { system: "deploy" },
    );
    expect(e.lines).toEqual([
      "role engineer: `department == 'Engineering'` is false, department is 'Sales'; held through mover grace until 2026-03-15T00:00:00.000Z (role engineer) (tenure.yaml:42) → grants deploy account, deploy:users",
      "mover grace: attributes changed at 2026-03-05T00:00:00.000Z; role engineer kept until 2026-03-15T00:00:00.000Z (lifecycle.moverGraceDays = 10)",
      "deploy: account sam.vimes enabled, granted by mover grace until 2026-03-15T00:00:00.000Z (role engineer)",
      "deploy:users is desired: granted by mover grace until 2026-03-15T00:00:00.000Z (role engineer)",
    ]);
  });

  it("explains the pre-hire window", () => {
    const joiner = identity({ startDate: "2026-03-20" }, { state: "prehire" });
    const e = explainAccess(input(joiner), { system: "wiki" });
    expect(e.lines.at(-2)).toBe(
      "wiki: no account, granted by role employee: starts on 2026-03-20: not yet, accounts are created 7 days before the start date 2026-03-20 (on 2026-03-13)",
    );
  });
});
