/**
 * Separation of duties (issue 15) at organisation scale: 100,000 identities of the synthetic
 * organisation in a store, a tenure.yaml of 5 systems, 50 entitlements and 25 roles (20 birthright with
 * CEL `when` rules, 5 requestable) and a `sod:` section of 200 rules (pair and atMost; high, medium and
 * low; some scoped by CEL), accounts in every system a person has access in (as reconcile stores them,
 * with out-of-band entitlements for a few per cent), and assignments for a few. Timed:
 *
 * a. `findViolations` for everyone (read + evaluate, nothing written): the first call in the process
 *    (cold) and the median of the next runs. Floors: the rows a scan needs read by a bare script — one
 *    row per identity with the attributes the birthright rules that matter read and the entitlements
 *    rules name found on its accounts (filtered in SQL, as the product does), then the full rows of the
 *    identities the scan evaluates — and the same 200 rules checked by a bare script against each
 *    person's items (a Map lookup per item, in memory; it must find the same violations, upcoming ones
 *    included).
 * b. `scanSod` full, the first (writes every violation, its audit event and its owner's notification);
 * c. `scanSod` full again, nothing changed (an hour later each), median of the runs;
 * d. `scanSod` of one identity (`identityIds: [id]`) over random identities (the incremental scan
 *    after a change), p50 / p99, with `findViolations` of that identity and `evaluateIdentity` alone
 *    beside it. Floors: the same rows of one identity and its open violations read by a bare script,
 *    no transaction — what a scan with nothing to change does — table by table (`floorRead`: the
 *    identity, then its accounts, assignments and exceptions at once, then its violations) and, on
 *    PostgreSQL, in one statement as the product reads them (`floorReadJoined`; on SQLite the same as
 *    `floorRead`); and those reads with the open count by severity in a transaction, as such a scan did
 *    before it stopped writing (`floorScan`);
 * e. `checkRequestSod` over random active identities, each asking for one of the requestable roles in
 *    turn, p50 / p99; floor: the rows it reads, by a bare script. Then `submitRequest` of the same
 *    roles by people the check lets through, with and without the `sod:` section (alternating,
 *    different people): the difference is what the check costs a submission.
 *
 *   node --import tsx bench/sod.bench.ts [--identities 100000] [--rules 200] [--samples 1000]
 *     [--submits 300] [--runs 3] [--postgres URL] [--database sqlite|postgres|both] [--keep DIR]
 *
 * The data set is built and stored by this process; each database is measured by a child process of
 * its own, whose heap then holds what the scans allocate rather than the data set. On PostgreSQL the
 * load is followed by `analyze` and a `checkpoint`, so the load's checkpoint does not run under the
 * timed scans; the bare floors run with JIT off, as the product's population read does.
 *
 * Targets (floors of the issue, 2 cores): full scan ≤ 2 s; one changed identity ≤ 5 ms; the check in a
 * request submission ≤ 10 ms. Prints one JSON line per database, and a summary on stderr.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import pg from "pg";
import { generateOrganisation, type SyntheticWorker, workerAttributes } from "../src/demo/synthetic-org.js";
import type { Account, Assignment } from "../src/domain/access-types.js";
import { calculatorFor } from "../src/domain/desired-state.js";
import type { Identity, WorkerAttributes } from "../src/domain/identity-types.js";
import { isGone, stateFromAttributes } from "../src/domain/lifecycle.js";
import { sodReachFor } from "../src/domain/sod-reach.js";
import { roleItems } from "../src/domain/sod-role-check.js";
import type { SodItem, SodRule } from "../src/domain/sod-types.js";
import { policyToday } from "../src/engine/policy-today.js";
import { evaluateIdentity, loadAccessData } from "../src/engine/sod-access.js";
import { findViolations, scanSod } from "../src/engine/sod-scan.js";
import { loadConfig } from "../src/policy/config-loader.js";
import type { TenureConfig } from "../src/policy/config-types.js";
import { newId } from "../src/shared/ids.js";
import { accountRepository } from "../src/store/account-repository.js";
import { assignmentRepository } from "../src/store/assignment-repository.js";
import { openStore, type Store } from "../src/store/database.js";
import { identityRepository } from "../src/store/identity-repository.js";
import { submitRequest } from "../src/workflows/request-submission.js";
import { checkRequestSod } from "../src/workflows/sod-check.js";
import { withPostgresSchema } from "./bench-postgres.js";
import { median, percentile, pick, prng } from "./bench-stats.js";

const { values: args } = parseArgs({
  options: {
    identities: { type: "string", default: "100000" },
    rules: { type: "string", default: "200" },
    samples: { type: "string", default: "1000" },
    submits: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
    postgres: { type: "string" },
    database: { type: "string", default: "both" },
    // Keep the data set (tenure.yaml, nosod.yaml, the SQLite store) in this directory, for profiling.
    keep: { type: "string" },
    // Internal: the child process that measures one database (see measureInChild).
    measure: { type: "string" },
    store: { type: "string" },
    dir: { type: "string" },
  },
});
const size = Number(args.identities);
const ruleCount = Number(args.rules);
const samples = Number(args.samples);
const submits = Number(args.submits);
const runs = Number(args.runs);
const today = "2026-11-21";
const now = new Date(`${today}T10:00:00Z`);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// ---- the policy: 5 systems, 50 entitlements, 20 birthright roles with CEL rules, 5 requestable ------

const ENTITLEMENTS: Record<string, string[]> = {
  directory: [
    "all-staff",
    "employees",
    "externals",
    "vpn",
    "engineering",
    "finance",
    "sales",
    "people",
    "support",
    "marketing",
    "managers",
    "server-admins",
  ],
  erp: [
    "expense-submit",
    "expense-approve",
    "ap-invoice-enter",
    "ap-invoice-approve",
    "vendor-create",
    "vendor-approve",
    "payment-run",
    "payment-approve",
    "gl-post",
    "gl-approve",
    "po-create",
    "po-approve",
    "treasury",
    "payroll-run",
  ],
  crm: [
    "leads",
    "opportunities",
    "quotes",
    "discount-approve",
    "contracts",
    "customer-master",
    "support-cases",
    "campaigns",
  ],
  hris: [
    "self-service",
    "employee-records",
    "compensation",
    "payroll-approve",
    "recruiting",
    "offers",
    "org-admin",
    "benefits-admin",
  ],
  git: ["read", "write", "maintain", "admin", "deploy-staging", "deploy-prod", "secrets", "audit-logs"],
};

/** name, `when` (null: requestable only), includes, grants by system. */
const ROLES: [string, string | null, string[], Record<string, string[]>][] = [
  ["everyone", "employeeId != ''", [], { directory: ["all-staff"], hris: ["self-service"] }],
  [
    "employee",
    "employmentType == 'employee'",
    ["everyone"],
    { directory: ["employees", "vpn"], erp: ["expense-submit"] },
  ],
  ["external", "employmentType in ['contractor', 'intern']", ["everyone"], { directory: ["externals"] }],
  [
    "engineer",
    "department == 'Engineering'",
    [],
    { directory: ["engineering"], git: ["read", "write", "deploy-staging"] },
  ],
  [
    "senior-engineer",
    "department == 'Engineering' && title in ['Staff Engineer', 'Senior Software Engineer']",
    ["engineer"],
    { git: ["maintain"] },
  ],
  ["sre", "title == 'SRE'", ["engineer"], { git: ["deploy-prod", "secrets"], directory: ["server-admins"] }],
  ["finance", "department == 'Finance'", [], { directory: ["finance"], erp: ["gl-post"] }],
  ["accountant", "title == 'Accountant'", ["finance"], { erp: ["ap-invoice-enter", "vendor-create"] }],
  [
    "payroll-specialist",
    "title == 'Payroll Specialist'",
    ["finance"],
    { erp: ["payroll-run"], hris: ["employee-records"] },
  ],
  ["financial-analyst", "title == 'Financial Analyst'", ["finance"], { erp: ["po-create"] }],
  [
    "controller",
    "title == 'Controller'",
    ["finance"],
    { erp: ["ap-invoice-approve", "gl-approve", "po-approve"] },
  ],
  ["sales", "department == 'Sales'", [], { directory: ["sales"], crm: ["leads", "opportunities", "quotes"] }],
  ["account-executive", "title == 'Account Executive'", ["sales"], { crm: ["contracts"] }],
  ["sales-engineer", "title == 'Sales Engineer'", ["sales"], { git: ["read"] }],
  ["people-ops", "department == 'People Ops'", [], { directory: ["people"], hris: ["employee-records"] }],
  ["recruiter", "title == 'Recruiter'", ["people-ops"], { hris: ["recruiting", "offers"] }],
  ["people-partner", "title == 'People Partner'", ["people-ops"], { hris: ["compensation"] }],
  [
    "support",
    "department == 'Support'",
    [],
    { directory: ["support"], crm: ["support-cases", "customer-master"] },
  ],
  ["marketing", "department == 'Marketing'", [], { directory: ["marketing"], crm: ["campaigns", "leads"] }],
  [
    "heads",
    "title.startsWith('Head of')",
    [],
    { directory: ["managers"], erp: ["expense-approve"], hris: ["org-admin"] },
  ],
  ["treasury-operator", null, [], { erp: ["treasury", "payment-run"] }],
  ["payment-approver", null, [], { erp: ["payment-approve"] }],
  ["prod-deployer", null, [], { git: ["deploy-prod"] }],
  ["discount-approver", null, [], { crm: ["discount-approve"] }],
  ["vendor-steward", null, [], { erp: ["vendor-approve"] }],
];
/** The roles of each business domain, for rules that separate duties within one. */
const ROLE_DOMAIN = {
  finance: [
    "finance",
    "accountant",
    "payroll-specialist",
    "financial-analyst",
    "controller",
    "treasury-operator",
    "payment-approver",
    "vendor-steward",
  ],
  engineering: ["engineer", "senior-engineer", "sre", "prod-deployer", "sales-engineer"],
  sales: ["sales", "account-executive", "sales-engineer", "discount-approver", "support", "marketing"],
  people: ["people-ops", "recruiter", "people-partner", "payroll-specialist"],
};
const REQUESTABLE = ROLES.filter(([, when]) => when === null).map(([name]) => name);

