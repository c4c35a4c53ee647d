import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import type { Identity, WorkerRecord } from "./identity-types.js";
import { planSync, type SyncPolicy } from "./sync-plan.js";

const leaverAttributes = workerAttributes({ status: "terminated", terminationDate: "2026-03-14" });
const leaver: Identity = {
  id: "id-1",
  kind: "human",
  source: "hr",
  sourceKey: "E1",
  state: "terminated",
  attributes: leaverAttributes,
  employment: 1,
  stateSince: "2026-03-14T09:00:00.000Z",
  createdAt: "2026-01-05T09:00:00.000Z",
  updatedAt: "2026-03-14T09:00:00.000Z",
  lastRecordId: null,
  previousAttributes: null,
  attributesChangedAt: null,
};
const listed: WorkerRecord = { source: "hr", key: "E1", row: 1, raw: {}, attributes: leaverAttributes };
const policy: SyncPolicy = {
  source: "hr",
  complete: true,
  missingMeans: "ignore",
  correlationFallback: "none",
  deleteAfterDays: 30,
};
const on = (day: string) => ({ now: new Date(`${day}T09:00:00Z`), today: day, newId: () => "new" });

describe("planSync with lifecycle.deleteAfterDays", () => {
  it("deletes a leaver by the calendar whether or not the export still lists them", () => {
    for (const records of [[listed], []]) {
      expect(planSync([leaver], records, policy, on("2026-04-12")).changes).toEqual([]);
      const [change, ...rest] = planSync([leaver], records, policy, on("2026-04-13")).changes;
      expect(rest).toEqual([]);
      // The calendar did it, not the row: no record is stored as its cause.
      expect(change).toMatchObject({ cause: "date", record: undefined, identity: { state: "deleted" } });
      expect(change?.events.map((e) => e.details)).toEqual([
        expect.objectContaining({ from: "terminated", to: "deleted" }),
      ]);
    }
  });

  it("deletes nobody without the setting, and the same record for a deleted identity changes nothing", () => {
    const { deleteAfterDays: _, ...without } = policy;
    expect(planSync([leaver], [listed], without, on("2027-01-01")).changes).toEqual([]);
    const deleted = { ...leaver, state: "deleted" as const, stateSince: "2026-04-13T09:00:00.000Z" };
    expect(planSync([deleted], [listed], policy, on("2027-01-01"))).toEqual({ changes: [], unchanged: 1 });
  });
});

describe("planSync with missingMeans terminate", () => {
  const active = (key: string, id: string): Identity => ({
    ...leaver,
    id,
    sourceKey: key,
    state: "active",
    attributes: workerAttributes({ employeeId: key }),
  });
  const terminating: SyncPolicy = { ...policy, missingMeans: "terminate" };

  it("terminates only identities whose key is absent from the export, not those whose row was refused", () => {
    const people = [active("E1", "id-1"), active("E2", "id-2"), active("E3", "id-3")];
    const e1: WorkerRecord = { source: "hr", key: "E1", row: 1, raw: {}, attributes: people[0]!.attributes };
    const plan = planSync(people, [e1], { ...terminating, presentKeys: ["E1", "E2"] }, on("2026-03-02"));
    expect(plan.changes.map((c) => [c.identity.sourceKey, c.identity.state, c.cause])).toEqual([
      ["E3", "terminated", "missing"],
    ]);
    expect(plan.unchanged).toBe(2);
  });

  it("matches a key stored before normalisation (NFD) to its NFC record: one person, the key rewritten and audited", () => {
    const nfd = active("E\u03011", "id-1");
    const record: WorkerRecord = {
      source: "hr",
      key: "\u00C91",
      row: 1,
      raw: {},
      attributes: workerAttributes({ employeeId: "E\u03011" }),
    };
    const plan = planSync([nfd], [record], terminating, on("2026-03-02"));
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({
      identity: { id: "id-1", sourceKey: "\u00C91", state: "active" },
    });
    expect(plan.changes[0]!.events).toEqual([
      {
        action: "identity.rekeyed",
        subject: "id-1",
        details: {
          before: "E\u03011",
          after: "\u00C91",
          reason: "same key after Unicode NFC normalisation and trimming",
        },
      },
    ]);
  });
});

