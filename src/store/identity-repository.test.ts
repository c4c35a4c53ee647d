import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import type { Identity, LifecycleState } from "../domain/identity-types.js";
import { type IdentityFilter, identityRepository } from "./identity-repository.js";

const AT = "2026-12-01T09:00:00.000Z";
const DEPARTMENTS = ["Sales", "R&D", "100%_Ops", null] as const;
const STATES: readonly LifecycleState[] = ["active", "prehire", "terminated"];

function identity(n: number, name: string, department: string | null, state: LifecycleState): Identity {
  const key = `E${String(n).padStart(4, "0")}`;
  return {
    id: `id-${String((n * 7919) % 10007).padStart(5, "0")}`,
    kind: "human",
    source: n % 3 === 0 ? "contractors" : "hr",
    sourceKey: key,
    state,
    attributes: workerAttributes({
      employeeId: key,
      displayName: name,
      email: `${key.toLowerCase()}@example.test`,
      department,
    }),
    employment: 1,
    stateSince: AT,
    createdAt: AT,
    updatedAt: AT,
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

/** What the listing must return, computed the obvious way in memory. */
function expected(all: readonly Identity[], filter: Omit<IdentityFilter, "after" | "limit">): string[] {
  const s = filter.search?.toLowerCase();
  return all
    .filter((i) => filter.source === undefined || i.source === filter.source)
    .filter((i) => filter.state === undefined || i.state === filter.state)
    .filter((i) => filter.department === undefined || i.attributes.department === filter.department)
    .filter(
      (i) =>
        s === undefined ||
        [i.sourceKey, i.attributes.email, i.attributes.displayName, i.id].some((v) =>
          v?.toLowerCase().includes(s),
        ),
    )
    .map((i) => i.id)
    .sort();
}

const NAMES = ["Anna Müller", "王芳", "Zoë 100% O'Brien", "li_wei", "ÅSA NORD", "Bob"];

describe.each(await storeFactories())("identities listing on %s", (_name, makeStore) => {
  let store: TestStore;
  const all = Array.from({ length: 120 }, (_, n) =>
    identity(
      n,
      `${NAMES[n % NAMES.length]} ${n}`,
      DEPARTMENTS[n % DEPARTMENTS.length]!,
      STATES[n % STATES.length]!,
    ),
  );
  beforeAll(async () => {
    store = await makeStore();
    await identityRepository.upsertMany(store.db, all);
  });
  afterAll(async () => {
    await store.dispose();
  });

  it("pages through every match exactly once, in id order, with any filter and page size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            source: fc.constantFrom("hr", "contractors"),
            state: fc.constantFrom(...STATES),
            department: fc.constantFrom("Sales", "R&D", "100%_Ops"),
            search: fc.constantFrom(
              "müller",
              "王",
              "100%",
              "_",
              "ÅSA",
              "e00",
              "%",
              "nobody",
              "li_w",
              "\\",
              "o'brien",
              'o"b',
              "zoë 100",
              "@example.test",
              "anna müller 1",
            ),
          },
          { requiredKeys: [] },
        ),
        fc.integer({ min: 1, max: 50 }),
        async (filter, pageSize) => {
          const seen: string[] = [];
          let after: string | undefined;
          for (;;) {
            const page = await identityRepository.list(store.db, { ...filter, after, limit: pageSize });
            seen.push(...page.map((i) => i.id));
            if (page.length < pageSize) break;
            after = page.at(-1)!.id;
          }
          expect(seen).toEqual(expected(all, filter));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("gives the first ids as the first page, each identity as it was written", async () => {
    const page = await identityRepository.list(store.db, { limit: 5 });
    expect(page.map((i) => i.id)).toEqual(
      all
        .map((i) => i.id)
        .sort()
        .slice(0, 5),
    );
    expect(page[0]).toEqual(all.find((i) => i.id === page[0]!.id));
  });

  it("finds an identity by what it is now, not by what it was, after an update and after a delete", async () => {
    const before = all[7]!;
    const renamed = {
      ...before,
      attributes: { ...before.attributes, email: "renamed.person@elsewhere.test" },
    };
    await identityRepository.upsertMany(store.db, [renamed]);
    try {
      expect(
        (await identityRepository.list(store.db, { search: "renamed.person" })).map((i) => i.id),
      ).toEqual([before.id]);
      expect(await identityRepository.list(store.db, { search: before.attributes.email! })).toEqual([]);
    } finally {
      await identityRepository.upsertMany(store.db, [before]);
    }
    expect(
      (await identityRepository.list(store.db, { search: before.attributes.email! })).map((i) => i.id),
    ).toEqual([before.id]);
  });
});

describe.each(await storeFactories())("resolving many references at once on %s", (_name, makeStore) => {
  let store: TestStore;
  const people = Array.from({ length: 12 }, (_, n) => identity(n, `Person ${n}`, "Sales", "active"));
  // E0001 is also the key of an identity of another source: a key naming two identities resolves to none.
  const twin: Identity = {
    ...identity(1, "Twin", null, "active"),
    id: "id-twin",
    source: "nhi",
    attributes: workerAttributes({ employeeId: "E0001", displayName: "Twin", email: "twin@example.test" }),
  };
  beforeAll(async () => {
    store = await makeStore();
    await identityRepository.upsertMany(store.db, [...people, twin]);
  });
  afterAll(async () => {
    await store.dispose();
  });

  it("answers each reference as resolve does: by id, else a unique key, else a unique email", async () => {
    const refs = [
      people[3]!.id,
      "E0004",
      "E0005@EXAMPLE.TEST",
      "e0006@example.test",
      "E0001",
      "nobody",
      "E0004",
      "twin@example.test",
    ];
    const many = await identityRepository.resolveMany(store.db, refs);
    for (const ref of refs) {
      expect(many.get(ref)?.id, ref).toBe((await identityRepository.resolve(store.db, ref))?.id);
    }
    expect([...many.keys()].sort()).toEqual(
      [people[3]!.id, "E0004", "E0005@EXAMPLE.TEST", "e0006@example.test", "twin@example.test"].sort(),
    );
  });
});
