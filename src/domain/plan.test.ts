import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { applyPlanToAccounts } from "../../test/helpers/plan-simulator.js";
import { compileRule } from "../policy/rule-compiler.js";
import type {
  Account,
  DesiredAccess,
  DesiredSystemAccess,
  Lineage,
  PlannedOperation,
  Policy,
  SystemDef,
} from "./access-types.js";
import type { Identity } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";
import { idempotencyKey, planIdentity, planOrphans } from "./plan.js";
import { planAll } from "./plan-all.js";
import { allocateUsernames } from "./username-allocation.js";

const at = { file: "tenure.yaml", line: 1, column: 1 };

function system(name: string, overrides: Partial<SystemDef> = {}): SystemDef {
  return {
    name,
    connector: "sql",
    connectorConfig: {},
    owner: null,
    drift: "report",
    orphans: "report",
    account: { username: "{givenName}.{familyName}", collision: "suffix", attributes: { email: "{email}" } },
    correlation: { account: "email", identity: "email" },
    retry: { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 60 },
    location: at,
    ...overrides,
  };
}

const ent = (sys: string, key: string, privileged = false) => ({
  system: sys,
  key,
  displayName: key,
  privileged,
  risk: "low" as const,
  owner: null,
  location: at,
});

const policy: Policy = {
  systems: { wiki: system("wiki"), deploy: system("deploy", { drift: "enforce", orphans: "disable" }) },
  entitlements: {
    wiki: { readers: ent("wiki", "readers"), admins: ent("wiki", "admins", true) },
    deploy: { users: ent("deploy", "users"), admins: ent("deploy", "admins", true) },
  },
  roles: {},
};

const byRole: Lineage = { kind: "role", role: "employee", chain: ["employee"], rule: null };
const leaverNote: Lineage = {
  kind: "lifecycle",
  policy: "lifecycle.leaver",
  note: "terminated on 2026-03-04: disabled by lifecycle.leaver",
};

function want(
  sys: string,
  presence: DesiredSystemAccess["presence"],
  entitlements: string[],
  extra: Partial<DesiredSystemAccess> = {},
): DesiredSystemAccess {
  return {
    system: sys,
    presence,
    presenceLineage: presence === "enabled" ? [byRole] : [byRole, leaverNote],
    username: "ada.lovelace",
    attributes: { email: "ada@example.test" },
    entitlements: Object.fromEntries(entitlements.map((e) => [e, [byRole]])),
    withheld: {},
    ...extra,
  };
}

function desired(...systems: DesiredSystemAccess[]): DesiredAccess {
  return { identityId: "id-1", systems: Object.fromEntries(systems.map((s) => [s.system, s])) };
}

function account(sys: string, overrides: Partial<Account> = {}): Account {
  return {
    system: sys,
    nativeId: `${sys}-1`,
    username: "ada.lovelace",
    identityId: "id-1",
    enabled: true,
    attributes: { email: "ada@example.test" },
    entitlements: [],
    managedEntitlements: [],
    managed: true,
    lastSeenAt: null,
    lastUsedAt: null,
    ...overrides,
  };
}

const summary = (ops: PlannedOperation[]) =>
  ops.map((o) => [o.system, o.kind, o.entitlement ?? "", o.drift ? "drift" : ""].filter(Boolean).join(" "));

