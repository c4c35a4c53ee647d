/**
 * The stored inventory digest and the risk report's narrow read, over real stores (SQLite and PostgreSQL).
 *
 * The sync compares stored digests and reads whole only the NHIs that may change; the report reads only the
 * columns its findings need. Both are checked against the full way, by a property over random sequences of
 * syncs (entries added, changed, dropped), people leaving, arriving and coming back, writes of other
 * workflows (a rotation's date, a disable) and time moving on: store A syncs as the product does; store B
 * gets the same steps but has every stored digest erased before each sync, so every declared NHI is read
 * whole and compared (the sync as it was). Their results and rows must agree at every step, and A's
 * `nhi-risks` report must equal the report made from `nhi list`'s views (every NHI and owner read whole).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { testPerson } from "../../test/helpers/test-person.js";
import { nhiInventoryDigest } from "../domain/nhi-digest.js";
import type { NonHumanIdentity } from "../domain/nhi-types.js";
import { validateConfigText } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Store } from "../store/store-types.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { listNhiViews } from "./nhi-view.js";
import { nhiRisksReport } from "./report-nhi-risks.js";

const T0 = new Date("2026-06-01T09:00:00Z");
const DAY = 86_400_000;
const actor = "test";
const NAMES = ["n-a", "n-b", "n-c", "n-d", "n-e"];
// P3 is not in the store at first: an NHI owned by P3 waits for them (owner_unknown) until they arrive.
const PEOPLE = ["P1", "P2", "P3"];

interface Entry {
  name: string;
  type: "api_key" | "oauth_app" | "agent";
  owner: string | null;
  created: string;
  lastRotated: string | null;
  expires: string | null;
  scopes: string[];
  entitlements: string[];
  purpose: string | null;
}

type Step =
  | { kind: "sync"; entries: Entry[] }
  /** The inventory as it is, synced again (what the hourly job does). */
  | { kind: "resync" }
  /** One entry added or changed, or dropped (`entry` null), then synced. */
  | { kind: "edit"; name: string; entry: Entry | null }
  | { kind: "person"; key: string; state: "active" | "terminated" }
  | { kind: "rotate"; name: string; on: string }
  | { kind: "disable"; name: string }
  | { kind: "time"; days: number };

const day = fc
  .integer({ min: 0, max: 400 })
  .map((d) => new Date(T0.getTime() - d * DAY).toISOString().slice(0, 10));
const entry = (name: string) =>
  fc.record({
    name: fc.constant(name),
    type: fc.constantFrom("api_key" as const, "oauth_app" as const, "agent" as const),
    owner: fc.constantFrom("P1", "P2", "P3", "GHOST", null),
    created: fc.constant("2025-01-01"),
    lastRotated: fc.option(day, { nil: null }),
    expires: fc.option(
      fc
        .integer({ min: -30, max: 120 })
        .map((d) => new Date(T0.getTime() + d * DAY).toISOString().slice(0, 10)),
      { nil: null },
    ),
    scopes: fc.subarray(["read", "admin"]),
    entitlements: fc.subarray(["app:read", "app:admin"]),
    purpose: fc.constantFrom("one", "two", null),
  });
const entries = fc
  .subarray(NAMES, { minLength: 0 })
  .chain((names) => fc.tuple(...names.map(entry)).map((list) => [...list]));
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: entries.map((e) => ({ kind: "sync" as const, entries: e })) },
  { weight: 3, arbitrary: fc.constant({ kind: "resync" as const }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...NAMES).chain((name) =>
      fc.record({
        kind: fc.constant("edit" as const),
        name: fc.constant(name),
        entry: fc.option(entry(name), { nil: null }),
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("person" as const),
      // P3 most: their arrival is what an unchanged inventory's NHIs wait for.
      key: fc.constantFrom("P3", "P3", ...PEOPLE),
      state: fc.constantFrom("active" as const, "terminated" as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("rotate" as const), name: fc.constantFrom(...NAMES), on: day }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("disable" as const), name: fc.constantFrom(...NAMES) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("time" as const), days: fc.integer({ min: 1, max: 200 }) }),
  },
);

