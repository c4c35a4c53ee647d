/**
 * The inventory sync in bulk, over a real store (SQLite and PostgreSQL): a first sync larger than one
 * write transaction creates every NHI with its identity and its `nhi.created` event (the ledger intact), a
 * second writes nothing, and a change to one NHI writes only that one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import { validateConfigText } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { syncNhiInventory } from "./nhi-inventory.js";

const T0 = new Date("2026-06-01T09:00:00Z");
const actor = "test";
// More than one write transaction's worth (nhi-inventory-write.ts writes 2,000 at a time).
const COUNT = 4_500;

async function configOf(purposeOf: (i: number) => string): Promise<TenureConfig> {
  const inventory = Array.from(
    { length: COUNT },
    (_, i) => `    - { name: svc-${i}, type: api_key, purpose: "${purposeOf(i)}", scopes: [read] }`,
  ).join("\n");
  const { config, errors } = await validateConfigText(`nhi:\n  inventory:\n${inventory}\n`, {
    path: "/tmp/nhi-inventory-test/tenure.yaml",
    env: {},
  });
  expect(errors).toEqual([]);
  return config!;
}

describe.each(await storeFactories())("inventory sync in bulk on %s", (_kind, makeStore) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await makeStore();
  });
  afterAll(() => store?.dispose());

  it("creates every NHI with its identity and audit event, then writes only what changed", async () => {
    const config = await configOf((i) => `job ${i}`);
    const first = await syncNhiInventory(store, config, { now: T0, actor });
    expect(first.created).toHaveLength(COUNT);
    const nhis = await nhiRepository.list(store.db);
    expect(nhis).toHaveLength(COUNT);
    const identities = await identityRepository.findByIds(
      store.db,
      nhis.map((n) => n.id),
    );
    expect(identities.size).toBe(COUNT);
    expect(identities.get(nhis[0]!.id)).toMatchObject({ kind: "service", state: "active" });
    const created = await queryEvents(store.db, { action: "nhi.created", limit: COUNT + 1 });
    expect(new Set(created.map((e) => e.subject))).toEqual(new Set(nhis.map((n) => n.id)));
    expect((await verifyLedger(store.db)).ok).toBe(true);

    const again = await syncNhiInventory(store, config, { now: new Date(T0.getTime() + 1000), actor });
    expect(again).toMatchObject({ created: [], updated: [], removed: [], unchanged: COUNT });

    const one = await configOf((i) => (i === 7 ? "job seven" : `job ${i}`));
    const changed = await syncNhiInventory(store, one, { now: new Date(T0.getTime() + 2000), actor });
    expect(changed).toMatchObject({ created: [], updated: ["svc-7"], unchanged: COUNT - 1 });
    const [updated] = await queryEvents(store.db, { action: "nhi.updated" });
    expect(updated?.details).toMatchObject({
      name: "svc-7",
      changes: { purpose: { before: "job 7", after: "job seven" } },
    });
    expect((await nhiRepository.findByName(store.db, "svc-7"))?.version).toBe(2);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });
});
