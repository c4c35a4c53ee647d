/**
 * Issue 17: the preview of NHI disables (`plan --at`, `GET /api/plan`) takes an owner's HR leaving date as the
 * lifecycle does — from the start of that day in their source's time zone — not at midnight UTC.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StoreFactory, storeFactories, type TestStore } from "../../test/helpers/databases.js";
import type { Identity } from "../domain/identity-types.js";
import { validateConfigText } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { previewNhiDisables } from "./nhi-plan-preview.js";

const NOW = new Date("2026-03-10T00:00:00Z");
const YAML = `
sources:
  hr: { type: csv, path: ./hr.csv, timeZone: Pacific/Auckland }
nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
    - { name: nz-key, type: api_key, owner: E9 }
`;

// A contractor in Auckland (UTC+13 in March), nobody's report, whose contract ends on 14 March.
const ana: Identity = {
  id: "id-E9",
  kind: "human",
  source: "hr",
  sourceKey: "E9",
  state: "active",
  attributes: {
    employeeId: "E9",
    givenName: "Ana",
    familyName: "Ng",
    displayName: "Ana Ng",
    email: "ana@example.test",
    department: null,
    title: null,
    location: null,
    costCenter: null,
    managerId: null,
    employmentType: "contractor",
    status: "active",
    startDate: "2026-01-01",
    endDate: "2026-03-14",
    terminationDate: null,
  },
  employment: 1,
  stateSince: NOW.toISOString(),
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
  lastRecordId: null,
  previousAttributes: null,
  attributesChangedAt: null,
};

describe.each(await storeFactories())(
  "previewNhiDisables and time zones on %s",
  (_kind, makeStore: StoreFactory) => {
    let store: TestStore;
    let config: TenureConfig;
    beforeAll(async () => {
      const { config: c, errors } = await validateConfigText(YAML, {
        path: "/tmp/nhi-preview/tenure.yaml",
        env: {},
      });
      expect(errors).toEqual([]);
      config = c!;
      store = await makeStore();
      await identityRepository.upsertMany(store.db, [ana]);
      await syncNhiInventory(store, config, { now: NOW, actor: "test" });
    });
    afterAll(() => store.dispose());

    it("disables when the leaving day begins in the source's zone (13 March 11:00 UTC), not at midnight UTC", async () => {
      expect(await previewNhiDisables(store, config, NOW, new Date("2026-03-13T10:59:59Z"))).toEqual([]);
      const [one, ...rest] = await previewNhiDisables(store, config, NOW, new Date("2026-03-13T12:00:00Z"));
      expect(rest).toEqual([]);
      expect(one).toMatchObject({
        name: "nz-key",
        at: "2026-03-13T11:00:00.000Z",
        why: "the owner E9 left on 2026-03-14 and there is nobody to pass ownership to",
      });
    });
  },
);
