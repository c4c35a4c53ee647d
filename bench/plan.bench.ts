/**
 * Provisioning plan at organisation scale: desired state + diff for every identity of a synthetic
 * organisation against 5 systems, with birthright rules in real CEL. Prints one JSON line.
 *   node --import tsx bench/plan.bench.ts [--identities 100000]
 * Targets (DESIGN scale, 2 slow cores): full plan ≤ 3 s within 1 GiB RSS; one identity ≤ 5 ms.
 * `fullPlanSeconds`: desired state + diff for everyone against empty systems (every account created);
 * `replanSeconds`: the same against the applied result (no operations); `oneIdentityMs`: median of
 * 1,000 single-identity department changes. `*CpuSeconds` beside wall time, since on a shared machine
 * the wall clock also measures the neighbours.
 */
import { parseArgs } from "node:util";
import { type ASTNode, Environment } from "@marcbachmann/cel-js";
import { generateOrganisation, type SyntheticWorker, workerAttributes } from "../src/demo/synthetic-org.js";
import type {
  Account,
  EntitlementDef,
  Policy,
  RoleDef,
  RoleRule,
  SystemDef,
} from "../src/domain/access-types.js";
import { createDesiredStateCalculator } from "../src/domain/desired-state.js";
import type { Identity, WorkerAttributes } from "../src/domain/identity-types.js";
import { stateFromAttributes } from "../src/domain/lifecycle.js";
import { planIdentity } from "../src/domain/plan.js";
import { planAll } from "../src/domain/plan-all.js";
import { TEMPLATE_ATTRIBUTES } from "../src/domain/username-template.js";
import type { AttributeName, LifecycleConfig } from "../src/policy/config-types.js";
import { applyPlanToAccounts } from "../test/helpers/plan-simulator.js";

const { values } = parseArgs({
  // run.ts passes --postgres to every bench; this one does not use a database.
  options: { identities: { type: "string", default: "100000" }, postgres: { type: "string" } },
});
const size = Number(values.identities);
const today = "2026-11-21";
const now = new Date(`${today}T10:00:00Z`);
const at = { file: "bench/plan.bench.ts", line: 1, column: 1 };

// ---- a tiny CEL adapter: the policy loader's job, reduced to what a RoleRule needs ----------------

const env = new Environment({ unlistedVariablesAreDyn: true });
const attributeNames = new Set<string>(TEMPLATE_ATTRIBUTES);

function readsOf(node: ASTNode, out: Set<AttributeName>): Set<AttributeName> {
  if (node.op === "id" && typeof node.args === "string" && attributeNames.has(node.args)) {
    out.add(node.args as AttributeName);
  }
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === "object" && "op" in value) readsOf(value as ASTNode, out);
  };
  visit(node.args);
  return out;
}

function cel(source: string): RoleRule {
  const program = env.parse(source);
  return {
    source,
    location: at,
    reads: [...readsOf(program.ast, new Set())],
    evaluate(attributes: WorkerAttributes) {
      try {
        return { value: program(attributes as unknown as Record<string, unknown>) === true };
      } catch (error) {
        return { value: false, error: (error as Error).message };
      }
    },
  };
}

// ---- synthetic policy: 5 systems, 28 entitlements, 13 roles ----------------------------------------

const catalogue: Record<
  string,
  {
    drift: SystemDef["drift"];
    username: string;
    attributes: Record<string, string>;
    entitlements: Record<string, boolean>;
  }
> = {
  directory: {
    drift: "enforce",
    username: "{givenName}.{familyName}",
    attributes: {
      mail: "{email}",
      displayName: "{displayName}",
      department: "{department}",
      title: "{title}",
    },
    entitlements: {
      "all-staff": false,
      employees: false,
      vpn: false,
      externals: false,
      "server-admins": true,
      managers: false,
    },
  },
  wiki: {
    drift: "report",
    username: "{givenName}.{familyName}",
    attributes: { email: "{email}", displayName: "{displayName}" },
    entitlements: {
      readers: false,
      guests: false,
      editors: false,
      finance: false,
      sales: false,
      hr: false,
      support: false,
      leads: false,
      marketing: false,
    },
  },
  git: {
    drift: "enforce",
    username: "{employeeId}",
    attributes: { email: "{email}" },
    entitlements: { developers: false, maintainers: false, issues: false, admins: true },
  },
  deploy: {
    drift: "report",
    username: "{givenName}.{familyName}",
    attributes: { email: "{email}" },
    entitlements: { viewers: false, deployers: false, operators: false, admins: true },
  },
  finance: {
    drift: "enforce",
    username: "{employeeId}",
    attributes: { email: "{email}", costCenter: "{costCenter}" },
    entitlements: { users: false, payroll: true, approvers: false, expenses: false, "hr-data": true },
  },
};

