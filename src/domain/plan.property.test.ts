import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyPlanToAccounts } from "../../test/helpers/plan-simulator.js";
import {
  type Account,
  type Assignment,
  type EntitlementDef,
  OPERATION_KINDS,
  type PlannedOperation,
  type Policy,
  type RoleDef,
  type RoleRule,
  type SystemDef,
} from "./access-types.js";
import { createDesiredStateCalculator } from "./desired-state.js";
import type {
  AttributeName,
  EmploymentType,
  Identity,
  LifecycleState,
  WorkerAttributes,
} from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";
import { addDays } from "./local-date.js";
import { idempotencyKey } from "./plan.js";
import { planAll } from "./plan-all.js";

const TODAY = "2026-03-10";
const NOW = new Date(`${TODAY}T12:00:00.000Z`);
const DAY = 86_400_000;
const at = { file: "tenure.yaml", line: 1, column: 1 };

const RULE_ATTRIBUTES = ["department", "location", "employmentType"] as const;
const VALUES: Record<(typeof RULE_ATTRIBUTES)[number], readonly string[]> = {
  department: ["Eng", "Sales", "Ops"],
  location: ["London", "Berlin", "Paris"],
  employmentType: ["employee", "contractor", "intern"],
};
const STATES: readonly LifecycleState[] = ["prehire", "active", "suspended", "terminated", "deleted"];

// ---- random policies ---------------------------------------------------------------------------

const systemSpec = fc.record({
  drift: fc.constantFrom("enforce", "report") as fc.Arbitrary<SystemDef["drift"]>,
  orphans: fc.constantFrom("report", "disable") as fc.Arbitrary<SystemDef["orphans"]>,
  collision: fc.constantFrom("suffix", "fail") as fc.Arbitrary<"suffix" | "fail">,
  username: fc.constantFrom("{givenName}.{familyName}", "{givenName}", "{employeeId}"),
  titleAttribute: fc.boolean(),
  privileged: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
});

const ruleSpec = fc.option(fc.record({ attribute: fc.constantFrom(...RULE_ATTRIBUTES), value: fc.nat(2) }), {
  nil: null,
  freq: 4,
});

const roleSpec = fc.record({
  rule: ruleSpec,
  includes: fc.array(fc.nat(4), { maxLength: 2 }),
  grants: fc.array(fc.record({ system: fc.nat(3), entitlements: fc.array(fc.nat(3), { maxLength: 3 }) }), {
    minLength: 1,
    maxLength: 3,
  }),
});

const policySpec = fc.record({
  systems: fc.array(systemSpec, { minLength: 2, maxLength: 4 }),
  roles: fc.array(roleSpec, { minLength: 1, maxLength: 5 }),
});

function buildRule(attribute: (typeof RULE_ATTRIBUTES)[number], value: string): RoleRule {
  return {
    source: `${attribute} == '${value}'`,
    location: at,
    reads: [attribute as AttributeName],
    evaluate: (a) => ({ value: a[attribute] === value }),
  };
}

function buildPolicy(spec: PolicySpec): Policy {
  const systems: Record<string, SystemDef> = {};
  const entitlements: Record<string, Record<string, EntitlementDef>> = {};
  spec.systems.forEach((s, i) => {
    const name = `s${i}`;
    systems[name] = {
      name,
      connector: "sql",
      connectorConfig: {},
      owner: null,
      drift: s.drift,
      orphans: s.orphans,
      account: {
        username: s.username,
        collision: s.collision,
        attributes: s.titleAttribute ? { email: "{email}", title: "{title}" } : { email: "{email}" },
      },
      correlation: { account: "email", identity: "email" },
      retry: { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 60 },
      location: at,
    };
    entitlements[name] = Object.fromEntries(
      s.privileged.map((privileged, k) => [
        `e${k}`,
        {
          system: name,
          key: `e${k}`,
          displayName: `e${k}`,
          privileged,
          risk: "low",
          owner: null,
          location: at,
        },
      ]),
    );
  });
  const roleNames = spec.roles.map((_, i) => `r${i}`);
  const roles: Record<string, RoleDef> = {};
  spec.roles.forEach((r, i) => {
    roles[roleNames[i]!] = {
      name: roleNames[i]!,
      description: null,
      when: r.rule === null ? null : buildRule(r.rule.attribute, VALUES[r.rule.attribute][r.rule.value]!),
      includes: [...new Set(r.includes.map((k) => roleNames[k % roleNames.length]!))].filter(
        (n) => n !== roleNames[i],
      ),
      grants: r.grants.map((g) => {
        const system = `s${g.system % spec.systems.length}`;
        const count = spec.systems[g.system % spec.systems.length]!.privileged.length;
        return { system, entitlements: [...new Set(g.entitlements.map((e) => `e${e % count}`))] };
      }),
      requestable: null,
      location: at,
    };
  });
  return { systems, entitlements, roles };
}
type PolicySpec = {
  systems: {
    drift: SystemDef["drift"];
    orphans: SystemDef["orphans"];
    collision: "suffix" | "fail";
    username: string;
    titleAttribute: boolean;
    privileged: boolean[];
  }[];
  roles: {
    rule: { attribute: (typeof RULE_ATTRIBUTES)[number]; value: number } | null;
    includes: number[];
    grants: { system: number; entitlements: number[] }[];
  }[];
};

