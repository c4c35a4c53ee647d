import fc from "fast-check";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import type { Account } from "../domain/access-types.js";
import type { AttributeName, Identity } from "../domain/identity-types.js";
import { FOUND_SEPARATOR, FOUND_UNIT } from "../domain/sod-reach.js";
import { accountRepository } from "./account-repository.js";
import { identityRepository } from "./identity-repository.js";
import { sodScanRepository } from "./sod-scan-repository.js";

/**
 * A full scan's population read (store/sod-scan-repository.ts `population`) against what it means, on
 * random populations: per identity the attributes asked for in order (null where absent) and the
 * entitlements asked for that its enabled accounts hold. PostgreSQL reads the attributes from the
 * generated jsonb column (migration 2026-12-05T13-00), SQLite from the JSON text: both must say the same.
 */

const NOW = "2026-12-05T09:00:00.000Z";
const SYSTEMS = ["erp", "wiki", "crm"] as const;
// Keys JSON escapes, or that look alike once unescaped.
const ENTITLEMENTS = ["pay", "vendor", 'say "hi"', "back\\slash", "é-ü", "a b", "pay2"] as const;
const VALUES = [null, "AP", "Sales", 'quote "x"', "line\nbreak", "ünïcode", "", "12"] as const;
const READS: AttributeName[] = ["department", "title", "costCenter"];

function person(k: number, values: readonly (string | null)[], state: Identity["state"]): Identity {
  const key = `p${k}`;
  return {
    id: `id-${key}`,
    kind: "human",
    source: "hr",
    sourceKey: key,
    state,
    attributes: {
      employeeId: key,
      givenName: key,
      familyName: "Test",
      displayName: `${key} Test`,
      email: `${key}@example.test`,
      department: values[0] ?? null,
      title: values[1] ?? null,
      location: null,
      costCenter: values[2] ?? null,
      managerId: null,
      employmentType: "employee",
      status: "active",
      startDate: "2020-01-01",
      endDate: null,
      terminationDate: null,
    },
    employment: 1,
    stateSince: NOW,
    createdAt: NOW,
    updatedAt: NOW,
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

const populationArb = fc.array(
  fc.record({
    values: fc.array(fc.constantFrom(...VALUES), { minLength: 3, maxLength: 3 }),
    state: fc.constantFrom<Identity["state"]>("active", "terminated"),
    accounts: fc.uniqueArray(
      fc.record({
        system: fc.constantFrom(...SYSTEMS),
        enabled: fc.boolean(),
        entitlements: fc.uniqueArray(fc.constantFrom(...ENTITLEMENTS), { maxLength: 4 }),
      }),
      { selector: (a) => a.system, maxLength: 3 },
    ),
  }),
  { maxLength: 12 },
);
const foundKeysArb = fc.uniqueArray(
  fc
    .tuple(fc.constantFrom(...SYSTEMS), fc.constantFrom(...ENTITLEMENTS))
    .map(([s, e]) => `${s}${FOUND_UNIT}${e}`),
  { maxLength: 8 },
);

describe.each(await storeFactories())("the population read of a full scan on %s", (_name, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("gives each identity's attributes asked for and the entitlements asked for its enabled accounts hold", async () => {
    await fc.assert(
      fc.asyncProperty(populationArb, foundKeysArb, async (population, foundKeys) => {
        await sql`delete from accounts`.execute(store.db);
        await sql`delete from identities`.execute(store.db);
        const identities = population.map((p, k) => person(k, p.values, p.state));
        const accounts: Account[] = population.flatMap((p, k) =>
          p.accounts.map((a) => ({
            system: a.system,
            nativeId: null,
            username: identities[k]!.sourceKey,
            identityId: identities[k]!.id,
            enabled: a.enabled,
            attributes: {},
            entitlements: a.entitlements,
            managedEntitlements: a.entitlements,
            managed: true,
            lastSeenAt: NOW,
            lastUsedAt: null,
          })),
        );
        await identityRepository.upsertMany(store.db, identities);
        await accountRepository.upsertMany(store.db, accounts, NOW);
        const expected = identities.map((identity, k) => ({
          id: identity.id,
          state: identity.state,
          attributes: READS.map((a) => identity.attributes[a] ?? null),
          found: population[k]!.accounts.flatMap((a) =>
            a.enabled
              ? a.entitlements
                  .map((e) => `${a.system}${FOUND_UNIT}${e}`)
                  .filter((key) => foundKeys.includes(key))
              : [],
          ),
        }));
        const norm = (rows: Awaited<ReturnType<typeof sodScanRepository.population>>) =>
          rows
            .map((r) => ({
              id: r.id,
              state: r.state,
              attributes: JSON.parse(r.attributes) as unknown,
              found: r.found === null ? [] : r.found.split(FOUND_SEPARATOR).sort(),
            }))
            .sort((a, b) => a.id.localeCompare(b.id));
        const want = expected
          .map((e) => ({ ...e, found: [...e.found].sort() }))
          .sort((a, b) => a.id.localeCompare(b.id));
        // Outside a transaction (PostgreSQL reads in parts at once) and inside one (one statement).
        const outside = await sodScanRepository.population(store.db, { attributes: READS, foundKeys });
        expect(norm(outside)).toEqual(want);
        const inside = await store.db
          .transaction()
          .execute((trx) => sodScanRepository.population(trx, { attributes: READS, foundKeys }));
        expect(norm(inside)).toEqual(want);
        // Every attribute, as a JSON object, when some rule's reads are not known.
        const all = await sodScanRepository.population(store.db, { attributes: null, foundKeys });
        for (const row of all) {
          expect(JSON.parse(row.attributes)).toEqual(identities.find((i) => i.id === row.id)!.attributes);
        }
      }),
      { numRuns: 25 },
    );
  });
});