const roleSpecs: [string, string, string[], Record<string, string[]>][] = [
  ["everyone", "employeeId != ''", [], { directory: ["all-staff"] }],
  [
    "employee",
    "employmentType == 'employee'",
    ["everyone"],
    { directory: ["employees", "vpn"], wiki: ["readers"] },
  ],
  [
    "external",
    "employmentType in ['contractor', 'intern']",
    ["everyone"],
    { directory: ["externals"], wiki: ["guests"] },
  ],
  [
    "engineer",
    "department == 'Engineering'",
    ["employee"],
    { git: ["developers"], deploy: ["viewers"], wiki: ["editors"] },
  ],
  [
    "senior-engineer",
    "department == 'Engineering' && title in ['Staff Engineer', 'Senior Software Engineer']",
    ["engineer"],
    { git: ["maintainers"], deploy: ["deployers"] },
  ],
  ["sre", "title == 'SRE'", ["engineer"], { deploy: ["operators", "admins"], directory: ["server-admins"] }],
  ["finance", "department == 'Finance'", ["employee"], { finance: ["users"], wiki: ["finance"] }],
  [
    "payroll",
    "title == 'Payroll Specialist' || title == 'Controller'",
    ["finance"],
    { finance: ["payroll", "approvers"] },
  ],
  ["sales", "department == 'Sales'", [], { wiki: ["sales"], finance: ["expenses"] }],
  ["people-ops", "department == 'People Ops'", [], { finance: ["hr-data"], wiki: ["hr"] }],
  ["support", "department == 'Support'", [], { git: ["issues"], wiki: ["support"] }],
  ["marketing", "department == 'Marketing'", [], { wiki: ["marketing"] }],
  [
    "heads",
    "title.startsWith('Head of')",
    [],
    { finance: ["approvers"], wiki: ["leads"], directory: ["managers"] },
  ],
];

const systems: Record<string, SystemDef> = {};
const entitlements: Record<string, Record<string, EntitlementDef>> = {};
for (const [name, spec] of Object.entries(catalogue)) {
  systems[name] = {
    name,
    connector: "sql",
    connectorConfig: {},
    owner: null,
    drift: spec.drift,
    orphans: "report",
    account: { username: spec.username, collision: "suffix", attributes: spec.attributes },
    correlation: { account: "email", identity: "email" },
    retry: { maxAttempts: 5, baseDelaySeconds: 1, maxDelaySeconds: 300 },
    location: at,
  };
  entitlements[name] = Object.fromEntries(
    Object.entries(spec.entitlements).map(([key, privileged]) => [
      key,
      {
        system: name,
        key,
        displayName: key,
        privileged,
        risk: privileged ? "high" : "low",
        owner: null,
        location: at,
      },
    ]),
  );
}
const roles: Record<string, RoleDef> = Object.fromEntries(
  roleSpecs.map(([name, when, includes, grants]) => [
    name,
    {
      name,
      description: null,
      when: cel(when),
      includes,
      grants: Object.entries(grants).map(([system, keys]) => ({ system, entitlements: keys })),
      requestable: null,
      location: at,
    },
  ]),
);
const policy: Policy = { systems, entitlements, roles };
const lifecycle: LifecycleConfig = {
  prehireDays: 7,
  moverGraceDays: 14,
  deleteAfterDays: 30,
  contractorWarningDays: 14,
  leaver: { revoke: "privileged" },
  massChangeThreshold: { percent: 10, minimum: 5 },
};