describe("planIdentity: leavers and rehires", () => {
  it("never creates an account or grants anything for a leaver (retainOnly); keeps and disables what exists", () => {
    const leaving = want("wiki", "disabled", ["readers"], { retainOnly: true });
    expect(planIdentity(desired(leaving), [], policy)).toEqual([]);
    const held = account("wiki", { entitlements: ["admins"], managedEntitlements: ["admins"] });
    const withheld = { ...leaving, withheld: { admins: [leaverNote] } };
    expect(summary(planIdentity(desired(withheld), [held], policy))).toEqual([
      "wiki disable",
      "wiki revoke admins",
    ]);
  });

  it("gives a rehire's old account a new password before enabling it, where the connector sets passwords", () => {
    const credentials = {
      ...policy,
      systems: { ...policy.systems, wiki: system("wiki", { connector: "mariadb", setsCredentials: true }) },
    };
    const rehired = { ...desired(want("wiki", "enabled", [])), employment: 2 };
    const old = account("wiki", { enabled: false, credentialEmployment: 1 });
    const ops = planIdentity(rehired, [old], credentials);
    expect(summary(ops)).toEqual(["wiki rotate", "wiki enable"]);
    expect(ops[0]?.reason).toContain("employment 2 (rehired)");
    // A password Tenure never set (found by reconcile) is an earlier one too.
    expect(summary(planIdentity(rehired, [{ ...old, credentialEmployment: null }], credentials))).toEqual([
      "wiki rotate",
      "wiki enable",
    ]);
    // Already set in this employment, a first employment back from leave, or a connector without passwords.
    expect(summary(planIdentity(rehired, [{ ...old, credentialEmployment: 2 }], credentials))).toEqual([
      "wiki enable",
    ]);
    expect(summary(planIdentity(desired(want("wiki", "enabled", [])), [old], credentials))).toEqual([
      "wiki enable",
    ]);
    expect(summary(planIdentity(rehired, [old], policy))).toEqual(["wiki enable"]);
  });
});