// ---- random identities, assignments and lifecycle ----------------------------------------------

const attributeSpec = fc.record({
  department: fc.nat(2),
  location: fc.nat(2),
  employmentType: fc.nat(2),
  title: fc.option(fc.constantFrom("Dev", "Lead"), { nil: null }),
});

const identitySpec = fc.record({
  givenName: fc.constantFrom("Ann", "Bo", "Zoë"),
  familyName: fc.constantFrom("Lee", "Ødegård"),
  email: fc.boolean(),
  now: attributeSpec,
  before: attributeSpec,
  moved: fc.boolean(),
  changedDaysAgo: fc.nat(20),
  state: fc.constantFrom(...STATES),
  stateDaysAgo: fc.nat(50),
  /** How many days after the HR termination date Tenure first saw it (a late record, a first import). */
  seenDaysLate: fc.constantFrom(0, 0, 3, 40),
  startInDays: fc.integer({ min: 1, max: 15 }),
  employment: fc.integer({ min: 1, max: 2 }),
});

const assignmentSpec = fc.record({
  identity: fc.nat(7),
  role: fc.option(fc.nat(4), { nil: null }),
  system: fc.nat(3),
  entitlement: fc.nat(3),
  employment: fc.integer({ min: 1, max: 2 }),
  fromDaysAgo: fc.integer({ min: -5, max: 30 }),
  untilInDays: fc.option(fc.integer({ min: -5, max: 30 }), { nil: null }),
  revoked: fc.boolean(),
});

const lifecycleSpec = fc.record({
  prehireDays: fc.nat(10),
  moverGraceDays: fc.constantFrom(0, 0, 5, 14),
  deleteAfterDays: fc.constantFrom(0, 10, 30),
  revoke: fc.constantFrom("privileged", "all") as fc.Arbitrary<"privileged" | "all">,
});

type AttributeSpec = { department: number; location: number; employmentType: number; title: string | null };
type IdentitySpec = {
  givenName: string;
  familyName: string;
  email: boolean;
  now: AttributeSpec;
  before: AttributeSpec;
  moved: boolean;
  changedDaysAgo: number;
  state: LifecycleState;
  stateDaysAgo: number;
  seenDaysLate: number;
  startInDays: number;
  employment: number;
};

function attributesOf(id: string, s: IdentitySpec, a: AttributeSpec): WorkerAttributes {
  const startDate = s.state === "prehire" ? addDays(TODAY, s.startInDays) : "2024-01-01";
  const terminated = s.state === "terminated" || s.state === "deleted";
  return {
    employeeId: id.toUpperCase(),
    givenName: s.givenName,
    familyName: s.familyName,
    displayName: `${s.givenName} ${s.familyName}`,
    email: s.email ? `${id}@example.test` : null,
    department: VALUES.department[a.department]!,
    title: a.title,
    location: VALUES.location[a.location]!,
    costCenter: null,
    managerId: null,
    employmentType: VALUES.employmentType[a.employmentType] as EmploymentType,
    status: terminated ? "terminated" : s.state === "suspended" ? "leave" : "active",
    startDate,
    endDate: null,
    terminationDate: terminated ? addDays(TODAY, -s.stateDaysAgo - s.seenDaysLate) : null,
  };
}

