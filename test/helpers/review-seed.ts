import type { Account, Assignment } from "../../src/domain/access-types.js";
import type { Identity } from "../../src/domain/identity-types.js";
import { accountRepository } from "../../src/store/account-repository.js";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import type { Db } from "../../src/store/schema-types.js";
import { testPerson } from "./test-person.js";

/**
 * A small organisation for comparing two ways of starting one campaign (a writer thread, two threads):
 * 60 people in two departments, ten managers (p0 … p9, managed by p0, who manages themself: their items
 * go nowhere), each person with a birthright read, one assignment (some privileged, some requested) and
 * an account (some never used, some with an entitlement added in the target). 126 items.
 */
export const REVIEW_SEED_YAML = `
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
systems:
  erp: { connector: manual, account: { username: "{employeeId}" }, config: { fulfiller: ops@example.test } }
entitlements:
  erp:
    read: {}
    admin: { privileged: true }
    payments: {}
roles:
  staff:
    when: "employeeId != ''"
    grants: [{ system: erp, entitlements: [read] }]
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

/** Writes the 60 people, their assignments and accounts; `title` gives person n's title (a peer group is a department and a title). */
export async function seedReviewPeople(db: Db, now: Date, title: (n: number) => string): Promise<void> {
  const person = (n: number): Identity => {
    const p = testPerson(`p${n}`, {
      department: n % 2 === 0 ? "Finance" : "Sales",
      manager: n < 10 ? "p0" : `p${n % 10}`,
    });
    return { ...p, attributes: { ...p.attributes, title: title(n) } };
  };
  const people = Array.from({ length: 60 }, (_, n) => person(n));
  await identityRepository.upsertMany(db, people);
  for (const [n, p] of people.entries()) {
    const assignment: Assignment = {
      id: `as-${n}`,
      identityId: p.id,
      target: { system: "erp", entitlement: n % 7 === 0 ? "admin" : "payments" },
      employment: 1,
      validFrom: "2026-11-01T00:00:00.000Z",
      validUntil: null,
      reason: "test",
      approvedBy: "p0",
      revokedAt: null,
      requestId: n % 3 === 0 ? `req-${n}` : null,
    };
    await assignmentRepository.insert(db, assignment, now.toISOString());
  }
  const accounts: Account[] = people.map((p, n) => ({
    system: "erp",
    nativeId: null,
    username: p.sourceKey,
    identityId: p.id,
    enabled: true,
    attributes: {},
    entitlements: ["read", n % 7 === 0 ? "admin" : "payments", ...(n % 11 === 0 ? ["extra"] : [])],
    managedEntitlements: ["read", n % 7 === 0 ? "admin" : "payments"],
    managed: true,
    lastSeenAt: now.toISOString(),
    lastUsedAt: n % 5 === 0 ? null : "2026-07-01T00:00:00.000Z",
  }));
  await accountRepository.upsertMany(db, accounts, now.toISOString());
}