// ---- identities from the synthetic HR rows ------------------------------------------------------

function toIdentity(w: SyntheticWorker): Identity {
  const attributes = workerAttributes(w);
  const verdict = stateFromAttributes(attributes, today);
  const since = attributes.terminationDate ?? attributes.endDate ?? attributes.startDate ?? "2020-01-01";
  return {
    id: `id-${w.employeeId}`,
    kind: "human",
    source: "hr",
    sourceKey: w.employeeId,
    state: verdict.state,
    attributes,
    employment: 1,
    stateSince: `${since <= today ? since : today}T00:00:00.000Z`,
    createdAt: "2020-01-01T00:00:00.000Z",
    updatedAt: "2020-01-01T00:00:00.000Z",
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

const identities = generateOrganisation({ size, today }).map(toIdentity);

// ---- (a) full plan from nothing, then (b) re-plan against the applied result ---------------------

const calculator = createDesiredStateCalculator(policy, lifecycle);
// CPU time is printed beside wall time: on a shared machine the wall clock also measures the neighbours.
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};
let t0 = performance.now();
let c0 = process.cpuUsage();
const first = planAll({
  policy,
  lifecycle,
  identities,
  assignments: [],
  accounts: [],
  now,
  today,
  calculator,
});
const fullPlanSeconds = (performance.now() - t0) / 1000;
const fullPlanCpuSeconds = cpuSeconds(c0);
const afterFullPlanRss = process.memoryUsage().rss;

const accounts = applyPlanToAccounts([], first.operations);
const links = first.allocated;
t0 = performance.now();
c0 = process.cpuUsage();
const second = planAll({
  policy,
  lifecycle,
  identities,
  assignments: [],
  accounts,
  links,
  now,
  today,
  calculator,
});
const replanSeconds = (performance.now() - t0) / 1000;
const replanCpuSeconds = cpuSeconds(c0);

// ---- one identity changes department: desired + diff for that identity alone ---------------------

const accountsOf = new Map<string, Account[]>();
for (const account of accounts) {
  const list = accountsOf.get(account.identityId!);
  if (list === undefined) accountsOf.set(account.identityId!, [account]);
  else list.push(account);
}
const departments = ["Engineering", "Finance", "Sales", "People Ops", "Support", "Marketing"];
const samples: number[] = [];
let oneIdentityOperations = 0;
for (let k = 0; k < 1000; k++) {
  const before = identities[(k * 7919) % identities.length]!;
  const mine = accountsOf.get(before.id) ?? [];
  const start = performance.now();
  const changed: Identity = {
    ...before,
    attributes: { ...before.attributes, department: departments[k % departments.length]! },
    previousAttributes: before.attributes,
    attributesChangedAt: now.toISOString(),
  };
  const usernames: Record<string, string> = {};
  for (const account of mine) usernames[account.system] = account.username;
  const desired = calculator.compute({ identity: changed, assignments: [], usernames, now, today });
  oneIdentityOperations += planIdentity(desired, mine, policy).length;
  samples.push(performance.now() - start);
}
samples.sort((a, b) => a - b);

console.log(
  JSON.stringify({
    name: "plan",
    identities: identities.length,
    systems: Object.keys(systems).length,
    entitlements: Object.values(entitlements).reduce((n, e) => n + Object.keys(e).length, 0),
    roles: Object.keys(roles).length,
    fullPlanSeconds: Number(fullPlanSeconds.toFixed(3)),
    fullPlanCpuSeconds: Number(fullPlanCpuSeconds.toFixed(3)),
    operations: first.operations.length,
    problems: first.problems.length,
    replanSeconds: Number(replanSeconds.toFixed(3)),
    replanCpuSeconds: Number(replanCpuSeconds.toFixed(3)),
    replanOperations: second.operations.length,
    oneIdentityMs: Number(samples[samples.length >> 1]!.toFixed(3)),
    oneIdentityP99Ms: Number(samples[Math.floor(samples.length * 0.99)]!.toFixed(3)),
    oneIdentityOperations: oneIdentityOperations / samples.length,
    rssAfterFullPlanMB: Math.round(afterFullPlanRss / 2 ** 20),
    rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