function buildIdentity(i: number, s: IdentitySpec): Identity {
  const id = `id-${i}`;
  const stateSince = new Date(NOW.getTime() - s.stateDaysAgo * DAY).toISOString();
  return {
    id,
    kind: "human",
    source: "hr",
    sourceKey: id,
    state: s.state,
    attributes: attributesOf(id, s, s.now),
    employment: s.employment,
    stateSince,
    createdAt: "2024-01-01T00:00:00.000Z",
    updatedAt: stateSince,
    lastRecordId: null,
    previousAttributes: s.moved ? attributesOf(id, s, s.before) : null,
    attributesChangedAt: s.moved ? new Date(NOW.getTime() - s.changedDaysAgo * DAY).toISOString() : null,
  };
}

// ---- random actual state: a converged earlier world, then drift ---------------------------------

const PERTURBATIONS = [
  "toggle",
  "extra",
  "remove",
  "vanish",
  "unmanage",
  "attribute",
  "orphan",
  "drop",
] as const;
const perturbationSpec = fc.record({
  kind: fc.constantFrom(...PERTURBATIONS),
  index: fc.nat(),
  pick: fc.nat(),
});
const orphanSpec = fc.record({ system: fc.nat(3), enabled: fc.boolean(), entitlement: fc.option(fc.nat(3)) });

function perturb(
  accounts: Account[],
  changes: { kind: (typeof PERTURBATIONS)[number]; index: number; pick: number }[],
  policy: Policy,
): Account[] {
  const out = accounts.map((a) => ({
    ...a,
    entitlements: [...a.entitlements],
    managedEntitlements: [...a.managedEntitlements],
  }));
  for (const change of changes) {
    if (out.length === 0) break;
    const i = change.index % out.length;
    const a = out[i]!;
    const catalog = Object.keys(policy.entitlements[a.system] ?? {});
    switch (change.kind) {
      case "toggle":
        a.enabled = !a.enabled;
        break;
      case "extra": {
        const e = catalog[change.pick % catalog.length]!;
        if (!a.entitlements.includes(e)) a.entitlements.push(e);
        break;
      }
      case "remove":
        if (a.entitlements.length > 0) a.entitlements.splice(change.pick % a.entitlements.length, 1);
        break;
      case "vanish":
        a.vanishedAt = "2026-03-01T00:00:00.000Z";
        break;
      case "unmanage":
        a.managed = false;
        a.managedEntitlements = [];
        break;
      case "attribute":
        a.attributes = { ...a.attributes, email: "changed@elsewhere.test" };
        break;
      case "orphan":
        a.identityId = null;
        break;
      case "drop":
        out.splice(i, 1);
        break;
    }
  }
  return out;
}

const worldSpec = fc.record({
  policy: policySpec as fc.Arbitrary<PolicySpec>,
  lifecycle: lifecycleSpec,
  identities: fc.array(identitySpec as fc.Arbitrary<IdentitySpec>, { minLength: 1, maxLength: 6 }),
  assignments: fc.array(assignmentSpec, { maxLength: 5 }),
  perturbations: fc.array(perturbationSpec, { maxLength: 10 }),
  orphans: fc.array(orphanSpec, { maxLength: 3 }),
});

interface World {
  policy: Policy;
  lifecycle: LifecycleConfig;
  identities: Identity[];
  assignments: Assignment[];
  accounts: Account[];
  /** Usernames allocated in the earlier world: they stay reserved, even once their account is deleted. */
  links: Map<string, Record<string, string>>;
}

