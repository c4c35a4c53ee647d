/**
 * The synthetic identities the listing and API benches store: `total` people over 8 departments, one in
 * ten terminated, with ids that do not sort in creation order (as random UUIDs would not).
 */
import type { Identity } from "../src/domain/identity-types.js";
import { workerAttributes } from "../test/fakes/worker-attributes.js";

const DEPARTMENTS = ["Finance", "Engineering", "Sales", "People", "Legal", "Support", "Marketing", "IT"];
const NAMES = ["Smith", "Müller", "Nakamura", "Okafor", "García", "Kowalski", "Andersson", "Chen"];
const AT = "2026-12-01T09:00:00.000Z";

/** The source key of the `n`-th bench identity. */
export function benchIdentityKey(n: number): string {
  return `E${String(n).padStart(6, "0")}`;
}

/** The id of the `n`-th bench identity, so a load generator can address it without reading the store. */
export function benchIdentityId(n: number): string {
  return `0${((n * 2654435761) % 2 ** 32).toString(16).padStart(8, "0")}-${benchIdentityKey(n)}`;
}

export function benchIdentities(total: number): Identity[] {
  return Array.from({ length: total }, (_, n) => {
    const key = benchIdentityKey(n);
    const family = NAMES[n % NAMES.length]!;
    return {
      id: benchIdentityId(n),
      kind: "human",
      source: "hr",
      sourceKey: key,
      state: n % 10 === 0 ? "terminated" : "active",
      attributes: workerAttributes({
        employeeId: key,
        givenName: `Person${n}`,
        familyName: family,
        displayName: `Person${n} ${family}`,
        email: `person${n}@example.test`,
        department: DEPARTMENTS[n % DEPARTMENTS.length]!,
      }),
      employment: 1,
      stateSince: AT,
      createdAt: AT,
      updatedAt: AT,
      lastRecordId: null,
      previousAttributes: null,
      attributesChangedAt: null,
    };
  });
}
