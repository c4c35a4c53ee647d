import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { testReviewItem } from "../../test/helpers/review-item.js";
import { reviewItemRepository } from "./review-repository.js";

const AT = "2026-12-01T09:03:00.000Z";

/**
 * Two campaigns decided one access of one person at the same millisecond: the later campaign's decision
 * is the last one, whichever order the rows were written in and the database returns them in.
 */
describe.each(await storeFactories())("last decisions at the same instant on %s", (_name, makeStore) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await makeStore();
  });
  afterAll(async () => {
    await store.dispose();
  });

  /** Writes the item, then decides it as a reviewer would: rows land, and change, in call order. */
  async function decide(
    campaignId: string,
    identityId: string,
    state: "certified" | "revoked",
  ): Promise<void> {
    const id = `${campaignId}.${identityId}`;
    await reviewItemRepository.insertMany(store.db, [testReviewItem({ id, campaignId, identityId })]);
    expect(
      await reviewItemRepository.update(store.db, id, 0, { state, decidedBy: "m-1", decidedAt: AT }),
    ).toBe(true);
  }

  it("keeps the later campaign's decision, in either order of writing", async () => {
    // id-a: the earlier campaign written and decided first; id-b: the later campaign first.
    await decide("c-0001", "id-a", "revoked");
    await decide("c-0002", "id-a", "certified");
    await decide("c-0002", "id-b", "certified");
    await decide("c-0001", "id-b", "revoked");
    const last = await reviewItemRepository.lastDecisions(store.db, ["id-a", "id-b"]);
    expect(last.get("id-a|entitlement:app:readers")).toEqual({
      campaignId: "c-0002",
      state: "certified",
      at: AT,
    });
    expect(last.get("id-b|entitlement:app:readers")).toEqual({
      campaignId: "c-0002",
      state: "certified",
      at: AT,
    });
    expect(await reviewItemRepository.lastDecisions(store.db, undefined)).toEqual(last);
  });
});