async function configOf(list: readonly Entry[]): Promise<TenureConfig> {
  const lines = list.map((e) => {
    const fields = [
      `name: ${e.name}`,
      `type: ${e.type}`,
      `created: ${e.created}`,
      ...(e.owner === null ? [] : [`owner: ${e.owner}`]),
      ...(e.lastRotated === null ? [] : [`lastRotated: ${e.lastRotated}`]),
      ...(e.expires === null ? [] : [`expires: ${e.expires}`]),
      ...(e.purpose === null ? [] : [`purpose: ${e.purpose}`]),
      `scopes: [${e.scopes.join(", ")}]`,
      `entitlements: [${e.entitlements.join(", ")}]`,
    ];
    return `    - { ${fields.join(", ")} }`;
  });
  const { config, errors } = await validateConfigText(
    `systems:
  app:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: ops@example.test }
entitlements:
  app:
    read: { privileged: false }
    admin: { privileged: true }
nhi:
  policy:
    maxCredentialAge: { api_key: 90d, oauth_app: 365d, agent: 30d }
    expiryWarnings: [30d, 7d]
    allowedScopes: { oauth_app: [read] }
    onOwnerLeave: { otherwise: keep }
  inventory:${lines.length === 0 ? " []" : `\n${lines.join("\n")}`}
`,
    { path: "/tmp/nhi-digest-test/tenure.yaml", env: {} },
  );
  expect(errors).toEqual([]);
  return config!;
}

/** An NHI as compared across stores: without its id and bookkeeping, which differ by store. */
function comparable(n: NonHumanIdentity): Record<string, unknown> {
  const { id: _id, createdAt: _c, updatedAt: _u, version: _v, ...rest } = n;
  return rest;
}

/** The nhi-risks rows made from `nhi list`'s views, as the report made them before it read narrow rows. */
async function reportFromViews(store: Store, config: TenureConfig, now: Date): Promise<unknown[]> {
  const views = await listNhiViews(store, config, now);
  views.sort((a, b) => a.name.localeCompare(b.name));
  const rows: Record<
    string,
    { nhi: string; risk: string; owner: unknown; status: string; detail: string }[]
  > = { high: [], medium: [], low: [] };
  for (const v of views) {
    const owner = v.owner ?? v.ownerKey;
    for (const f of v.findings)
      rows[f.severity]!.push({ nhi: v.name, risk: f.code, owner, status: v.status, detail: f.message });
    for (const e of v.entitlements) {
      if (e === "app:admin")
        rows.medium!.push({
          nhi: v.name,
          risk: "privileged",
          owner,
          status: v.status,
          detail: `${v.name}: holds privileged ${e}: review whether a machine needs it`,
        });
    }
  }
  return [...rows.high!, ...rows.medium!, ...rows.low!];
}