describe("planSync with declared key changes (renamedKeys)", () => {
  const active: Identity = {
    ...leaver,
    state: "active",
    attributes: workerAttributes({ email: "a@x.test" }),
  };
  const renamed: WorkerRecord = {
    source: "hr",
    key: "E9",
    row: 1,
    raw: {},
    attributes: workerAttributes({ email: "b@x.test" }),
  };
  const renamedKeys = new Map([["E9", { previousKey: "E1", reason: "SCIM User u1 changed externalId" }]]);

  it("re-keys the identity the old key names, with one identity.rekeyed event, whatever the fallback", () => {
    const [change, ...rest] = planSync(
      [active],
      [renamed],
      { ...policy, renamedKeys },
      on("2026-03-01"),
    ).changes;
    expect(rest).toEqual([]);
    expect(change?.identity).toMatchObject({ id: "id-1", sourceKey: "E9", state: "active" });
    expect(change?.events.filter((e) => e.action === "identity.rekeyed").map((e) => e.details)).toEqual([
      { before: "E1", after: "E9", reason: "SCIM User u1 changed externalId" },
    ]);
  });

  it("does not re-key when the old key is in the feed too, or without the declaration", () => {
    const old: WorkerRecord = { ...renamed, key: "E1", row: 2, attributes: active.attributes };
    const both = planSync([active], [renamed, old], { ...policy, renamedKeys }, on("2026-03-01"));
    expect(both.changes.find((c) => c.identity.id === "id-1")?.identity.sourceKey ?? "E1").toBe("E1");
    const plain = planSync([active], [renamed], policy, on("2026-03-01")).changes;
    expect(plain.map((c) => [c.identity.id, c.identity.sourceKey])).toEqual([["new", "E9"]]);
  });
});

const dates = (d: object) => ({
  hrDate: (d as { hrDate?: unknown }).hrDate,
  observedDate: (d as { observedDate?: unknown }).observedDate,
});

describe("planSync: retention counts from the HR date", () => {
  const gone = (terminationDate: string): WorkerRecord => ({
    ...listed,
    attributes: workerAttributes({ status: "terminated", terminationDate }),
  });

  it("a first import of someone who left within the retention creates them terminated, with both dates", () => {
    const [change] = planSync([], [gone("2026-03-14")], policy, on("2026-04-01")).changes;
    expect(change?.identity.state).toBe("terminated");
    expect(change?.events).toEqual([
      expect.objectContaining({
        action: "identity.created",
        details: expect.objectContaining({
          state: "terminated",
          hrDate: "2026-03-14",
          observedDate: "2026-04-01",
        }),
      }),
    ]);
  });

  it("a first import, or a late record, of someone whose retention already ended deletes them in that run", () => {
    const first = planSync([], [gone("2026-01-31")], policy, on("2026-04-01")).changes[0]!;
    expect(first.identity.state).toBe("deleted");
    expect(first.events.map((e) => [e.action, dates(e.details)])).toEqual([
      ["identity.created", { hrDate: "2026-01-31", observedDate: "2026-04-01" }],
      ["identity.state_changed", { hrDate: "2026-01-31", observedDate: "2026-04-01" }],
    ]);
    const active = { ...leaver, state: "active" as const, attributes: workerAttributes() };
    const late = planSync([active], [gone("2026-01-31")], policy, on("2026-04-01")).changes[0]!;
    expect(late.identity.state).toBe("deleted");
    expect(late.events.map((e) => e.action)).toEqual([
      "identity.updated",
      "identity.state_changed",
      "identity.state_changed",
    ]);
    // The same record again changes nothing.
    expect(planSync([late.identity], [gone("2026-01-31")], policy, on("2026-04-02")).changes).toEqual([]);
  });
});