describe("planIdentity", () => {
  it("creates a joiner's account, then grants, with the lineage and a reason", () => {
    const ops = planIdentity(desired(want("wiki", "enabled", ["readers"])), [], policy);
    expect(summary(ops)).toEqual(["wiki create", "wiki grant readers"]);
    expect(ops[0]).toMatchObject({
      username: "ada.lovelace",
      attributes: { email: "ada@example.test" },
      enabled: true,
      lineage: [byRole],
      reason: "Create an enabled account in wiki, granted by role employee.",
      drift: false,
    });
    expect(ops[0]!.idempotencyKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it("creates a pre-hire's account disabled", () => {
    const ops = planIdentity(desired(want("wiki", "disabled", [])), [], policy);
    expect(ops).toMatchObject([{ kind: "create", enabled: false }]);
  });

  it("recreates a managed account deleted out of band only where drift is enforce", () => {
    const gone = { vanishedAt: "2026-03-01T00:00:00Z" };
    const ops = planIdentity(
      desired(want("wiki", "enabled", ["readers"]), want("deploy", "enabled", ["users"])),
      [account("wiki", gone), account("deploy", gone)],
      policy,
    );
    expect(summary(ops)).toEqual(["deploy create drift", "deploy grant users"]);
  });

  it("cuts a leaver off first: disable, then revoke privileged, in every system before anything else", () => {
    const ops = planIdentity(
      desired(
        want("wiki", "disabled", ["readers"], { withheld: { admins: [leaverNote] } }),
        want("deploy", "disabled", []),
      ),
      [
        account("wiki", { entitlements: ["readers", "admins"], managedEntitlements: ["readers", "admins"] }),
        account("deploy", { entitlements: [] }),
      ],
      policy,
    );
    expect(summary(ops)).toEqual(["wiki disable", "deploy disable", "wiki revoke admins"]);
    expect(ops[0]!.reason).toBe(
      "Disable the account in wiki: terminated on 2026-03-04: disabled by lifecycle.leaver.",
    );
  });

  it("revokes even an unmanaged withheld entitlement under drift: report", () => {
    const ops = planIdentity(
      desired(want("wiki", "disabled", [], { withheld: { admins: [leaverNote] } })),
      [account("wiki", { enabled: false, entitlements: ["admins"] })],
      policy,
    );
    expect(summary(ops)).toEqual(["wiki revoke admins"]);
  });

  it("never leaves privileged drift on an account out of use, even under drift: report", () => {
    const ops = planIdentity(
      desired(want("wiki", "disabled", [])),
      [account("wiki", { enabled: false, entitlements: ["admins", "other"] })],
      policy,
    );
    expect(summary(ops)).toEqual(["wiki revoke admins drift"]);
  });

  it("deletes a managed account no longer desired: disable, revoke each entitlement, delete", () => {
    const ops = planIdentity(
      desired(),
      [account("wiki", { entitlements: ["readers", "zzz"], managedEntitlements: ["readers"] })],
      policy,
    );
    expect(summary(ops)).toEqual(["wiki disable", "wiki revoke readers", "wiki revoke zzz", "wiki delete"]);
  });

  it("does not delete an unmanaged account, only disables it and revokes what Tenure granted", () => {
    const ops = planIdentity(
      desired(),
      [
        account("wiki", {
          managed: false,
          entitlements: ["readers", "zzz"],
          managedEntitlements: ["readers"],
        }),
      ],
      policy,
    );
    expect(summary(ops)).toEqual(["wiki disable", "wiki revoke readers"]);
  });

  it("enables an account that should be enabled", () => {
    const ops = planIdentity(
      desired(want("wiki", "enabled", [])),
      [account("wiki", { enabled: false })],
      policy,
    );
    expect(summary(ops)).toEqual(["wiki enable"]);
  });

  it("updates only the template's attributes that differ", () => {
    const ops = planIdentity(
      desired(want("wiki", "enabled", [], { attributes: { email: "new@example.test", title: null } })),
      [account("wiki", { attributes: { email: "old@example.test", phone: "123" } })],
      policy,
    );
    expect(ops).toMatchObject([{ kind: "update", attributes: { email: "new@example.test" } }]);
  });

  it("revokes what Tenure granted and policy no longer gives; drift only under enforce", () => {
    const extra = { entitlements: ["readers", "admins"], managedEntitlements: ["readers"] };
    expect(
      summary(planIdentity(desired(want("wiki", "enabled", [])), [account("wiki", extra)], policy)),
    ).toEqual(["wiki revoke readers"]);
    const deploy = { entitlements: ["users", "admins"], managedEntitlements: ["users"] };
    expect(
      summary(planIdentity(desired(want("deploy", "enabled", [])), [account("deploy", deploy)], policy)),
    ).toEqual(["deploy revoke admins drift", "deploy revoke users"]);
  });

  it("grants a missing entitlement; one removed out of band only under enforce", () => {
    const removed = { entitlements: [], managedEntitlements: ["readers"] };
    expect(
      planIdentity(desired(want("wiki", "enabled", ["readers"])), [account("wiki", removed)], policy),
    ).toEqual([]);
    expect(
      summary(planIdentity(desired(want("wiki", "enabled", ["readers"])), [account("wiki")], policy)),
    ).toEqual(["wiki grant readers"]);
    const deployRemoved = { entitlements: [], managedEntitlements: ["users"] };
    expect(
      summary(
        planIdentity(
          desired(want("deploy", "enabled", ["users"])),
          [account("deploy", deployRemoved)],
          policy,
        ),
      ),
    ).toEqual(["deploy grant users drift"]);
  });

  it("plans nothing when actual matches desired", () => {
    const ok = account("wiki", { entitlements: ["readers"], managedEntitlements: ["readers"] });
    expect(planIdentity(desired(want("wiki", "enabled", ["readers"])), [ok], policy)).toEqual([]);
  });
});

describe("planOrphans", () => {
  it("disables enabled orphans where the system disables orphans, and nothing else", () => {
    const ops = planOrphans(
      [
        account("deploy", { identityId: null, username: "old.admin", nativeId: "d9" }),
        account("deploy", { identityId: null, username: "off", enabled: false }),
        account("wiki", { identityId: null, username: "stray" }),
      ],
      policy,
    );
    expect(ops).toMatchObject([
      { system: "deploy", kind: "disable", username: "old.admin", nativeId: "d9", drift: true },
    ]);
  });
});

describe("idempotency keys", () => {
  it("depend on the change, not on lineage or reason, and ignore attribute key order", () => {
    const base = { system: "wiki", kind: "create" as const, username: "a", entitlement: null, enabled: true };
    const k1 = idempotencyKey({ ...base, attributes: { a: "1", b: null } });
    expect(idempotencyKey({ ...base, attributes: { b: null, a: "1" } })).toBe(k1);
    expect(idempotencyKey({ ...base, attributes: { a: "1", b: "" } })).not.toBe(k1);
    expect(idempotencyKey({ ...base, enabled: false, attributes: { a: "1", b: null } })).not.toBe(k1);
  });
});

describe("allocateUsernames", () => {
  it("assigns in identity-id order with suffixes, whatever the input order", () => {
    const result = allocateUsernames({
      system: "wiki",
      collision: "suffix",
      candidates: [
        { identityId: "id-3", base: "jo" },
        { identityId: "id-1", base: "jo" },
        { identityId: "id-2", base: "jo" },
        { identityId: "id-4", base: null },
      ],
      taken: new Set(["jo2"]),
    });
    expect([...result.assigned]).toEqual([
      ["id-1", "jo"],
      ["id-2", "jo3"],
      ["id-3", "jo4"],
    ]);
    expect(result.problems).toMatchObject([{ kind: "username-empty", identityId: "id-4" }]);
  });

  it("reports a fail collision instead of assigning", () => {
    const result = allocateUsernames({
      system: "wiki",
      collision: "fail",
      candidates: [{ identityId: "id-1", base: "jo" }],
      taken: new Set(["jo"]),
    });
    expect(result.assigned.size).toBe(0);
    expect(result.problems).toEqual([
      {
        kind: "username-taken",
        identityId: "id-1",
        system: "wiki",
        username: "jo",
        message:
          "wiki: no account for identity id-1: username jo is already taken and the system's collision rule is fail",
      },
    ]);
  });
});

describe("planAll and applyPlanToAccounts", () => {
  const lifecycle: LifecycleConfig = {
    prehireDays: 7,
    moverGraceDays: 0,
    deleteAfterDays: 30,
    contractorWarningDays: 14,
    leaver: { revoke: "privileged" },
    massChangeThreshold: { percent: 10, minimum: 5 },
  };
  const everyone: Policy = {
    ...policy,
    systems: {
      ...policy.systems,
      deploy: system("deploy", {
        drift: "enforce",
        orphans: "disable",
        account: { username: "{givenName}", collision: "fail", attributes: {} },
      }),
    },
    roles: {
      all: {
        name: "all",
        description: null,
        when: { source: "true", location: at, reads: [], evaluate: () => ({ value: true }) },
        includes: [],
        grants: [
          { system: "wiki", entitlements: ["readers"] },
          { system: "deploy", entitlements: ["users"] },
        ],
        requestable: null,
        location: at,
      },
    },
  };
  function person(id: string, givenName: string): Identity {
    const attributes = workerAttributes({
      employeeId: id,
      givenName,
      familyName: "Smith",
      displayName: `${givenName} Smith`,
      email: `${id}@example.test`,
      department: null,
      title: null,
      startDate: null,
    });
    return {
      id,
      kind: "human",
      source: "hr",
      sourceKey: id,
      state: "active",
      attributes,
      employment: 1,
      stateSince: "2025-01-01T00:00:00Z",
      createdAt: "2025-01-01T00:00:00Z",
      updatedAt: "2025-01-01T00:00:00Z",
      lastRecordId: null,
      previousAttributes: null,
      attributesChangedAt: null,
    };
  }
  const now = new Date("2026-03-10T12:00:00Z");
  const identities = [person("id-2", "John"), person("id-1", "John")];
  const orphan = account("wiki", { identityId: null, username: "john.smith", nativeId: "w0" });

  it("allocates around existing names, reports fail collisions, and converges", () => {
    const first = planAll({
      policy: everyone,
      lifecycle,
      identities,
      assignments: [],
      accounts: [orphan],
      now,
      today: "2026-03-10",
    });
    expect(first.allocated).toEqual(
      new Map([
        ["id-1", { wiki: "john.smith2", deploy: "john" }],
        ["id-2", { wiki: "john.smith3" }],
      ]),
    );
    expect(first.problems).toMatchObject([{ kind: "username-taken", identityId: "id-2", system: "deploy" }]);
    expect(new Set(first.operations.map((o) => o.idempotencyKey)).size).toBe(first.operations.length);

    const after = applyPlanToAccounts([orphan], first.operations);
    expect(after.map((a) => `${a.system}/${a.username}/${a.identityId}`).sort()).toEqual([
      "deploy/john/id-1",
      "wiki/john.smith/null",
      "wiki/john.smith2/id-1",
      "wiki/john.smith3/id-2",
    ]);
    const second = planAll({
      policy: everyone,
      lifecycle,
      identities,
      assignments: [],
      accounts: after,
      now,
      today: "2026-03-10",
    });
    expect(second.operations).toEqual([]);
    expect(second.problems).toHaveLength(1);
  });

  it("plans nothing for an identity whose rule ran out of budget, reports it, and plans the others", () => {
    const compiled = compileRule("title.split(',').exists(a, title.split(',').exists(b, a + b == 'x'))");
    if (!compiled.ok) throw new Error(compiled.problem.message);
    const rule = { ...compiled.rule, location: { file: "/etc/tenure/tenure.yaml", line: 42, column: 11 } };
    const withPairs: Policy = {
      ...everyone,
      roles: {
        ...everyone.roles,
        pairs: {
          name: "pairs",
          description: null,
          when: rule,
          includes: [],
          grants: [{ system: "wiki", entitlements: ["admins"] }],
          requestable: null,
          location: at,
        },
      },
    };
    const many = Array.from({ length: 200 }, (_, i) => `t${i}`).join(",");
    const heavy = {
      ...person("id-2", "Jane"),
      attributes: { ...person("id-2", "Jane").attributes, title: many },
    };
    // Jane holds admins today; a rule read as false would revoke it.
    const accounts = [
      account("wiki", {
        identityId: "id-2",
        username: "jane.smith",
        nativeId: "w2",
        attributes: { email: "id-2@example.test" },
        entitlements: ["admins", "readers"],
        managedEntitlements: ["admins", "readers"],
      }),
    ];
    const result = planAll({
      policy: withPairs,
      lifecycle,
      identities: [identities[1]!, heavy],
      assignments: [],
      accounts,
      now,
      today: "2026-03-10",
    });
    expect(result.operations.filter((o) => o.identityId === "id-2")).toEqual([]);
    expect(result.operations.filter((o) => o.identityId === "id-1").length).toBeGreaterThan(0);
    expect(result.problems).toEqual([
      {
        kind: "rule-failed",
        identityId: "id-2",
        system: "",
        username: null,
        message:
          "identity id-2 (id-2): the rule of role pairs (tenure.yaml:42) failed: the rule iterated over more than 10,000 list elements (nested comprehensions multiply); it was stopped there; nothing is planned for this identity, its access stays as it is",
      },
    ]);
    expect(result.allocated.has("id-2")).toBe(false);
  });

  it("creates with the linked username when one was allocated but not yet created", () => {
    const result = planAll({
      policy: everyone,
      lifecycle,
      identities: [identities[1]!],
      assignments: [],
      accounts: [],
      links: new Map([["id-1", { wiki: "jsmith" }]]),
      now,
      today: "2026-03-10",
    });
    expect(result.operations.find((o) => o.system === "wiki" && o.kind === "create")?.username).toBe(
      "jsmith",
    );
    expect(result.allocated.get("id-1")).toEqual({ deploy: "john" });
  });

  it("simulates every operation kind without touching its input", () => {
    const start = [account("wiki", { entitlements: ["x"], managedEntitlements: [] })];
    const frozen = structuredClone(start);
    const ops = [
      ...planIdentity(
        desired(want("wiki", "disabled", ["readers"], { attributes: { email: "b" } })),
        start,
        policy,
      ),
    ];
    const after = applyPlanToAccounts(start, ops);
    expect(start).toEqual(frozen);
    expect(after).toMatchObject([
      {
        enabled: false,
        attributes: { email: "b" },
        entitlements: ["x", "readers"],
        managedEntitlements: ["readers"],
      },
    ]);
    expect(applyPlanToAccounts(after, planIdentity(desired(), after, policy))).toEqual([]);
  });
});
