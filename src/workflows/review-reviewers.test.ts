import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import type { Identity } from "../domain/identity-types.js";
import { EMPTY_POLICY } from "../policy/config-schema.js";
import { chooseReviewer, type PeopleCache } from "./review-reviewers.js";

const AT = "2026-12-01T00:00:00.000Z";
function identity(
  id: string,
  kind: Identity["kind"],
  source: string,
  key: string,
  managerId: string | null,
): Identity {
  return {
    id,
    kind,
    source,
    sourceKey: key,
    state: "active",
    attributes: workerAttributes({ employeeId: key, displayName: key, managerId }),
    employment: 1,
    stateSince: AT,
    createdAt: AT,
    updatedAt: AT,
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

const ada = identity("id-ada", "human", "hr", "E1", null);
const grace = identity("id-grace", "human", "hr", "E2", "E1");
// An NHI: its source is `nhi`, its owner the HR key of a person of another source.
const exportKey = identity("id-nhi", "service", "nhi", "billing-export", "E2");
const byKey = new Map([ada, grace].map((i) => [i.sourceKey, i]));
/** People as the store resolves them: by HR key across sources; managers only within the holder's source. */
const people: PeopleCache = {
  resolve: async (ref) => byKey.get(ref),
  managerOf: async (person) => {
    const key = person.attributes.managerId;
    const found = key === null ? undefined : byKey.get(key);
    return found?.source === person.source ? found : undefined;
  },
};

describe("who reviews an access", () => {
  it("gives a non-human identity's access to its owner, a person of another source", async () => {
    const access = { kind: "entitlement", system: "erp", entitlement: "exports" } as const;
    for (const kind of ["nhi-owner", "manager"] as const) {
      expect(await chooseReviewer({ kind }, exportKey, access, EMPTY_POLICY, people)).toMatchObject({
        reviewerId: grace.id,
        rerouteReason: null,
      });
    }
    // A person's manager is still looked up in their own source.
    expect((await chooseReviewer({ kind: "manager" }, grace, access, EMPTY_POLICY, people)).reviewerId).toBe(
      ada.id,
    );
  });
});