const SCOPES = [
  "location != 'Remote'",
  "employmentType == 'employee'",
  "department in ['Finance', 'Sales', 'Support']",
  "costCenter != 'CC-100'",
];

function policyYaml(rulesYaml: string | null): string {
  const systems = Object.keys(ENTITLEMENTS)
    .map(
      (s) =>
        `  ${s}:\n    connector: manual\n    account: { username: "{employeeId}" }\n    config: { fulfiller: ${s}-ops@example.test }`,
    )
    .join("\n");
  const entitlements = Object.entries(ENTITLEMENTS)
    .map(([s, keys]) => `  ${s}:\n${keys.map((k) => `    ${k}: {}`).join("\n")}`)
    .join("\n");
  const roles = ROLES.map(([name, when, includes, grants]) => {
    const lines = [`  ${name}:`];
    if (when !== null) lines.push(`    when: "${when}"`);
    if (includes.length > 0) lines.push(`    includes: [${includes.join(", ")}]`);
    lines.push(
      `    grants: [${Object.entries(grants)
        .map(([s, keys]) => `{ system: ${s}, entitlements: [${keys.join(", ")}] }`)
        .join(", ")}]`,
    );
    if (when === null) {
      lines.push("    requestable: { defaultDuration: 8h, maxDuration: 30d, approval: [manager] }");
    }
    return lines.join("\n");
  }).join("\n");
  return `database: sqlite:./tenure.db
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
systems:
${systems}
entitlements:
${entitlements}
roles:
${roles}
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
${rulesYaml ?? ""}`;
}

// ---- identities from the synthetic HR rows --------------------------------------------------------

