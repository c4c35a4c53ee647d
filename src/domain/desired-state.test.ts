import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import type {
  Assignment,
  EntitlementDef,
  Policy,
  RoleDef,
  RoleGrant,
  RoleRule,
  SystemDef,
} from "./access-types.js";
import { computeDesiredAccess, createDesiredStateCalculator } from "./desired-state.js";
import type { DesiredStateInput } from "./desired-state-types.js";
import type { AttributeName, Identity, WorkerAttributes } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";

const at = (file: string, line: number) => ({ file, line, column: 1 });

function rule(source: string, reads: AttributeName[], test: (a: WorkerAttributes) => boolean): RoleRule {
  return {
    source,
    location: at("/etc/tenure/tenure.yaml", 30),
    reads,
    evaluate: (a) => ({ value: test(a) }),
  };
}

function system(name: string, drift: SystemDef["drift"]): SystemDef {
  return {
    name,
    connector: "sql",
    connectorConfig: {},
    owner: null,
    drift,
    orphans: "report",
    account: {
      username: "{givenName}.{familyName}",
      collision: "suffix",
      attributes: { email: "{email}", displayName: "{displayName}" },
    },
    correlation: { account: "email", identity: "email" },
    retry: { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 60 },
    location: at("tenure.yaml", 10),
  };
}

function entitlement(sys: string, key: string, privileged = false): EntitlementDef {
  return {
    system: sys,
    key,
    displayName: key,
    privileged,
    risk: "low",
    owner: null,
    location: at("tenure.yaml", 20),
  };
}

function role(name: string, when: RoleRule | null, grants: RoleGrant[], includes: string[] = []): RoleDef {
  return {
    name,
    description: null,
    when,
    includes,
    grants,
    requestable: null,
    location: at("tenure.yaml", 40),
  };
}