function buildWorld(spec: WorldSpec): World {
  const policy = buildPolicy(spec.policy);
  const lifecycle: LifecycleConfig = {
    prehireDays: spec.lifecycle.prehireDays,
    moverGraceDays: spec.lifecycle.moverGraceDays,
    deleteAfterDays: spec.lifecycle.deleteAfterDays,
    contractorWarningDays: 14,
    leaver: { revoke: spec.lifecycle.revoke },
    massChangeThreshold: { percent: 10, minimum: 5 },
  };
  const identities = spec.identities.map((s, i) => buildIdentity(i, s));
  const systemCount = spec.policy.systems.length;
  const assignments: Assignment[] = spec.assignments.map((a, k) => {
    const system = a.system % systemCount;
    const count = spec.policy.systems[system]!.privileged.length;
    return {
      id: `a${k}`,
      identityId: `id-${a.identity % identities.length}`,
      target:
        a.role === null
          ? { system: `s${system}`, entitlement: `e${a.entitlement % count}` }
          : { role: `r${a.role % spec.policy.roles.length}` },
      employment: a.employment,
      validFrom: new Date(NOW.getTime() - a.fromDaysAgo * DAY).toISOString(),
      validUntil: a.untilInDays === null ? null : new Date(NOW.getTime() + a.untilInDays * DAY).toISOString(),
      reason: "test",
      approvedBy: null,
      revokedAt: a.revoked ? "2026-03-01T00:00:00.000Z" : null,
    };
  });

  // An earlier, converged world: everyone active under their previous attributes, then drift on top.
  const earlier = identities.map((identity) => ({
    ...identity,
    state: "active" as const,
    employment: 1,
    attributes: identity.previousAttributes ?? identity.attributes,
  }));
  const base = planAll({
    policy,
    lifecycle,
    identities: earlier,
    assignments,
    accounts: [],
    now: NOW,
    today: TODAY,
  });
  let accounts = perturb(applyPlanToAccounts([], base.operations), spec.perturbations, policy);
  spec.orphans.forEach((o, k) => {
    const system = `s${o.system % systemCount}`;
    const catalog = Object.keys(policy.entitlements[system]!);
    accounts = [
      ...accounts,
      {
        system,
        nativeId: `orphan-${k}`,
        username: `zz.orphan${k}`,
        identityId: null,
        enabled: o.enabled,
        attributes: {},
        entitlements: o.entitlement === null ? [] : [catalog[o.entitlement % catalog.length]!],
        managedEntitlements: [],
        managed: false,
        lastSeenAt: null,
        lastUsedAt: null,
      },
    ];
  });
  return { policy, lifecycle, identities, assignments, accounts, links: base.allocated };
}
type WorldSpec = {
  policy: PolicySpec;
  lifecycle: {
    prehireDays: number;
    moverGraceDays: number;
    deleteAfterDays: number;
    revoke: "privileged" | "all";
  };
  identities: IdentitySpec[];
  assignments: {
    identity: number;
    role: number | null;
    system: number;
    entitlement: number;
    employment: number;
    fromDaysAgo: number;
    untilInDays: number | null;
    revoked: boolean;
  }[];
  perturbations: { kind: (typeof PERTURBATIONS)[number]; index: number; pick: number }[];
  orphans: { system: number; enabled: boolean; entitlement: number | null }[];
};

function plan(world: World, accounts = world.accounts, allocated?: Map<string, Record<string, string>>) {
  const links = new Map(world.links);
  for (const [id, record] of allocated ?? []) links.set(id, { ...links.get(id), ...record });
  return planAll({
    policy: world.policy,
    lifecycle: world.lifecycle,
    identities: world.identities,
    assignments: world.assignments,
    accounts,
    links,
    now: NOW,
    today: TODAY,
  });
}

const isLive = (a: Account) => a.vanishedAt === undefined || a.vanishedAt === null;

function accountOf(accounts: readonly Account[], identityId: string, system: string): Account | undefined {
  const mine = accounts.filter((a) => a.identityId === identityId && a.system === system);
  return mine.find(isLive) ?? mine[0];
}

const worlds = worldSpec.map((spec) => buildWorld(spec as WorldSpec));
const RUNS = { numRuns: 300 };

