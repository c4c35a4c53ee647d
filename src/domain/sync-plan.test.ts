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