function toIdentity(w: SyntheticWorker): Identity {
  const attributes = workerAttributes(w);
  const since = attributes.terminationDate ?? attributes.endDate ?? attributes.startDate ?? "2020-01-01";
  return {
    id: newId(),
    kind: "human",
    source: "hr",
    sourceKey: w.employeeId,
    state: stateFromAttributes(attributes, today).state,
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

// ---- the bare evaluator: the floor, and the helper that places violations ----------------------------

const roleKey = (role: string) => `r:${role}`;
const entKey = (system: string, entitlement: string) => `e:${system}:${entitlement}`;
const keyOf = (item: SodItem) =>
  item.kind === "role" ? roleKey(item.role) : entKey(item.system, item.entitlement);

/** Rule sets as plain data: item key → (rule, side) slots; per rule its form and threshold. */
interface BareRules {
  slots: Map<string, number[]>;
  /** 0: pair, else atMost with this max + 1 (held count that breaks it). */
  form: Int32Array;
  scope: (SodRule["scope"] | null)[];
}

function bareRules(rules: readonly SodRule[]): BareRules {
  const slots = new Map<string, number[]>();
  const form = new Int32Array(rules.length);
  const add = (item: SodItem, slot: number) => {
    const k = keyOf(item);
    const list = slots.get(k);
    if (list === undefined) slots.set(k, [slot]);
    else list.push(slot);
  };
  rules.forEach((rule, r) => {
    const c = rule.condition;
    if (c.kind === "pair") {
      for (const item of c.sideA) add(item, r * 2);
      for (const item of c.sideB) add(item, r * 2 + 1);
    } else {
      form[r] = c.max + 1;
      for (const item of c.items) add(item, r * 2);
    }
  });
  return { slots, form, scope: rules.map((r) => r.scope) };
}

/** How many rules `items` (distinct item keys) break; `attributes` null: scopes are not read. */
function makeBareCheck(rules: BareRules) {
  const counts = new Int32Array(rules.form.length * 2);
  const touched: number[] = [];
  return (items: readonly string[], attributes: WorkerAttributes | null): number => {
    for (const item of items) {
      const slots = rules.slots.get(item);
      if (slots === undefined) continue;
      for (const slot of slots) {
        if (counts[slot] === 0 && counts[slot ^ 1] === 0) touched.push(slot >> 1);
        counts[slot]!++;
      }
    }
    let broken = 0;
    for (const r of touched) {
      const a = counts[r * 2]!;
      const b = counts[r * 2 + 1]!;
      counts[r * 2] = 0;
      counts[r * 2 + 1] = 0;
      const form = rules.form[r]!;
      if (form === 0 ? a > 0 && b > 0 : a >= form) {
        const scope = rules.scope[r];
        if (attributes === null || scope == null || scope.evaluate(attributes).value) broken++;
      }
    }
    touched.length = 0;
    return broken;
  };
}

// ---- the rules: random sets over the catalogue, none broken by anyone's birthright alone ----------

interface RuleDraft {
  name: string;
  severity: "high" | "medium" | "low";
  scope: string | null;
  pair: boolean;
  a: SodItem[];
  b: SodItem[];
  max: number;
}

function draftRules(
  birthright: readonly (readonly string[])[],
  bundles: readonly (readonly string[])[],
  common: ReadonlySet<string>,
) {
  const rng = prng(15);
  const item = (ref: string): SodItem => {
    const colon = ref.indexOf(":");
    return colon < 0
      ? { kind: "role", role: ref }
      : { kind: "entitlement", system: ref.slice(0, colon), entitlement: ref.slice(colon + 1) };
  };
  // Rules separate duties within a business domain (one in ten across domains); access nearly everyone
  // holds (all-staff, self-service, …) is no duty to separate.
  const everything = [
    ...Object.entries(ENTITLEMENTS).flatMap(([system, keys]) => keys.map((k) => `${system}:${k}`)),
    ...ROLES.map(([role]) => role),
  ];
  const domains = [
    everything.filter(
      (ref) =>
        (ref.startsWith("erp:") && ref !== "erp:expense-submit") ||
        ["hris:payroll-approve", "hris:compensation", "heads", ...ROLE_DOMAIN.finance].includes(ref),
    ),
    everything.filter(
      (ref) =>
        ref.startsWith("git:") || ["directory:server-admins", ...ROLE_DOMAIN.engineering].includes(ref),
    ),
    everything.filter((ref) => ref.startsWith("crm:") || ROLE_DOMAIN.sales.includes(ref)),
    everything.filter(
      (ref) =>
        ref.startsWith("hris:") || ["directory:managers", "heads", ...ROLE_DOMAIN.people].includes(ref),
    ),
    everything,
  ].map((refs) => refs.filter((ref) => !common.has(keyOf(item(ref)))).map(item));
  const drafts: RuleDraft[] = [];
  const seen = new Set<string>();
  let attempts = 0;
  while (drafts.length < ruleCount) {
    if (++attempts > 1_000_000) throw new Error(`only ${drafts.length} rules found`);
    const roll = rng();
    const catalogue = domains[roll < 0.4 ? 0 : roll < 0.55 ? 1 : roll < 0.7 ? 2 : roll < 0.9 ? 3 : 4]!;
    const pair = rng() < 0.75;
    const take = (n: number, not: ReadonlySet<string>): SodItem[] => {
      const out: SodItem[] = [];
      while (out.length < n) {
        const item = pick(rng, catalogue);
        if (!not.has(keyOf(item)) && !out.some((o) => keyOf(o) === keyOf(item))) out.push(item);
      }
      return out;
    };
    const a = take(pair ? 1 + Math.floor(rng() * 2) : 3 + Math.floor(rng() * 3), new Set());
    const b = pair ? take(1 + Math.floor(rng() * 3), new Set(a.map(keyOf))) : [];
    const max = pair ? 0 : 1 + Math.floor(rng() * (a.length - 2));
    const signature = `${pair}|${a.map(keyOf).sort()}|${b.map(keyOf).sort()}|${max}`;
    if (seen.has(signature)) continue;
    const draft: RuleDraft = {
      name: `sod-${String(drafts.length + 1).padStart(3, "0")}`,
      severity: rng() < 0.3 ? "high" : rng() < 0.57 ? "medium" : "low",
      scope: rng() < 0.25 ? pick(rng, SCOPES) : null,
      pair,
      a,
      b,
      max,
    };
    // Not broken by any birthright profile nor by any role's own bundle (the loader refuses those).
    const check = makeBareCheck(bareRules([toRule(draft)]));
    if (birthright.some((items) => check(items, null) > 0) || bundles.some((items) => check(items, null) > 0))
      continue;
    seen.add(signature);
    drafts.push(draft);
  }
  return drafts;
}

/** A draft as a compiled rule, for the bare check (the real ones come from the loader). */
function toRule(d: RuleDraft): SodRule {
  return {
    name: d.name,
    description: d.name,
    severity: d.severity,
    owner: null,
    condition: d.pair ? { kind: "pair", sideA: d.a, sideB: d.b } : { kind: "atMost", max: d.max, items: d.a },
    scope: null,
    mitigations: [],
    location: { file: "bench", line: 1, column: 1 },
  };
}

function rulesYaml(drafts: readonly RuleDraft[]): string {
  const set = (items: readonly SodItem[]) => {
    const roles = items.flatMap((i) => (i.kind === "role" ? [i.role] : []));
    const ents = items.flatMap((i) => (i.kind === "entitlement" ? [`"${i.system}:${i.entitlement}"`] : []));
    return `{ ${[roles.length > 0 ? `roles: [${roles.join(", ")}]` : "", ents.length > 0 ? `entitlements: [${ents.join(", ")}]` : ""].filter(Boolean).join(", ")} }`;
  };
  const lines = ["sod:", "  rules:"];
  drafts.forEach((d, i) => {
    lines.push(`    ${d.name}:`);
    lines.push(
      `      description: "Rule ${i + 1}: these together let one person both do and check the work"`,
    );
    lines.push(`      severity: ${d.severity}`);
    if (i % 7 !== 0) lines.push(`      owner: risk-${i % 5}@example.test`);
    if (d.scope !== null) lines.push(`      scope: "${d.scope}"`);
    if (d.pair) {
      lines.push(`      sideA: ${set(d.a)}`);
      lines.push(`      sideB: ${set(d.b)}`);
    } else {
      lines.push(`      atMost: ${d.max}`);
      lines.push(`      of: ${set(d.a)}`);
    }
    if (i % 4 === 0) lines.push("      mitigations: [{ control: Monthly review by the controller }]");
  });
  return `${lines.join("\n")}\n`;
}

// ---- the data set: identities, accounts as reconcile stores them, assignments ------------------------

interface DataSet {
  identities: Identity[];
  accounts: Account[];
  assignments: Assignment[];
  /** Per identity (same order), every item it holds or will hold: what the bare floor checks. */
  items: string[][];
  config: TenureConfig;
  drift: { targeted: number; random: number; assignments: number; futureAssignments: number };
}

async function buildDataSet(dir: string): Promise<DataSet> {
  const identities = generateOrganisation({ size, today }).map(toIdentity);
  await writeFile(path.join(dir, "nosod.yaml"), policyYaml(null));
  const withoutSod = await loadConfig(path.join(dir, "nosod.yaml"));
  const calculator = calculatorFor(withoutSod.policy, withoutSod.lifecycle);
  const day = policyToday(withoutSod, now);

  // Birthright of everyone, and the accounts it gives (the managed entitlements of each system).
  const held: string[][] = [];
  const accountsOf: Map<string, Account>[] = [];
  for (const identity of identities) {
    const mine = new Map<string, Account>();
    accountsOf.push(mine);
    if (isGone(identity.state)) {
      held.push([]);
      continue;
    }
    const { desired, roles } = calculator.computeWithRoles({
      identity,
      assignments: [],
      usernames: {},
      now,
      today: day,
    });
    const items = [...roles.keys()].map(roleKey);
    for (const system of Object.values(desired.systems)) {
      if (system.presence !== "enabled") continue;
      const keys = Object.keys(system.entitlements);
      for (const k of keys) items.push(entKey(system.system, k));
      mine.set(system.system, {
        system: system.system,
        nativeId: null,
        username: identity.attributes.employeeId.toLowerCase(),
        identityId: identity.id,
        enabled: true,
        attributes: { email: identity.attributes.email, displayName: identity.attributes.displayName },
        entitlements: keys,
        managedEntitlements: [...keys],
        managed: true,
        lastSeenAt: now.toISOString(),
        lastUsedAt: null,
      });
    }
    held.push(items);
  }

  const profiles = new Map<string, string[]>();
  identities.forEach((identity, i) => {
    const a = identity.attributes;
    profiles.set(`${a.department}|${a.title}|${a.employmentType}|${identity.state}`, held[i]!);
  });
  const bundles = ROLES.map(([role]) => roleItems(withoutSod.policy, role).map(keyOf));
  // Items more than a fifth of the people hold by birthright.
  const holders = new Map<string, number>();
  for (const items of held) for (const k of items) holders.set(k, (holders.get(k) ?? 0) + 1);
  const common = new Set([...holders].filter(([, n]) => n > identities.length / 5).map(([k]) => k));
  const drafts = draftRules([...profiles.values()], bundles, common);
  const yaml = rulesYaml(drafts);
  await writeFile(path.join(dir, "tenure.yaml"), policyYaml(yaml));
  const config = await loadConfig(path.join(dir, "tenure.yaml"));
  const rules = Object.values(config.policy.sod!.rules);
  const check = makeBareCheck(bareRules(rules));

  // Drift: entitlements added in the systems directly (found by reconcile, not granted by Tenure) —
  // for 1.5 % of people one that breaks a rule with what they hold, for 1 % one at random — and
  // assignments of requestable roles: 0.5 % running now, 0.1 % starting in three days.
  const rng = prng(2026);
  const drift = { targeted: 0, random: 0, assignments: 0, futureAssignments: 0 };
  const assignments: Assignment[] = [];
  const items: string[][] = [];
  identities.forEach((identity, i) => {
    const mine = items[items.push([...held[i]!]) - 1]!;
    if (isGone(identity.state)) return;
    const accounts = [...accountsOf[i]!.values()];
    const roll = rng();
    if (roll < 0.025 && accounts.length > 0) {
      const candidates = accounts.flatMap((account) =>
        ENTITLEMENTS[account.system]!.filter((k) => !account.entitlements.includes(k)).map(
          (k) => [account, k] as const,
        ),
      );
      const breaking = candidates.filter(
        ([account, k]) => check([...mine, entKey(account.system, k)], null) > 0,
      );
      const from = roll < 0.015 ? breaking : candidates;
      if (from.length > 0) {
        const [account, k] = pick(rng, from);
        account.entitlements.push(k);
        mine.push(entKey(account.system, k));
        if (roll < 0.015) drift.targeted++;
        else drift.random++;
      }
    } else if (roll < 0.031 && identity.state === "active") {
      const future = roll >= 0.03;
      const role = pick(rng, REQUESTABLE);
      const from = future ? now.getTime() + 3 * DAY : now.getTime() - 5 * DAY;
      assignments.push({
        id: newId(),
        identityId: identity.id,
        target: { role },
        employment: 1,
        validFrom: new Date(from).toISOString(),
        validUntil: new Date(from + 25 * DAY).toISOString(),
        reason: "bench",
        approvedBy: "bench",
        revokedAt: null,
      });
      for (const item of roleItems(config.policy, role)) {
        const k = keyOf(item);
        if (!mine.includes(k)) mine.push(k);
      }
      // A grant running now is also in the target, granted by Tenure.
      if (!future) {
        for (const item of roleItems(config.policy, role)) {
          if (item.kind !== "entitlement") continue;
          const account = accountsOf[i]!.get(item.system);
          if (account !== undefined && !account.entitlements.includes(item.entitlement)) {
            account.entitlements.push(item.entitlement);
            account.managedEntitlements.push(item.entitlement);
          }
        }
      }
      if (future) drift.futureAssignments++;
      else drift.assignments++;
    } else if (roll < 0.036 && identity.state === "active") {
      // Ended assignments: history the scan reads and skips.
      const from = now.getTime() - 40 * DAY;
      assignments.push({
        id: newId(),
        identityId: identity.id,
        target: { role: pick(rng, REQUESTABLE) },
        employment: 1,
        validFrom: new Date(from).toISOString(),
        validUntil: new Date(from + 7 * DAY).toISOString(),
        reason: "bench",
        approvedBy: "bench",
        revokedAt: null,
        endedAt: new Date(from + 7 * DAY).toISOString(),
      });
    }
  });
  return {
    identities,
    accounts: accountsOf.flatMap((m) => [...m.values()]),
    assignments,
    items,
    config,
    drift,
  };
}

// ---- floors: bare reads of the same rows ---------------------------------------------------------

/**
 * What a scan needs read by a bare client — better-sqlite3, or pg with the same concurrency as the
 * product (an identity's accounts, assignments and exceptions at once). A full scan reads everyone
 * narrowly first: per identity its state, the attributes the birthright rules that matter read, and the
 * entitlements rules name found on its enabled accounts, filtered and joined in SQL (the same SQL as
 * `sodScanRepository.population`, `store/sod-scan-repository.ts`, in one query where the product reads
 * two halves at once on PostgreSQL, the attributes from the generated jsonb column there); then the
 * assignment ends, the exceptions in force, and the full rows
 * (identity, accounts' entitlements, assignments) of the identities it evaluates. JSON parsed.
 */
interface Bare {
  /** What a full scan reads, `candidates` being the identities it evaluates in full. */
  readAll(candidates: readonly string[]): Promise<number>;
  /** One identity's rows: the identity, its accounts, assignments, exceptions and open violations. */
  readOne(id: string): Promise<number>;
  /**
   * The same rows (and its review exclusions) as the product reads them: on PostgreSQL one statement,
   * each table's rows aggregated as JSON; on SQLite, in this process, as `readOne`.
   */
  readOneJoined(id: string): Promise<number>;
  /**
   * What a scan of one identity with nothing to change does: the identity, its accounts, assignments
   * and exceptions, then in a transaction its open violations and the open count by severity.
   */
  scanOne(id: string): Promise<number>;
  /** What checkRequestSod reads: accounts, assignments and exceptions of one identity. */
  readForCheck(id: string): Promise<number>;
  close(): Promise<void>;
}

const nowIso = now.toISOString();
type Row = Record<string, unknown>;
const parseIdentity = (r: Row) => [
  JSON.parse(r.attributes as string),
  r.previous_attributes === null ? null : JSON.parse(r.previous_attributes as string),
];
const parseAccount = (r: Row) => JSON.parse(r.entitlements as string);
const parseViolation = (r: Row) => JSON.parse(r.sides as string);
const IDENTITY = `select id, kind, source, source_key, state, attributes, employment, state_since, created_at,
  updated_at, last_record_id, previous_attributes, attributes_changed_at from identities`;
const ACCOUNTS = `select identity_id, system, username, entitlements, managed_entitlements from accounts
  where identity_id is not null and enabled = 1 and vanished_at is null
  and system in ('${Object.keys(ENTITLEMENTS).join("', '")}')`;
const SQL = {
  assignmentEnds: "select identity_id, valid_until from assignments",
  exceptions:
    "select * from sod_exceptions where revoked_at is null and approved_at <= $1 and expires_at > $2",
  identity: `${IDENTITY} where id in ($1)`,
  accountsOf: `${ACCOUNTS} and identity_id in ($1)`,
  assignmentsOf: "select * from assignments where identity_id in ($1)",
  exceptionsOf:
    "select * from sod_exceptions where revoked_at is null and approved_at <= $1 and expires_at > $2 and identity_id in ($3)",
  violationsOf:
    "select * from sod_violations where closed_at is null and identity_id in ($1) order by opened_at, id",
  openBySeverity:
    "select severity, count(*) as n from sod_violations where closed_at is null group by severity",
};

/** The first read of a full scan, bare: one row per identity (see `sodScanRepository.population`). */
function populationSql(config: TenureConfig, postgres: boolean): { text: string; values: unknown[] } {
  const reach = sodReachFor(config.policy, config.policy.sod!);
  const reads = reach.reads ?? [];
  const attributes = postgres
    ? `jsonb_build_array(${reads.map((a) => `i.attributes_jsonb -> '${a}'`).join(", ")})::text`
    : `json_array(${reads.map((a) => `json_extract(i.attributes, '$."${a}"')`).join(", ")})`;
  const found = postgres
    ? `(select string_agg(a.system || chr(31) || e.value, chr(30))
        from accounts a cross join lateral jsonb_array_elements_text(a.entitlements::jsonb) as e(value)
        where a.identity_id = i.id and a.enabled = 1 and a.vanished_at is null
        and a.system || chr(31) || e.value = any($1::text[]))`
    : `(select group_concat(a.system || char(31) || j.value, char(30))
        from accounts a, json_each(a.entitlements) j
        where a.identity_id = i.id and a.enabled = 1 and a.vanished_at is null
        and a.system || char(31) || j.value in (select value from json_each(?)))`;
  return {
    text: `select i.id, i.state, ${attributes} as attributes,
      case when i.previous_attributes is null then null else i.attributes_changed_at end as moved_at,
      ${found} as found from identities i`,
    values: [postgres ? [...reach.foundKeys] : JSON.stringify(reach.foundKeys)],
  };
}

/** One identity's rows in one statement, each table's as JSON (see `sodScanRepository.identityRows`). */
const JOINED_PG = `select
  (select json_agg(t) from (${IDENTITY} where id = any($1::text[])) t) as identities,
  (select json_agg(t) from (${ACCOUNTS} and identity_id = any($1::text[])) t) as accounts,
  (select json_agg(t) from (select * from assignments where identity_id = any($1::text[])) t) as assignments,
  (select json_agg(t) from (select * from sod_exceptions where identity_id = any($1::text[])
    and revoked_at is null and approved_at <= $2 and expires_at > $2) t) as exceptions,
  (select json_agg(t order by t.created_at, t.id) from (select x.*, c.definition as campaign_name
    from review_exclusions x left join review_campaigns c on c.id = x.campaign_id
    where x.identity_id = any($1::text[]) and x.lifted_at is null) t) as exclusions,
  (select json_agg(t order by t.opened_at, t.id) from (select * from sod_violations
    where identity_id = any($1::text[]) and closed_at is null) t) as open`;

function bareSqlite(file: string, config: TenureConfig): Bare {
  const db = new BetterSqlite3(file);
  const q = Object.fromEntries(
    Object.entries(SQL).map(([k, text]) => [k, db.prepare(text.replace(/\$\d/g, "?"))]),
  ) as Record<keyof typeof SQL, BetterSqlite3.Statement>;
  const population = populationSql(config, false);
  const populationQuery = db.prepare(population.text);
  const forCheck = (id: string) =>
    (q.accountsOf.all(id) as Row[]).map(parseAccount).length +
    q.assignmentsOf.all(id).length +
    q.exceptionsOf.all(nowIso, nowIso, id).length;
  const identityAndAccess = (id: string) =>
    (q.identity.all(id) as Row[]).map(parseIdentity).length + forCheck(id);
  const violations = db.transaction(
    (id: string) =>
      (q.violationsOf.all(id) as Row[]).map(parseViolation).length + q.openBySeverity.all().length,
  );
  // The candidates' rows, 500 ids a statement, as the product reads them.
  const inList = (text: string, n: number) =>
    text.replace("in ($1)", `in (${Array(n).fill("?").join(", ")})`);
  const ofMany = (ids: readonly string[]) => {
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      n += (db.prepare(inList(SQL.identity, part.length)).all(...part) as Row[]).map(parseIdentity).length;
      n += (db.prepare(inList(SQL.accountsOf, part.length)).all(...part) as Row[]).map(parseAccount).length;
      n += db.prepare(inList(SQL.assignmentsOf, part.length)).all(...part).length;
    }
    return n;
  };
  return {
    readAll: async (candidates) =>
      populationQuery.raw().all(...population.values).length +
      q.assignmentEnds.all().length +
      q.exceptions.all(nowIso, nowIso).length +
      ofMany(candidates),
    readOne: async (id) =>
      identityAndAccess(id) + (q.violationsOf.all(id) as Row[]).map(parseViolation).length,
    readOneJoined: async (id) =>
      identityAndAccess(id) + (q.violationsOf.all(id) as Row[]).map(parseViolation).length,
    scanOne: async (id) => identityAndAccess(id) + violations(id),
    readForCheck: async (id) => forCheck(id),
    close: async () => void db.close(),
  };
}

async function barePostgres(adminUrl: string, schema: string, config: TenureConfig): Promise<Bare> {
  // JIT off, as the product reads a scan's population (it compiles for longer than it saves there).
  const pool = new pg.Pool({
    connectionString: adminUrl,
    options: `-c search_path="${schema}" -c jit=off`,
    max: 3,
  });
  const rows = async (text: string, values: unknown[] = [], on: pg.Pool | pg.PoolClient = pool) =>
    (await on.query(text, values)).rows as Row[];
  const population = populationSql(config, true);
  const forCheck = async (id: string) => {
    const [accounts, assignments, exceptions] = await Promise.all([
      rows(SQL.accountsOf, [id]),
      rows(SQL.assignmentsOf, [id]),
      rows(SQL.exceptionsOf, [nowIso, nowIso, id]),
    ]);
    return accounts.map(parseAccount).length + assignments.length + exceptions.length;
  };
  const identityAndAccess = async (id: string) =>
    (await rows(SQL.identity, [id])).map(parseIdentity).length + (await forCheck(id));
  const inList = (text: string, from: number, n: number) =>
    text.replace("in ($1)", `in (${Array.from({ length: n }, (_, k) => `$${from + k}`).join(", ")})`);
  return {
    readAll: async (candidates) => {
      const [all, ends, exceptions] = await Promise.all([
        rows(population.text, population.values),
        rows(SQL.assignmentEnds),
        rows(SQL.exceptions, [nowIso, nowIso]),
      ]);
      let n = all.length + ends.length + exceptions.length;
      for (let i = 0; i < candidates.length; i += 500) {
        const part = candidates.slice(i, i + 500);
        n += (await rows(inList(SQL.identity, 1, part.length), part)).map(parseIdentity).length;
        const [accounts, assignments] = await Promise.all([
          rows(inList(SQL.accountsOf, 1, part.length), part),
          rows(inList(SQL.assignmentsOf, 1, part.length), part),
        ]);
        n += accounts.map(parseAccount).length + assignments.length;
      }
      return n;
    },
    readOne: async (id) =>
      (await identityAndAccess(id)) + (await rows(SQL.violationsOf, [id])).map(parseViolation).length,
    readOneJoined: async (id) => {
      const [r] = await rows(JOINED_PG, [[id], nowIso]);
      const list = (k: string) => (r![k] as Row[] | null) ?? [];
      return (
        list("identities").map(parseIdentity).length +
        list("accounts").map(parseAccount).length +
        list("assignments").length +
        list("exceptions").length +
        list("exclusions").length +
        list("open").map(parseViolation).length
      );
    },
    scanOne: async (id) => {
      const n = await identityAndAccess(id);
      const client = await pool.connect();
      try {
        await client.query("begin");
        const v = (await rows(SQL.violationsOf, [id], client)).map(parseViolation).length;
        const c = (await rows(SQL.openBySeverity, [], client)).length;
        await client.query("commit");
        return n + v + c;
      } finally {
        client.release();
      }
    },
    readForCheck: forCheck,
    close: () => pool.end(),
  };
}

// ---- timing --------------------------------------------------------------------------------------

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};
const r3 = (x: number) => Number(x.toFixed(3));
const r2 = (x: number) => Number(x.toFixed(2));

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; cpuMs: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, cpuMs: cpuSeconds(c0) * 1000, value };
}

