import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../../test/helpers/databases.js";
import { createScimService, type ScimService } from "./scim-service.js";

// Groups only: a Group write never reaches the push source, so nothing here needs one.
const [[, makeStore]] = (await storeFactories()) as [[string, () => Promise<TestStore>]];

describe("the SCIM service's filter guard", () => {
  let store: TestStore;
  let service: ScimService;
  beforeAll(async () => {
    store = await makeStore();
    service = createScimService({
      store,
      now: () => new Date("2026-03-02T10:00:00Z"),
      ingest: () => Promise.reject(new Error("a Group write reached the push source")),
      settings: {
        key: "id",
        source: "hr",
        keyAttribute: "employeeId",
        timeZone: "UTC",
        maxFilterScan: 2,
        pushConcurrency: 8,
      },
    });
    for (const displayName of ["Sales", "Sales EMEA", "Support"]) {
      await service.create("Group", { displayName }, { actor: "test" });
    }
  });
  afterAll(() => store.dispose());

  it("answers 400 tooMany when a filter without an indexed term would read more than the limit", async () => {
    await expect(
      service.list("Group", { filter: 'displayName co "sales"', startIndex: 1, count: 10 }),
    ).rejects.toMatchObject({
      httpStatus: 400,
      scimType: "tooMany",
      message: expect.stringContaining("would read all 3 Groups (at most 2)"),
    });
    await expect(
      service.list("Group", { sortBy: "members.value", startIndex: 1, count: 10 }),
    ).rejects.toMatchObject({
      scimType: "tooMany",
    });
  });

  it("still answers indexed lookups and plain pages, however many there are", async () => {
    const found = await service.list("Group", {
      filter: 'displayName eq "SUPPORT"',
      startIndex: 1,
      count: 10,
    });
    expect(found.records.map((r) => r.displayName)).toEqual(["Support"]);
    const page = await service.list("Group", { startIndex: 2, count: 5 });
    expect(page.total).toBe(3);
    expect(page.records.map((r) => r.displayName)).toEqual(["Sales EMEA", "Support"]);
  });
});