const policy: Policy = {
  systems: { wiki: system("wiki", "report"), deploy: system("deploy", "enforce") },
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
    deployer: role("deployer", null, [{ system: "deploy", entitlements: ["admins"] }]),
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

function person(overrides: Partial<WorkerAttributes> = {}, identity: Partial<Identity> = {}): Identity {
  const attributes = workerAttributes({ startDate: "2025-01-01", ...overrides });
  return {
    id: "id-1",
    kind: "human",
    source: "hr",
    sourceKey: "E1",
    state: "active",
    attributes,
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

function assignment(target: Assignment["target"], overrides: Partial<Assignment> = {}): Assignment {
  return {
    id: "a1",
    identityId: "id-1",
    target,
    employment: 1,
    validFrom: "2026-01-01T00:00:00.000Z",
    validUntil: "2026-05-01T00:00:00.000Z",
    reason: "on call",
    approvedBy: "boss",
    revokedAt: null,
    ...overrides,
  };
}

function input(identity: Identity, now: string, extra: Partial<DesiredStateInput> = {}): DesiredStateInput {
  return {
    identity,
    policy,
    lifecycle,
    assignments: [],
    usernames: {},
    now: new Date(now),
    today: now.slice(0, 10),
    ...extra,
  };
}

const NOW = "2026-03-10T12:00:00.000Z";

describe("computeDesiredAccess: roles", () => {
  it("gives an active engineer both roles' grants, enabled, with the chain that grants each", () => {
    const d = computeDesiredAccess(input(person({ employmentType: "contractor" }), NOW));
    expect(Object.keys(d.systems)).toEqual(["wiki", "deploy"]);
    const wiki = d.systems.wiki!;
    expect(wiki.presence).toBe("enabled");
    expect(Object.keys(wiki.entitlements).sort()).toEqual(["editors", "readers"]);
    expect(wiki.entitlements.readers).toEqual([
      {
        kind: "role",
        role: "employee",
        chain: ["engineer", "employee"],
        rule: { source: "department == 'Engineering'", location: at("/etc/tenure/tenure.yaml", 30) },
      },
    ]);
    expect(wiki.username).toBe("ada.lovelace");
    expect(wiki.attributes).toEqual({ email: "ada@example.test", displayName: "Ada Lovelace" });
  });

  it("prefers a role's own rule over a chain that also includes it", () => {
    const d = computeDesiredAccess(input(person(), NOW));
    expect(d.systems.wiki!.entitlements.readers).toMatchObject([{ role: "employee", chain: ["employee"] }]);
  });

  it("gives nothing to someone no rule matches", () => {
    const d = computeDesiredAccess(input(person({ employmentType: "contractor", department: "Sales" }), NOW));
    expect(d.systems).toEqual({});
  });

  it("renders usernameFallback when the username template renders nothing usable", () => {
    const withFallback: Policy = {
      ...policy,
      systems: {
        ...policy.systems,
        wiki: {
          ...policy.systems.wiki!,
          account: { ...policy.systems.wiki!.account, usernameFallback: "u{employeeId}" },
        },
      },
    };
    const symbols = person({ givenName: "!!", familyName: "??" });
    const calculator = createDesiredStateCalculator(withFallback, lifecycle);
    const d = calculator.compute(input(symbols, NOW, { policy: withFallback }));
    expect(d.systems.wiki!.username).toBe(`u${symbols.attributes.employeeId.toLowerCase()}`);
    // Without a fallback the system has no username for them (the planner reports username-empty).
    expect(d.systems.deploy!.username).toBeNull();
    // A name in another script renders; the fallback is not needed.
    const anna = calculator.compute(input(person({ givenName: "Анна", familyName: "Иванова" }), NOW));
    expect(anna.systems.deploy!.username).toBe("anna.ivanova");
  });

  it("uses the allocated username and keeps a null attribute null", () => {
    const d = computeDesiredAccess(
      input(person({ email: null }), NOW, { usernames: { wiki: "ada.lovelace2" } }),
    );
    expect(d.systems.wiki!.username).toBe("ada.lovelace2");
    expect(d.systems.deploy!.username).toBe("ada.lovelace");
    expect(d.systems.wiki!.attributes.email).toBeNull();
  });

  it("treats a throwing or failing rule as false", () => {
    const broken: Policy = {
      ...policy,
      roles: {
        boom: role(
          "boom",
          {
            ...rule("x", ["title"], () => true),
            evaluate: () => {
              throw new Error("bad");
            },
          },
          [{ system: "wiki", entitlements: [] }],
        ),
        err: role(
          "err",
          { ...rule("y", ["title"], () => true), evaluate: () => ({ value: false, error: "no such key" }) },
          [{ system: "deploy", entitlements: [] }],
        ),
      },
    };
    expect(computeDesiredAccess({ ...input(person(), NOW), policy: broken }).systems).toEqual({});
  });

  it("terminates on cyclic includes", () => {
    const cyclic: Policy = {
      ...policy,
      roles: {
        a: role(
          "a",
          rule("true", [], () => true),
          [{ system: "wiki", entitlements: ["readers"] }],
          ["b"],
        ),
        b: role("b", null, [{ system: "deploy", entitlements: ["users"] }], ["a"]),
      },
    };
    const d = computeDesiredAccess({ ...input(person(), NOW), policy: cyclic });
    expect(d.systems.deploy!.entitlements.users).toMatchObject([{ role: "b", chain: ["a", "b"] }]);
  });

  it("evaluates a rule once per distinct tuple of the attributes it reads", () => {
    let calls = 0;
    const counted: Policy = {
      ...policy,
      roles: {
        eng: role(
          "eng",
          rule("department == 'Engineering'", ["department"], (a) => {
            calls++;
            return a.department === "Engineering";
          }),
          [{ system: "wiki", entitlements: [] }],
        ),
      },
    };
    const calc = createDesiredStateCalculator(counted, lifecycle);
    for (let i = 0; i < 10; i++) {
      const p = person(
        { employeeId: `E${i}`, department: i % 2 ? "Engineering" : "Sales" },
        { id: `id-${i}` },
      );
      const d = calc.compute({
        identity: p,
        assignments: [],
        usernames: {},
        now: new Date(NOW),
        today: "2026-03-10",
      });
      expect(Object.keys(d.systems)).toEqual(i % 2 ? ["wiki"] : []);
    }
    expect(calls).toBe(2);
  });
});

describe("rule memo", () => {
  it("stops memoising a rule whose tuples are mostly distinct, without changing results", () => {
    let calls = 0;
    const perPerson: Policy = {
      ...policy,
      roles: {
        odd: role(
          "odd",
          rule("int(employeeId) % 2 == 1", ["employeeId"], (a) => {
            calls++;
            return Number(a.employeeId) % 2 === 1;
          }),
          [{ system: "wiki", entitlements: [] }],
        ),
      },
    };
    const calc = createDesiredStateCalculator(perPerson, lifecycle);
    const run = (i: number) =>
      Object.keys(
        calc.compute({
          identity: person({ employeeId: String(i) }, { id: `id-${i}` }),
          assignments: [],
          usernames: {},
          now: new Date(NOW),
          today: "2026-03-10",
        }).systems,
      );
    for (let i = 0; i < 3000; i++) expect(run(i)).toEqual(i % 2 ? ["wiki"] : []);
    expect(calls).toBe(3000);
    // Past probation nothing is remembered: the same person is evaluated again.
    run(2999);
    expect(calls).toBe(3001);
  });
});

describe("computeDesiredAccess: lifecycle", () => {
  const joiner = person({ startDate: "2026-03-10" }, { state: "prehire" });

  it("creates nothing before the pre-hire window, and says when it opens", () => {
    const d = computeDesiredAccess(input(joiner, "2026-03-02T12:00:00.000Z"));
    const wiki = d.systems.wiki!;
    expect(wiki.presence).toBe("absent");
    expect(wiki.entitlements).toEqual({});
    expect(Object.keys(wiki.withheld)).toEqual(["readers", "editors"]);
    expect(wiki.presenceLineage).toContainEqual({
      kind: "lifecycle",
      policy: "lifecycle.prehireDays",
      note: "starts on 2026-03-10: not yet, accounts are created 7 days before the start date 2026-03-10 (on 2026-03-03)",
    });
  });

  it("creates disabled accounts with their entitlements from prehireDays before the start", () => {
    const d = computeDesiredAccess(input(joiner, "2026-03-03T00:00:00.000Z"));
    expect(d.systems.wiki!.presence).toBe("disabled");
    expect(Object.keys(d.systems.wiki!.entitlements).sort()).toEqual(["editors", "readers"]);
    expect(d.systems.wiki!.withheld).toEqual({});
  });

  it("disables a suspended identity's accounts but keeps its entitlements", () => {
    const d = computeDesiredAccess(
      input(person({ status: "leave" }, { state: "suspended", stateSince: "2026-02-01T00:00:00Z" }), NOW),
    );
    expect(d.systems.wiki!.presence).toBe("disabled");
    expect(Object.keys(d.systems.wiki!.entitlements).sort()).toEqual(["editors", "readers"]);
    expect(d.systems.wiki!.presenceLineage.at(-1)).toMatchObject({
      kind: "lifecycle",
      policy: "lifecycle.suspended",
    });
  });

  const leaver = person(
    { status: "terminated", terminationDate: "2026-03-04" },
    { state: "terminated", stateSince: "2026-03-04T10:00:00.000Z" },
  );
  const wikiAdmin = assignment({ role: "wiki-admin" }, { validUntil: null });

  it("disables a leaver and withholds privileged entitlements (leaver.revoke privileged)", () => {
    const d = computeDesiredAccess(input(leaver, NOW, { assignments: [wikiAdmin] }));
    const wiki = d.systems.wiki!;
    expect(wiki.presence).toBe("disabled");
    expect(wiki.presenceLineage.at(-1)).toEqual({
      kind: "lifecycle",
      policy: "lifecycle.leaver",
      note: "terminated on 2026-03-04: disabled by lifecycle.leaver",
    });
    expect(Object.keys(wiki.entitlements).sort()).toEqual(["editors", "readers"]);
    expect(Object.keys(wiki.withheld)).toEqual(["admins"]);
    expect(wiki.withheld.admins![0]).toEqual({
      kind: "lifecycle",
      policy: "lifecycle.leaver.revoke",
      note: "terminated on 2026-03-04, lifecycle.leaver.revoke = privileged",
    });
  });

  it("withholds every entitlement when leaver.revoke is all", () => {
    const all = { ...lifecycle, leaver: { revoke: "all" as const } };
    const d = computeDesiredAccess({ ...input(leaver, NOW, { assignments: [wikiAdmin] }), lifecycle: all });
    expect(d.systems.wiki!.entitlements).toEqual({});
    expect(Object.keys(d.systems.wiki!.withheld).sort()).toEqual(["admins", "editors", "readers"]);
  });

  it("deletes deleteAfterDays after the HR termination date, however late Tenure saw it", () => {
    // Terminated 2026-03-04 in HR; Tenure saw it on 2026-03-20 (a late record, or a first import).
    const late = { ...leaver, stateSince: "2026-03-20T10:00:00.000Z" };
    for (const identity of [leaver, late]) {
      const before = computeDesiredAccess(input(identity, "2026-04-02T23:59:59.999Z"));
      expect(before.systems.wiki!.presence).toBe("disabled");
      const after = computeDesiredAccess(input(identity, "2026-04-03T00:00:00.000Z"));
      expect(after.systems.wiki!.presence).toBe("absent");
      expect(after.systems.wiki!.entitlements).toEqual({});
      expect(after.systems.wiki!.presenceLineage.at(-1)).toMatchObject({
        policy: "lifecycle.deleteAfterDays",
        note: "terminated on 2026-03-04: deleted after lifecycle.deleteAfterDays (30 days)",
      });
    }
  });

  it("counts from the instant of termination when the record has no leaving date (missing from an export)", () => {
    const missing = person({}, { state: "terminated", stateSince: "2026-03-04T10:00:00.000Z" });
    expect(computeDesiredAccess(input(missing, "2026-04-03T09:59:59.999Z")).systems.wiki!.presence).toBe(
      "disabled",
    );
    expect(computeDesiredAccess(input(missing, "2026-04-03T10:00:00.000Z")).systems.wiki!.presence).toBe(
      "absent",
    );
  });

  it("keeps a leaver's accounts only where they exist (retainOnly), and nobody else's", () => {
    const d = computeDesiredAccess(input(leaver, NOW));
    expect(Object.values(d.systems).map((s) => s.retainOnly)).toEqual([true, true]);
    const active = computeDesiredAccess(input(person(), NOW));
    expect(Object.values(active.systems).map((s) => s.retainOnly ?? false)).toEqual([false, false]);
  });

  it("wants no account for a deleted identity", () => {
    const d = computeDesiredAccess(input(person({}, { state: "deleted" }), NOW));
    expect(Object.values(d.systems).map((s) => s.presence)).toEqual(["absent", "absent"]);
  });

  describe("mover grace", () => {
    const mover = person(
      { department: "Sales" },
      {
        previousAttributes: person().attributes,
        attributesChangedAt: "2026-03-01T00:00:00.000Z",
      },
    );
    const grace = { ...lifecycle, moverGraceDays: 14 };

    it("keeps a role held only under the old attributes until the grace ends", () => {
      const d = computeDesiredAccess({ ...input(mover, "2026-03-14T23:59:59.000Z"), lifecycle: grace });
      expect(d.systems.deploy!.presence).toBe("enabled");
      expect(d.systems.deploy!.entitlements.users).toEqual([
        {
          kind: "mover-grace",
          until: "2026-03-15T00:00:00.000Z",
          from: expect.objectContaining({ kind: "role", role: "engineer" }),
        },
      ]);
      // employee is still held by its own rule, so it is not a grace item.
      expect(d.systems.wiki!.entitlements.readers).toMatchObject([{ kind: "role", role: "employee" }]);
    });

    it("drops it on the date", () => {
      const d = computeDesiredAccess({ ...input(mover, "2026-03-15T00:00:00.000Z"), lifecycle: grace });
      expect(d.systems.deploy).toBeUndefined();
      expect(Object.keys(d.systems.wiki!.entitlements)).toEqual(["readers"]);
    });

    it("drops it at once when moverGraceDays is 0", () => {
      const d = computeDesiredAccess(input(mover, "2026-03-02T00:00:00.000Z"));
      expect(d.systems.deploy).toBeUndefined();
    });
  });
});

describe("computeDesiredAccess: assignments", () => {
  const deployAdmins = assignment({ system: "deploy", entitlement: "admins" });

  it("grants an entitlement assignment (and the account) inside its window", () => {
    const d = computeDesiredAccess(
      input(person({ department: "Sales" }), NOW, { assignments: [deployAdmins] }),
    );
    expect(d.systems.deploy!.presence).toBe("enabled");
    expect(d.systems.deploy!.entitlements.admins).toEqual([
      {
        kind: "assignment",
        assignmentId: "a1",
        target: "deploy:admins",
        validUntil: "2026-05-01T00:00:00.000Z",
      },
    ]);
  });

  it("stops at validUntil, before validFrom and once revoked", () => {
    const sales = person({ department: "Sales" });
    expect(
      computeDesiredAccess(input(sales, "2026-05-01T00:00:00.000Z", { assignments: [deployAdmins] })).systems
        .deploy,
    ).toBeUndefined();
    expect(
      computeDesiredAccess(input(sales, "2025-12-31T23:59:59.000Z", { assignments: [deployAdmins] })).systems
        .deploy,
    ).toBeUndefined();
    const revoked = { ...deployAdmins, revokedAt: "2026-03-01T00:00:00.000Z" };
    expect(
      computeDesiredAccess(input(sales, NOW, { assignments: [revoked] })).systems.deploy,
    ).toBeUndefined();
  });

  it("ignores an assignment from an earlier employment", () => {
    const rehired = person({ department: "Sales" }, { employment: 2 });
    expect(
      computeDesiredAccess(input(rehired, NOW, { assignments: [deployAdmins] })).systems.deploy,
    ).toBeUndefined();
  });

  it("grants a role assignment's includes too, with the assignment as lineage", () => {
    const d = computeDesiredAccess(
      input(person({ department: "Sales", employmentType: "contractor" }), NOW, {
        assignments: [assignment({ role: "engineer" })],
      }),
    );
    expect(d.systems.wiki!.entitlements.readers).toEqual([
      {
        kind: "assignment",
        assignmentId: "a1",
        target: "role engineer",
        validUntil: "2026-05-01T00:00:00.000Z",
      },
    ]);
    expect(Object.keys(d.systems.deploy!.entitlements)).toEqual(["users"]);
  });

  it("lists both lineages when birthright and an assignment grant the same entitlement", () => {
    const d = computeDesiredAccess(
      input(person(), NOW, { assignments: [assignment({ system: "wiki", entitlement: "readers" })] }),
    );
    expect(d.systems.wiki!.entitlements.readers!.map((l) => l.kind)).toEqual(["role", "assignment"]);
  });
});