/** p50 / p99 / max of per-call times in ms, for `ids` one after another. */
async function latencies(ids: readonly string[], fn: (id: string, k: number) => Promise<unknown> | unknown) {
  const times: number[] = [];
  let k = 0;
  for (const id of ids) {
    const t0 = performance.now();
    await fn(id, k++);
    times.push(performance.now() - t0);
  }
  const sorted = times.sort((a, b) => a - b);
  return { p50ms: r3(percentile(sorted, 50)), p99ms: r3(percentile(sorted, 99)), maxMs: r3(sorted.at(-1)!) };
}

async function load(store: Store, data: DataSet): Promise<number> {
  const t0 = performance.now();
  await store.db.transaction().execute(async (trx) => {
    await identityRepository.upsertMany(trx, data.identities);
    await accountRepository.upsertMany(trx, data.accounts, nowIso);
    for (const a of data.assignments) await assignmentRepository.insert(trx, a, a.validFrom);
  });
  return (performance.now() - t0) / 1000;
}

/**
 * The timed part, in a child process of its own (see main): its heap holds the identities and what the
 * scans allocate, not the bench's data set, as in `tenure serve` or `tenure sod scan`.
 */
async function measure(
  database: string,
  store: Store,
  bare: Bare,
  config: TenureConfig,
  withoutSod: TenureConfig,
  identities: readonly Identity[],
) {
  const rng = prng(7);
  const random = Array.from({ length: samples }, () => pick(rng, identities).id);
  const byId = new Map(identities.map((i) => [i.id, i]));
  const managers = new Map(identities.map((i) => [i.sourceKey, i]));
  const active = identities.filter((i) => i.state === "active");
  const randomActive = Array.from({ length: samples }, () => pick(rng, active));
  const progress = (what: string) =>
    console.error(`  ${database}: ${what} (heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MB)`);

  // a. read + evaluate for everyone, nothing written: cold (first in the process), then warm runs.
  progress("findViolations, full");
  const cold = await timed(() => findViolations(store, config, now));
  const warm: number[] = [];
  const warmCpu: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t = await timed(() => findViolations(store, config, now));
    warm.push(t.ms);
    warmCpu.push(t.cpuMs);
  }
  const found = cold.value.found;
  const violators = new Set([...found.current, ...found.upcoming].map((v) => v.identityId));
  const bySeverity = { high: 0, medium: 0, low: 0 };
  for (const v of found.current) bySeverity[v.severity]++;

  // Floor: the rows read bare. Beside it, the desired state of everyone alone (in memory).
  const readFloor: number[] = [];
  const candidates = cold.value.identities.map((i) => i.id);
  for (let k = 0; k < runs; k++) readFloor.push((await timed(() => bare.readAll(candidates))).ms);
  const calculator = calculatorFor(config.policy, config.lifecycle);
  const day = policyToday(config, now);
  const desired = await timed(() => {
    for (const identity of identities) {
      if (isGone(identity.state)) continue;
      calculator.computeWithRoles({ identity, assignments: [], usernames: {}, now, today: day });
    }
  });

  // b. the first full scan: writes every violation, its audit event and its owner's notification.
  progress("scanSod, full, first");
  const first = await timed(() => scanSod(store, config, { now, actor: "bench" }));
  const outbox = await store.db
    .selectFrom("notifications")
    .select(sql<number>`count(*)`.as("n"))
    .executeTakeFirstOrThrow();
  // c. full scans with nothing changed, an hour apart.
  progress("scanSod, full, nothing changed");
  const again: number[] = [];
  let againResult = first.value;
  for (let k = 1; k <= runs; k++) {
    const t = await timed(() =>
      scanSod(store, config, { now: new Date(now.getTime() + k * HOUR), actor: "bench" }),
    );
    again.push(t.ms);
    againResult = t.value;
  }

  // d. one changed identity: the incremental scan, its read + evaluate, the evaluation alone.
  progress("scanSod, one identity");
  const later = new Date(now.getTime() + (runs + 1) * HOUR);
  const incremental = await latencies(random, (id) =>
    scanSod(store, config, { now: later, actor: "bench", identityIds: [id] }),
  );
  const findOne = await latencies(random, (id) => findViolations(store, config, later, [id]));
  const accessOf = new Map<string, Awaited<ReturnType<typeof loadAccessData>>>();
  for (const id of random) accessOf.set(id, await loadAccessData(store.db, later, [id], config));
  const evaluateOne = await latencies(random, (id) =>
    evaluateIdentity(config, byId.get(id)!, accessOf.get(id)!, later),
  );
  const readOneFloor = await latencies(random, (id) => bare.readOne(id));
  const joinedFloor = await latencies(random, (id) => bare.readOneJoined(id));
  const scanOneFloor = await latencies(random, (id) => bare.scanOne(id));

  // e. the check of a request: the beneficiary read already (submitRequest has it), the role asked for.
  progress("checkRequestSod");
  // Each person asks for one of the requestable roles, in turn.
  const asked = (k: number) => [{ kind: "role" as const, role: REQUESTABLE[k % REQUESTABLE.length]! }];
  const outcomes = { refused: 0, needsOwner: 0, noted: 0, clear: 0 };
  const clear: { person: Identity; k: number }[] = [];
  const checkTimes = await latencies(
    randomActive.map((i) => i.id),
    async (_id, k) => {
      const beneficiary = randomActive[k]!;
      const r = await checkRequestSod(store.db, config, beneficiary, asked(k), 8 * HOUR, later);
      if (r.refused.length > 0) outcomes.refused++;
      else if (r.needsOwner.length > 0) outcomes.needsOwner++;
      else if (r.noted.length > 0) outcomes.noted++;
      else {
        outcomes.clear++;
        clear.push({ person: beneficiary, k });
      }
    },
  );
  const checkFloor = await latencies(
    randomActive.map((i) => i.id),
    (id) => bare.readForCheck(id),
  );

  // The whole submission, with and without `sod:`, alternating; people with no conflict and a manager
  // who can approve (so each is a pending request, as most are).
  progress("submitRequest");
  const submitters = [
    ...new Map(
      clear
        .filter(({ person: p }) => {
          const m = p.attributes.managerId === null ? undefined : managers.get(p.attributes.managerId);
          return m !== undefined && !isGone(m.state) && m.id !== p.id;
        })
        .map((c) => [c.person.id, c]),
    ).values(),
  ].slice(0, 2 * submits);
  const withTimes: number[] = [];
  const withoutTimes: number[] = [];
  for (let k = 0; k < submitters.length; k++) {
    const { person, k: kOf } = submitters[k]!;
    const withSod = k % 2 === 0;
    const t0 = performance.now();
    const out = await submitRequest(
      store,
      withSod ? config : withoutSod,
      {
        requesterId: person.id,
        items: asked(kOf),
        justification: "month-end close",
        durationMs: 8 * HOUR,
      },
      { now: later, actor: "bench" },
    );
    (withSod ? withTimes : withoutTimes).push(performance.now() - t0);
    if (out.request.state !== "pending") throw new Error(`submission ${k}: ${out.request.state}`);
  }
  const submitSummary = (times: number[]) => {
    const s = [...times].sort((a, b) => a - b);
    return { n: s.length, p50ms: r3(percentile(s, 50)), p99ms: r3(percentile(s, 99)) };
  };
  const submitWith = submitSummary(withTimes);
  const submitWithout = submitSummary(withoutTimes);

  return {
    database,
    active: active.length,
    violations: found.current.length,
    upcoming: found.upcoming.length,
    bySeverity,
    inViolation: violators.size,
    inViolationPercent: r2((100 * violators.size) / identities.length),
    findViolations: {
      coldSeconds: r3(cold.ms / 1000),
      coldCpuSeconds: r3(cold.cpuMs / 1000),
      seconds: r3(median(warm) / 1000),
      cpuSeconds: r3(median(warmCpu) / 1000),
      runs: warm.map((t) => r3(t / 1000)),
      floorReadSeconds: r3(median(readFloor) / 1000),
      desiredStateSeconds: r3(desired.ms / 1000),
    },
    firstScan: {
      seconds: r3(first.ms / 1000),
      cpuSeconds: r3(first.cpuMs / 1000),
      opened: first.value.opened.length,
      notificationsQueued: Number(outbox.n),
    },
    unchangedScan: {
      seconds: r3(median(again) / 1000),
      runs: again.map((t) => r3(t / 1000)),
      opened: againResult.opened.length,
      closed: againResult.closed.length,
    },
    oneIdentity: {
      samples,
      scanSod: incremental,
      findViolations: findOne,
      evaluateIdentity: evaluateOne,
      floorRead: readOneFloor,
      floorReadJoined: joinedFloor,
      floorScan: scanOneFloor,
      ratioToFloorReadP50: r2(incremental.p50ms / readOneFloor.p50ms),
      ratioToFloorReadJoinedP50: r2(incremental.p50ms / joinedFloor.p50ms),
      ratioToFloorReadJoinedP99: r2(incremental.p99ms / joinedFloor.p99ms),
      ratioToFloorScanP50: r2(incremental.p50ms / scanOneFloor.p50ms),
    },
    requestCheck: {
      samples,
      roles: REQUESTABLE,
      outcomes,
      checkRequestSod: checkTimes,
      floorRead: checkFloor,
      ratioP50: r2(checkTimes.p50ms / checkFloor.p50ms),
      submitWithSod: submitWith,
      submitWithoutSod: submitWithout,
      submitDifferenceP50ms: r3(submitWith.p50ms - submitWithout.p50ms),
    },
    loadAverage: os.loadavg().map((x) => r2(x)),
    rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

type Measured = Awaited<ReturnType<typeof measure>>;

/** The JSON line of one database, and the summary against the targets. */
function report(data: DataSet, loadSeconds: number, floor: { ms: number; broken: number }, m: Measured) {
  const rules = Object.values(data.config.policy.sod!.rules);
  const f = m.findViolations;
  const result = {
    name: "sod",
    database: m.database,
    identities: data.identities.length,
    active: m.active,
    accounts: data.accounts.length,
    assignments: data.assignments.length,
    rules: rules.length,
    ruleForms: {
      pair: rules.filter((r) => r.condition.kind === "pair").length,
      atMost: rules.filter((r) => r.condition.kind === "atMost").length,
      scoped: rules.filter((r) => r.scope !== null).length,
    },
    drift: data.drift,
    loadSeconds: r2(loadSeconds),
    violations: m.violations,
    upcoming: m.upcoming,
    bySeverity: m.bySeverity,
    inViolation: m.inViolation,
    inViolationPercent: m.inViolationPercent,
    bareViolations: floor.broken,
    findViolations: {
      ...f,
      floorEvaluateSeconds: r3(floor.ms / 1000),
      ratioToEvaluateFloor: Math.round((f.seconds * 1000) / floor.ms),
      ratioToReadPlusEvaluateFloor: r2(f.seconds / (f.floorReadSeconds + floor.ms / 1000)),
    },
    firstScan: m.firstScan,
    unchangedScan: m.unchangedScan,
    oneIdentity: m.oneIdentity,
    requestCheck: m.requestCheck,
    loadAverage: m.loadAverage,
    rssMB: m.rssMB,
  };
  console.log(JSON.stringify(result));
  const target = (limit: number, ...ms: number[]) =>
    ms.every((x) => x <= limit) ? "met" : ms.some((x) => x <= limit) ? "met at p50, not p99" : "MISSED";
  const one = m.oneIdentity;
  const check = m.requestCheck;
  console.error(
    [
      `sod on ${m.database}: ${data.identities.length.toLocaleString("en")} identities, ${rules.length} rules, ${m.violations} violations of ${m.inViolation} people (${m.inViolationPercent} %); the bare check finds ${floor.broken} with the ${m.upcoming} upcoming`,
      `  read + evaluate, everyone  ${f.seconds} s (cold ${f.coldSeconds} s); floors: rows read bare ${f.floorReadSeconds} s, rules checked bare ${Math.round(floor.ms)} ms; desired state alone ${f.desiredStateSeconds} s`,
      `  first full scan            ${m.firstScan.seconds} s, ${m.firstScan.opened} opened   [≤ 2 s: ${target(2, m.firstScan.seconds)}]`,
      `  full scan, no change       ${m.unchangedScan.seconds} s   [≤ 2 s: ${target(2, m.unchangedScan.seconds)}]`,
      `  scan of one identity       p50 ${one.scanSod.p50ms} ms, p99 ${one.scanSod.p99ms} ms; its read + evaluate ${one.findViolations.p50ms} ms, evaluateIdentity ${one.evaluateIdentity.p50ms} ms; floors ${one.floorRead.p50ms} / ${one.floorRead.p99ms} ms read, ${one.floorReadJoined.p50ms} / ${one.floorReadJoined.p99ms} ms read in one statement, ${one.floorScan.p50ms} ms read + transaction   [≤ 5 ms: ${target(5, one.scanSod.p50ms, one.scanSod.p99ms)}]`,
      `  request check              p50 ${check.checkRequestSod.p50ms} ms, p99 ${check.checkRequestSod.p99ms} ms; floor ${check.floorRead.p50ms} ms; submitRequest p50 ${check.submitWithSod.p50ms} ms with sod, ${check.submitWithoutSod.p50ms} ms without   [≤ 10 ms: ${target(10, check.checkRequestSod.p50ms, check.checkRequestSod.p99ms)}]`,
    ].join("\n"),
  );
}

/** The bare rule check of everyone's items, in memory: median of `runs` after one to warm the JIT. */
function evaluateFloor(data: DataSet): { ms: number; broken: number } {
  const check = makeBareCheck(bareRules(Object.values(data.config.policy.sod!.rules)));
  const times: number[] = [];
  let broken = 0;
  for (let k = 0; k <= runs; k++) {
    const t0 = performance.now();
    broken = 0;
    for (let i = 0; i < data.identities.length; i++) {
      broken += check(data.items[i]!, data.identities[i]!.attributes);
    }
    if (k > 0) times.push(performance.now() - t0);
  }
  return { ms: median(times), broken };
}

// ---- main: the data set built and stored here, each database measured by a child process ----------

const self = fileURLToPath(import.meta.url);

/** Runs the timed part in a child process, with the store at `url`, and returns what it measured. */
function measureInChild(database: string, url: string, dir: string): Measured {
  const child = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      self,
      ...["--measure", database, "--store", url, "--dir", dir],
      ...["--samples", String(samples), "--submits", String(submits), "--runs", String(runs)],
      ...(args.postgres === undefined ? [] : ["--postgres", args.postgres]),
    ],
    { stdio: ["ignore", "pipe", "inherit"], maxBuffer: 2 ** 26 },
  );
  if (child.status !== 0) throw new Error(`the ${database} measurement failed (exit ${child.status})`);
  return JSON.parse(child.stdout.toString().trim().split("\n").at(-1)!) as Measured;
}

