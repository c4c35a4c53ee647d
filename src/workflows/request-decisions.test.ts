/**
 * Access request decisions over a real store (SQLite and PostgreSQL): written with their audit event,
 * refusals change nothing, two approvers at the same moment give exactly one outcome, expiry, the
 * approvers' inbox.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { queryEvents } from "../audit/ledger.js";
import type { AccessRequest } from "../domain/request-types.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import { decideRequest, expireRequests } from "./request-decisions.js";

const T0 = Date.parse("2026-12-04T09:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
let n = 0;

function pending(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: `req-${++n}-${Math.random().toString(36).slice(2, 8)}`,
    requesterId: "ana",
    beneficiaryId: "ana",
    items: [{ kind: "entitlement", system: "db", entitlement: "admin" }],
    justification: "incident 42",
    ticket: null,
    durationMs: 3_600_000,
    state: "pending",
    steps: [{ name: "owner", approvers: ["bo", "cy"], required: 1 }],
    currentStep: 0,
    decisions: [],
    submittedAt: at(0).toISOString(),
    expiresAt: at(60).toISOString(),
    closedAt: null,
    version: 1,
    ...overrides,
  };
}

describe.each(await storeFactories())("access request decisions on %s", (_kind, makeStore) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await makeStore();
  });
  afterAll(() => store.dispose());

  async function submitted(r: AccessRequest): Promise<AccessRequest> {
    await store.db.transaction().execute((trx) => accessRequestRepository.insert(trx, r));
    return r;
  }
  const events = async (id: string) =>
    (await queryEvents(store.db, { subject: `request:${id}`, limit: 100 })).map((e) => e.action);

  it("approves, writes the request and its audit event, and empties the approvers' inbox", async () => {
    const r = await submitted(pending());
    expect(
      (await accessRequestRepository.pendingFor(store.db, "cy", { limit: 10 })).map((x) => x.id),
    ).toContain(r.id);
    const done = await decideRequest(
      store,
      r.id,
      { kind: "approve", by: "cy" },
      { now: at(5), actor: "test" },
    );
    expect(done.request.state).toBe("approved");
    expect(done.effects).toContainEqual(expect.objectContaining({ kind: "grant" }));
    expect(await accessRequestRepository.find(store.db, r.id)).toEqual(done.request);
    expect(await events(r.id)).toEqual(["request.approved"]);
    expect(
      (await accessRequestRepository.pendingFor(store.db, "cy", { limit: 10 })).map((x) => x.id),
    ).not.toContain(r.id);
  });

  it("refuses the beneficiary's own approval, through a delegation too, changing nothing in the store or the ledger", async () => {
    const r = await submitted(pending({ steps: [{ name: "owner", approvers: ["bo", "ana"], required: 1 }] }));
    for (const event of [
      { kind: "approve" as const, by: "ana" },
      { kind: "approve" as const, by: "cy", onBehalfOf: "ana" },
    ]) {
      await expect(decideRequest(store, r.id, event, { now: at(5), actor: "test" })).rejects.toMatchObject({
        code: "self_approval",
        httpStatus: 403,
      });
    }
    expect(await accessRequestRepository.find(store.db, r.id)).toEqual(r);
    expect(await events(r.id)).toEqual([]);
  });

  it("gives exactly one outcome when two approvers decide at the same moment", async () => {
    for (let round = 0; round < 5; round++) {
      const r = await submitted(pending());
      const results = await Promise.allSettled([
        decideRequest(store, r.id, { kind: "approve", by: "bo" }, { now: at(5), actor: "token:bo" }),
        decideRequest(store, r.id, { kind: "approve", by: "cy" }, { now: at(5), actor: "token:cy" }),
      ]);
      const fulfilled = results.filter((x) => x.status === "fulfilled");
      const rejected = results.filter((x) => x.status === "rejected");
      expect(fulfilled).toHaveLength(1);
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: "request_closed" });
      const stored = (await accessRequestRepository.find(store.db, r.id))!;
      expect(stored.state).toBe("approved");
      expect(stored.version).toBe(2);
      expect(stored.decisions).toHaveLength(1);
      expect(await events(r.id)).toEqual(["request.approved"]);
    }
  });

  it("expires pending requests whose time ran out, and refuses a decision after it", async () => {
    const r = await submitted(pending({ expiresAt: at(30).toISOString() }));
    await expect(
      decideRequest(store, r.id, { kind: "approve", by: "bo" }, { now: at(30), actor: "test" }),
    ).rejects.toMatchObject({ code: "request_expired", httpStatus: 409 });
    const expired = await expireRequests(store, at(31), "scheduler");
    expect(expired.map((x) => x.id)).toContain(r.id);
    expect((await accessRequestRepository.find(store.db, r.id))?.state).toBe("expired");
    expect(await events(r.id)).toEqual(["request.expired"]);
    expect((await expireRequests(store, at(32), "scheduler")).map((x) => x.id)).not.toContain(r.id);
  });
});