describe("planAll over random policies, identities and drifted actual states", () => {
  it("(a) applying the plan yields the desired state, modulo drift a report-only system leaves", () => {
    fc.assert(
      fc.property(worlds, (world) => {
        const result = plan(world);
        const after = applyPlanToAccounts(world.accounts, result.operations);
        const calculator = createDesiredStateCalculator(world.policy, world.lifecycle);
        const failed = new Set(result.problems.map((p) => `${p.identityId}|${p.system}`));
        const byIdentity = new Map<string, Assignment[]>();
        for (const a of world.assignments)
          byIdentity.set(a.identityId, [...(byIdentity.get(a.identityId) ?? []), a]);

        for (const identity of world.identities) {
          const desired = calculator.compute({
            identity,
            assignments: byIdentity.get(identity.id) ?? [],
            usernames: {},
            now: NOW,
            today: TODAY,
          });
          for (const [name, system] of Object.entries(world.policy.systems)) {
            const report = system.drift === "report";
            const want = desired.systems[name];
            const presence = want?.presence ?? "absent";
            const before = accountOf(world.accounts, identity.id, name);
            const live = after.filter((a) => a.identityId === identity.id && a.system === name && isLive(a));
            expect(live.length).toBeLessThanOrEqual(1);
            const now = live[0];
            const context = `${identity.id} ${identity.state} in ${name}`;

            if (presence === "absent") {
              if (now === undefined) continue;
              expect(now.managed, `${context}: a managed account must be deleted`).toBe(false);
              expect(now.enabled, context).toBe(false);
              for (const e of now.entitlements) {
                expect(report && !before!.managedEntitlements.includes(e), `${context}: ${e} left`).toBe(
                  true,
                );
              }
              continue;
            }
            if (now === undefined) {
              const vanishedUnderReport = before !== undefined && !isLive(before) && before.managed && report;
              // A leaver's account is kept while it exists, never made (retainOnly).
              const leaverWithout = want!.retainOnly === true && (before === undefined || !isLive(before));
              expect(
                leaverWithout || vanishedUnderReport || failed.has(`${identity.id}|${name}`),
                `${context}: no account`,
              ).toBe(true);
              continue;
            }
            expect(now.enabled, context).toBe(presence === "enabled");
            for (const [key, value] of Object.entries(want!.attributes))
              expect(now.attributes[key] ?? null).toBe(value);
            const wasLive = before !== undefined && isLive(before) ? before : undefined;
            for (const e of Object.keys(want!.entitlements)) {
              if (now.entitlements.includes(e)) continue;
              // Nothing is granted to a leaver: what the account held is kept, nothing added.
              if (want!.retainOnly === true) continue;
              // Granted by Tenure, removed out of band, and the system only reports drift.
              const reportedMissing =
                report &&
                wasLive?.managedEntitlements.includes(e) === true &&
                !wasLive.entitlements.includes(e);
              expect(reportedMissing, `${context}: ${e} missing`).toBe(true);
            }
            for (const e of now.entitlements) {
              if (Object.hasOwn(want!.entitlements, e)) continue;
              const reportedExtra =
                report &&
                wasLive?.entitlements.includes(e) === true &&
                !wasLive.managedEntitlements.includes(e) &&
                !Object.hasOwn(want!.withheld, e) &&
                !(presence !== "enabled" && world.policy.entitlements[name]![e]?.privileged);
              expect(reportedExtra, `${context}: ${e} extra`).toBe(true);
            }
          }
        }
        for (const orphan of after.filter((a) => a.identityId === null && isLive(a))) {
          if (world.policy.systems[orphan.system]!.orphans === "disable") expect(orphan.enabled).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it("(b) planning again on the result yields no operations", () => {
    fc.assert(
      fc.property(worlds, (world) => {
        const first = plan(world);
        const after = applyPlanToAccounts(world.accounts, first.operations);
        const second = plan(world, after, first.allocated);
        expect(second.operations.map((o) => o.reason)).toEqual([]);
      }),
      RUNS,
    );
  });

  it("(c) leavers are disabled first; create precedes grant; revoke precedes delete", () => {
    const order = (kind: PlannedOperation["kind"]) => OPERATION_KINDS.indexOf(kind);
    fc.assert(
      fc.property(worlds, (world) => {
        const { operations } = plan(world);
        for (const identity of world.identities) {
          const mine = operations.filter((o) => o.identityId === identity.id);
          for (let i = 1; i < mine.length; i++)
            expect(order(mine[i]!.kind)).toBeGreaterThanOrEqual(order(mine[i - 1]!.kind));
          for (const name of Object.keys(world.policy.systems)) {
            const here = mine.filter((o) => o.system === name);
            const before = accountOf(world.accounts, identity.id, name);
            const gone = identity.state === "terminated" || identity.state === "deleted";
            if (
              before !== undefined &&
              isLive(before) &&
              before.enabled &&
              (gone || here.some((o) => o.kind === "disable"))
            ) {
              expect(here[0]?.kind, `${identity.id} ${identity.state} in ${name}`).toBe("disable");
            }
            const kinds = here.map((o) => o.kind);
            if (kinds.includes("grant") && kinds.includes("create")) {
              expect(kinds.indexOf("create")).toBeLessThan(kinds.indexOf("grant"));
            }
            if (kinds.includes("delete"))
              expect(kinds.lastIndexOf("revoke")).toBeLessThan(kinds.indexOf("delete"));
          }
          if (identity.state === "terminated" || identity.state === "deleted") {
            // Every enabled account of a leaver is disabled before any other operation of theirs.
            const firstOther = mine.findIndex((o) => o.kind !== "disable");
            const lastDisable = mine.map((o) => o.kind).lastIndexOf("disable");
            if (firstOther >= 0) expect(lastDisable).toBeLessThan(firstOther);
          }
        }
      }),
      RUNS,
    );
  });

  it("(d) idempotency keys are unique within a plan and equal across plans of the same input", () => {
    fc.assert(
      fc.property(worlds, (world) => {
        const a = plan(world).operations;
        const b = plan(world).operations;
        expect(new Set(a.map((o) => o.idempotencyKey)).size).toBe(a.length);
        expect(b.map((o) => o.idempotencyKey)).toEqual(a.map((o) => o.idempotencyKey));
        expect(b).toEqual(a);
        // The planner's fast path and the exported function agree.
        for (const op of a) expect(idempotencyKey(op)).toBe(op.idempotencyKey);
      }),
      RUNS,
    );
  });

  it("(f) a leaver gets no new account or access; retention counts from the HR date, not the day seen", () => {
    fc.assert(
      fc.property(worlds, (world) => {
        const { operations } = plan(world);
        const days = world.lifecycle.deleteAfterDays;
        const calculator = createDesiredStateCalculator(world.policy, world.lifecycle);
        for (const identity of world.identities) {
          if (identity.state !== "terminated") continue;
          const assignments = world.assignments.filter((a) => a.identityId === identity.id);
          const desired = calculator.compute({
            identity,
            assignments,
            usernames: {},
            now: NOW,
            today: TODAY,
          });
          const mine = operations.filter((o) => o.identityId === identity.id);
          expect(
            mine.filter((o) => o.kind === "create" || o.kind === "grant" || o.kind === "enable"),
          ).toEqual([]);
          // An oracle apart from retention.ts: the termination date in the record plus the days.
          const ended = addDays(identity.attributes.terminationDate!, days) <= TODAY;
          for (const name of Object.keys(world.policy.systems)) {
            const before = accountOf(world.accounts, identity.id, name);
            // Where no role or assignment grants an account any more, it goes whatever the retention.
            if (before === undefined || !isLive(before) || !before.managed || !desired.systems[name])
              continue;
            const deleted = mine.some((o) => o.system === name && o.kind === "delete");
            expect(
              deleted,
              `${identity.id} in ${name}, terminated ${identity.attributes.terminationDate}`,
            ).toBe(ended);
          }
        }
      }),
      RUNS,
    );
  });

  it("(e) a terminated identity never ends with an enabled account or a privileged entitlement", () => {
    fc.assert(
      fc.property(worlds, (world) => {
        const after = applyPlanToAccounts(world.accounts, plan(world).operations);
        for (const identity of world.identities) {
          if (identity.state !== "terminated" && identity.state !== "deleted") continue;
          for (const account of after.filter((a) => a.identityId === identity.id && isLive(a))) {
            expect(account.enabled).toBe(false);
            const privileged = account.entitlements.filter(
              (e) => world.policy.entitlements[account.system]![e]?.privileged,
            );
            expect(privileged).toEqual([]);
          }
        }
      }),
      RUNS,
    );
  });
});
