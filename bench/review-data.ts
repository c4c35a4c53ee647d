/**
 * The organisation the review benches measure (bench/review.bench.ts, bench/review-load.bench.ts): N
 * identities of 10 departments × 10 titles under 1,000 managers, each with `per` distinct entitlements
 * (mostly their department's, one in ten from anywhere), half by request, one birthright role for
 * everyone, and accounts as reconcile stores them (last use reported by 3 of the 5 systems, 5 % never
 * used, 2 % with an entitlement added in the target). Deterministic: the same data every run.
 */
import { sql } from "kysely";
import type { Account } from "../src/domain/access-types.js";
import type { Identity, WorkerAttributes } from "../src/domain/identity-types.js";
import { accountRepository } from "../src/store/account-repository.js";
import { bulkInsert, usesDollar } from "../src/store/bulk-insert.js";
import type { Store } from "../src/store/database.js";
import { identityRepository } from "../src/store/identity-repository.js";
import { reviewDefinition } from "../test/helpers/review-definition.js";
import { prng } from "./bench-stats.js";

export const MANAGERS = 1000;
/** The benches' clock. */
export const now = new Date("2026-12-04T09:00:00Z");
const DAY = 86_400_000;

export const SYSTEMS = ["directory", "erp", "crm", "hris", "git"];
const PER_SYSTEM = 40;
const CATALOGUE = SYSTEMS.flatMap((s) =>
  Array.from({ length: PER_SYSTEM }, (_, i) => ({ system: s, key: `e${i}` })),
);
const DEPARTMENTS = [
  "Engineering",
  "Finance",
  "Sales",
  "Support",
  "Marketing",
  "People",
  "Legal",
  "IT",
  "Ops",
  "Data",
];
const TITLES = [
  "Analyst",
  "Engineer",
  "Manager",
  "Specialist",
  "Lead",
  "Associate",
  "Director",
  "Partner",
  "Clerk",
  "Officer",
];
/** Systems whose connector reports last use. */
const REPORTING = new Set(["directory", "erp", "git"]);

export function policyYaml(): string {
  const systems = SYSTEMS.map(
    (s) =>
      `  ${s}:\n    connector: manual\n    owner: m1@example.test\n    account: { username: "{employeeId}" }\n    config: { fulfiller: ${s}-ops@example.test }`,
  ).join("\n");
  const entitlements = SYSTEMS.map(
    (s) =>
      `  ${s}:\n${s === "directory" ? "    all-staff: {}\n" : ""}${Array.from({ length: PER_SYSTEM }, (_, i) => `    e${i}: {${i % 20 === 0 ? " privileged: true " : ""}}`).join("\n")}`,
  ).join("\n");
  return `database: sqlite:./tenure.db
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
systems:
${systems}
entitlements:
${entitlements}
roles:
  everyone:
    when: "employeeId != ''"
    grants: [{ system: directory, entitlements: [all-staff] }]
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;
}

export const DEFINITION = reviewDefinition({
  name: "everything",
  onNoResponse: { high: "escalate", medium: "keep", low: "keep" },
  location: { file: "bench", line: 0, column: 0 },
});

export interface DataSet {
  identities: Identity[];
  assignments: unknown[][];
  accounts: Account[];
  managerIds: string[];
}

export function dataSet(size: number, per: number): DataSet {
  const rng = prng(16);
  const identities: Identity[] = [];
  const assignments: unknown[][] = [];
  const accounts: Account[] = [];
  const created = "2020-01-01T00:00:00.000Z";
  for (let i = 0; i < size; i++) {
    const key = i < MANAGERS ? `m${i}` : `p${i}`;
    const d = i % DEPARTMENTS.length;
    const attributes: WorkerAttributes = {
      employeeId: key,
      givenName: key,
      familyName: "Bench",
      displayName: `${key} Bench`,
      email: `${key}@example.test`,
      department: DEPARTMENTS[d]!,
      title: TITLES[Math.floor(i / DEPARTMENTS.length) % TITLES.length]!,
      location: null,
      costCenter: null,
      managerId: i === 0 ? null : i < MANAGERS ? "m0" : `m${i % MANAGERS}`,
      employmentType: "employee",
      status: "active",
      startDate: "2020-01-01",
      endDate: null,
      terminationDate: null,
    };
    const id = `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`;
    identities.push({
      id,
      kind: "human",
      source: "hr",
      sourceKey: key,
      state: "active",
      attributes,
      employment: 1,
      stateSince: created,
      createdAt: created,
      updatedAt: created,
      lastRecordId: null,
      previousAttributes: null,
      attributesChangedAt: null,
    });
    // 10 distinct entitlements: mostly from the department's 20, one in ten from anywhere (rare).
    const chosen = new Set<number>();
    while (chosen.size < per) {
      const n =
        rng() < 0.1
          ? Math.floor(rng() * CATALOGUE.length)
          : (d * 20 + Math.floor(rng() * 20)) % CATALOGUE.length;
      chosen.add(n);
    }
    const bySystem = new Map<string, string[]>([["directory", ["all-staff"]]]);
    let a = 0;
    for (const n of chosen) {
      const e = CATALOGUE[n]!;
      assignments.push([
        `${id.slice(0, 24)}${String(a++).padStart(2, "0")}${String(i).padStart(10, "0")}`,
        id,
        null,
        e.system,
        e.key,
        1,
        "2026-01-01T00:00:00.000Z",
        null,
        "bench",
        "m0",
        created,
        null,
        rng() < 0.5 ? `req-${i}-${a}` : null,
        null,
      ]);
      const list = bySystem.get(e.system);
      if (list === undefined) bySystem.set(e.system, [e.key]);
      else list.push(e.key);
    }
    for (const [system, ents] of bySystem) {
      const managed = [...ents];
      if (rng() < 0.02) ents.push("added-by-hand");
      const r = rng();
      const lastUsedAt = !REPORTING.has(system)
        ? null
        : r < 0.05
          ? null
          : new Date(now.getTime() - Math.floor(rng() * 200) * DAY).toISOString();
      accounts.push({
        system,
        nativeId: null,
        username: key,
        identityId: id,
        enabled: true,
        attributes: {},
        entitlements: ents,
        managedEntitlements: managed,
        managed: true,
        lastSeenAt: created,
        lastUsedAt,
      });
    }
  }
  return { identities, assignments, accounts, managerIds: identities.slice(0, MANAGERS).map((i) => i.id) };
}

const ASSIGNMENT_COLUMNS = [
  "id",
  "identity_id",
  "role",
  "system",
  "entitlement",
  "employment",
  "valid_from",
  "valid_until",
  "reason",
  "approved_by",
  "created_at",
  "revoked_at",
  "request_id",
  "ended_at",
];

/**
 * Writes `data` into `store`; on PostgreSQL then analyses it. A store in use has its statistics
 * (autovacuum analyses a table after a bulk change), but this machine's PostgreSQL runs with autovacuum
 * off: without this every campaign the benches timed there ran on tables never analysed.
 */
export async function fill(store: Store, data: DataSet): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    await identityRepository.upsertMany(trx, data.identities);
    await bulkInsert(trx, { table: "assignments", columns: ASSIGNMENT_COLUMNS }, data.assignments);
    await accountRepository.upsertMany(trx, data.accounts, now.toISOString());
  });
  if (usesDollar(store.db)) await sql`analyze`.execute(store.db);
}
