import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { newId } from "../shared/ids.js";
import { scimResourceRepository as repo, type ScimResourceRecord } from "./scim-resource-repository.js";

function user(name: string, extra: Partial<ScimResourceRecord> = {}): ScimResourceRecord {
  return {
    id: newId(),
    type: "User",
    name,
    externalId: null,
    personKey: name.toLowerCase(),
    version: 1,
    body: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: name },
    created: "2026-03-01T09:00:00.000Z",
    lastModified: "2026-03-01T09:00:00.000Z",
    ...extra,
  };
}

describe.each(await storeFactories())("SCIM resource repository on %s", (_kind, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(() => store.dispose());

  it("finds by id, by name case-insensitively, by person key, and keeps names and keys unique", async () => {
    const ada = user("Ada", { externalId: "E1" });
    await repo.insert(store.db, ada);
    expect(await repo.findById(store.db, "User", ada.id)).toEqual(ada);
    expect(await repo.findById(store.db, "Group", ada.id)).toBeUndefined();
    expect((await repo.findByName(store.db, "User", "ADA"))?.id).toBe(ada.id);
    expect((await repo.findByPersonKey(store.db, "ada"))?.id).toBe(ada.id);
    await expect(repo.insert(store.db, user("aDa", { personKey: "other" }))).rejects.toThrow();
    await expect(repo.insert(store.db, user("Grace", { personKey: "ada" }))).rejects.toThrow();
    // A Group may share a User's name, and Groups have no person key.
    await repo.insert(store.db, { ...user("Ada"), type: "Group", personKey: null });
    await repo.insert(store.db, { ...user("Other"), type: "Group", personKey: null });
    expect(await repo.count(store.db, "Group")).toBe(2);
  });

  it("reads the userName and person-key holders of several Users at once, each its own", async () => {
    const ada = user("Ada");
    const grace = user("Grace", { personKey: "g-1" });
    await repo.insert(store.db, ada);
    await repo.insert(store.db, grace);
    await repo.insert(store.db, { ...user("Ada"), type: "Group", personKey: null });
    // 70 Users at once, each answered with its own holders.
    const asked = [
      { name: "ADA", personKey: "nobody" },
      { name: "Linus", personKey: "g-1" },
      { name: "grace", personKey: "ada" },
      ...Array.from({ length: 67 }, (_, i) => ({ name: `new-${i}`, personKey: `k-${i}` })),
    ];
    const found = await repo.findUsersHolders(store.db, asked);
    expect(found).toHaveLength(70);
    expect(found.slice(0, 3).map((h) => [h.byName?.id, h.byPersonKey?.id])).toEqual([
      [ada.id, undefined],
      [undefined, grace.id],
      [grace.id, ada.id],
    ]);
    expect(found.slice(3).every((h) => h.byName === undefined && h.byPersonKey === undefined)).toBe(true);
    expect(await repo.findUserHolders(store.db, "ada", "g-1")).toEqual({ byName: ada, byPersonKey: grace });
  });

  it("replaces only the version it read", async () => {
    const ada = user("Ada");
    await repo.insert(store.db, ada);
    const next = { ...ada, name: "Augusta", version: 2, body: { userName: "Augusta" } };
    expect(await repo.replace(store.db, next, 1)).toBe(true);
    expect(await repo.replace(store.db, { ...next, version: 3 }, 1)).toBe(false);
    expect(await repo.findById(store.db, "User", ada.id)).toMatchObject({ name: "Augusta", version: 2 });
    expect(await repo.remove(store.db, "User", ada.id)).toBe(true);
    expect(await repo.remove(store.db, "User", ada.id)).toBe(false);
  });

  it("pages in id, name or lastModified order, with the total, and looks up by indexed columns", async () => {
    const names = ["dora", "Bea", "cleo", "Ann", "eve"];
    for (const [i, name] of names.entries()) {
      await repo.insert(
        store.db,
        user(name, { externalId: `x${i}`, lastModified: `2026-03-0${5 - i}T00:00:00Z` }),
      );
    }
    const byId = await repo.list(store.db, "User", { offset: 1, limit: 2 });
    expect(byId.total).toBe(5);
    expect(byId.records.map((r) => r.name)).toEqual(["Bea", "cleo"]);
    const byName = await repo.list(store.db, "User", {
      orderBy: "name",
      descending: true,
      offset: 0,
      limit: 3,
    });
    expect(byName.records.map((r) => r.name)).toEqual(["eve", "dora", "cleo"]);
    const byModified = await repo.list(store.db, "User", { orderBy: "lastModified", offset: 0, limit: 2 });
    expect(byModified.records.map((r) => r.name)).toEqual(["eve", "Ann"]);
    expect(
      (await repo.list(store.db, "User", { where: { column: "name", value: "ANN" }, offset: 0, limit: 9 }))
        .records,
    ).toHaveLength(1);
    expect(
      (
        await repo.list(store.db, "User", {
          where: { column: "externalId", value: "x2" },
          offset: 0,
          limit: 9,
        })
      ).records[0]?.name,
    ).toBe("cleo");
    expect(await repo.list(store.db, "User", { offset: 9, limit: 2 })).toEqual({ total: 5, records: [] });
    expect((await repo.all(store.db, "User")).map((r) => r.name)).toEqual(names);
  });

  it("finds the Groups that mention a member, whatever characters its id has", async () => {
    const odd = "50%_off\\x";
    const g1 = {
      ...user("g1"),
      type: "Group" as const,
      personKey: null,
      body: { members: [{ value: odd }] },
    };
    const g2 = {
      ...user("g2"),
      type: "Group" as const,
      personKey: null,
      body: { members: [{ value: "50Xoff" }] },
    };
    await repo.insert(store.db, g1);
    await repo.insert(store.db, g2);
    expect((await repo.groupsMentioning(store.db, odd)).map((g) => g.name)).toEqual(["g1"]);
  });
});