if (args.measure !== undefined) {
  const config = await loadConfig(path.join(args.dir!, "tenure.yaml"));
  const withoutSod = await loadConfig(path.join(args.dir!, "nosod.yaml"));
  const store = await openStore(args.store!);
  const bare =
    args.measure === "sqlite"
      ? bareSqlite(args.store!.slice("sqlite:".length), config)
      : await barePostgres(args.postgres!, new URL(args.store!).searchParams.get("schema")!, config);
  try {
    const identities = await identityRepository.list(store.db);
    console.log(JSON.stringify(await measure(args.measure, store, bare, config, withoutSod, identities)));
  } finally {
    await bare.close();
    await store.close();
  }
} else {
  const dir = args.keep ?? (await mkdtemp(path.join(os.tmpdir(), "tenure-bench-sod-")));
  try {
    console.error(`building ${size.toLocaleString("en")} identities and ${ruleCount} rules…`);
    const data = await buildDataSet(dir);
    const floor = evaluateFloor(data);
    if (args.database !== "postgres") {
      const url = `sqlite:${path.join(dir, "bench.db")}`;
      const store = await openStore(url);
      const loadSeconds = await load(store, data);
      await store.close();
      report(data, loadSeconds, floor, measureInChild("sqlite", url, dir));
    }
    if (args.postgres !== undefined && args.database !== "sqlite") {
      await withPostgresSchema(args.postgres, "bench_sod", async (url) => {
        const store = await openStore(url);
        let loadSeconds: number;
        try {
          loadSeconds = await load(store, data);
          await sql`analyze`.execute(store.db);
          // The load wrote a few hundred MB: its checkpoint runs now rather than under the timed scans.
          await sql`checkpoint`.execute(store.db);
        } finally {
          await store.close();
        }
        report(data, loadSeconds, floor, measureInChild("postgres", url, dir));
      });
    }
  } finally {
    if (args.keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}