describe.each(await storeFactories())(
  "stored inventory digest and narrow risk read on %s",
  (_kind, makeStore) => {
    let a: TestStore;
    let b: TestStore;
    beforeAll(async () => {
      a = await makeStore();
      b = await makeStore();
    });
    afterAll(async () => {
      await a?.dispose();
      await b?.dispose();
    });

    it("stores the digest of every NHI with each write, and writes a missing one without changing the NHI", async () => {
      const config = await configOf([
        {
          name: "solo",
          type: "api_key",
          owner: "GHOST",
          created: "2025-01-01",
          lastRotated: null,
          expires: null,
          scopes: [],
          entitlements: [],
          purpose: "one",
        },
      ]);
      await syncNhiInventory(a, config, { now: T0, actor });
      const stored = async () =>
        (await a.db.selectFrom("non_human_identities").select("inventory_digest").executeTakeFirstOrThrow())
          .inventory_digest;
      const nhi = (await nhiRepository.findByName(a.db, "solo"))!;
      expect(await stored()).toBe(nhiInventoryDigest(nhi));
      // Another workflow's write (a rotation's date): the digest follows the row.
      const rotated = { ...nhi, lastRotatedAt: "2026-05-01", version: nhi.version + 1 };
      expect(await nhiRepository.update(a.db, rotated)).toBe(true);
      expect(await stored()).toBe(nhiInventoryDigest(rotated));
      expect(await stored()).not.toBe(nhiInventoryDigest(nhi));
      // ...so the next sync sees the row differ from its declaration and writes the declaration back.
      const back = await syncNhiInventory(a, config, { now: T0, actor });
      expect(back).toMatchObject({ updated: ["solo"], unchanged: 0 });
      // A row written before digests were kept: compared whole, found unchanged, only its digest written.
      await a.db.updateTable("non_human_identities").set({ inventory_digest: null }).execute();
      const before = (await nhiRepository.findByName(a.db, "solo"))!;
      const again = await syncNhiInventory(a, config, { now: new Date(T0.getTime() + DAY), actor });
      expect(again).toMatchObject({ created: [], updated: [], removed: [], unchanged: 1 });
      expect(await nhiRepository.findByName(a.db, "solo")).toEqual(before);
      expect(await stored()).toBe(nhiInventoryDigest(before));
    });

    it("takes up an owner declared before they were known once they are, the inventory unchanged", async () => {
      await a.db.deleteFrom("non_human_identities").execute();
      const config = await configOf([
        {
          name: "waiting",
          type: "agent",
          owner: "LATE",
          created: "2025-01-01",
          lastRotated: null,
          expires: null,
          scopes: [],
          entitlements: [],
          purpose: null,
        },
      ]);
      await syncNhiInventory(a, config, { now: T0, actor });
      expect((await nhiRepository.findByName(a.db, "waiting"))?.ownerId).toBeNull();
      expect(await syncNhiInventory(a, config, { now: T0, actor })).toMatchObject({
        updated: [],
        unchanged: 1,
      });
      await a.db.transaction().execute((trx) => identityRepository.upsertMany(trx, [testPerson("LATE")]));
      expect(await syncNhiInventory(a, config, { now: T0, actor })).toMatchObject({ updated: ["waiting"] });
      expect((await nhiRepository.findByName(a.db, "waiting"))?.ownerId).toBe("id-LATE");
    });

    it("syncs and reports as reading every NHI whole would, over random steps", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
          for (const s of [a, b]) {
            await s.db.deleteFrom("non_human_identities").execute();
            await s.db.deleteFrom("identities").execute();
            await s.db
              .transaction()
              .execute((trx) => identityRepository.upsertMany(trx, [testPerson("P1"), testPerson("P2")]));
          }
          let now = T0;
          let current: Entry[] = [];
          let config = await configOf(current);
          for (const st of steps) {
            if (st.kind === "sync" || st.kind === "resync" || st.kind === "edit") {
              if (st.kind === "sync") current = st.entries;
              if (st.kind === "edit") {
                const rest = current.filter((e) => e.name !== st.name);
                current = st.entry === null ? rest : [...rest, st.entry];
              }
              config = await configOf(current);
              const got = await syncNhiInventory(a, config, { now, actor });
              await b.db.updateTable("non_human_identities").set({ inventory_digest: null }).execute();
              const want = await syncNhiInventory(b, config, { now, actor });
              // A stop's plan hash names the NHIs' ids, which differ by store: whether it stopped is compared.
              const { massChangeStopped: stoppedA, ...restA } = got;
              const { massChangeStopped: stoppedB, ...restB } = want;
              expect(restA).toEqual(restB);
              expect(stoppedA === undefined).toBe(stoppedB === undefined);
            } else if (st.kind === "person") {
              const person = testPerson(st.key, { state: st.state, at: now });
              for (const s of [a, b])
                await s.db.transaction().execute((trx) => identityRepository.upsertMany(trx, [person]));
            } else if (st.kind === "rotate" || st.kind === "disable") {
              for (const s of [a, b]) {
                const n = await nhiRepository.findByName(s.db, st.name);
                if (n === undefined) continue;
                const next =
                  st.kind === "rotate"
                    ? { ...n, lastRotatedAt: st.on }
                    : { ...n, disabledAt: now.toISOString(), disabledReason: "test" };
                expect(await nhiRepository.update(s.db, { ...next, version: n.version + 1 })).toBe(true);
              }
            } else {
              now = new Date(now.getTime() + st.days * DAY);
            }
            const [rowsA, rowsB] = await Promise.all([nhiRepository.list(a.db), nhiRepository.list(b.db)]);
            expect(rowsA.map(comparable)).toEqual(rowsB.map(comparable));
            const report = await nhiRisksReport(a, config, { now });
            expect(
              report.rows.map((r) => ({
                nhi: r.nhi,
                risk: r.risk,
                owner: r.owner,
                status: r.status,
                detail: r.detail,
              })),
            ).toEqual(await reportFromViews(a, config, now));
          }
        }),
        { numRuns: 60 },
      );
    }, 240_000);
  },
);
