import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import type { Identity, WorkerAttributes, WorkerRecord } from "./identity-types.js";
import {
  advanceByDate,
  applyRecord,
  deleteAfterRetention,
  isAllowedTransition,
  stateFromAttributes,
  takesAccessAway,
  terminateMissing,
} from "./lifecycle.js";

function record(over: Partial<WorkerAttributes> = {}): WorkerRecord {
  const a = workerAttributes(over);
  return { source: "hr", key: a.employeeId, row: 1, raw: {}, attributes: a };
}

let n = 0;
function ctx(today: string) {
  return { now: new Date(`${today}T09:00:00Z`), today, newId: () => `id-${++n}` };
}

describe("stateFromAttributes", () => {
  it("is prehire before the start date and active on it", () => {
    expect(stateFromAttributes(workerAttributes({ startDate: "2026-03-01" }), "2026-02-28").state).toBe(
      "prehire",
    );
    expect(stateFromAttributes(workerAttributes({ startDate: "2026-03-01" }), "2026-03-01").state).toBe(
      "active",
    );
  });
  it("terminates on the termination date, not the day before", () => {
    const a = workerAttributes({ status: "terminated", terminationDate: "2026-03-04" });
    expect(stateFromAttributes(a, "2026-03-03").state).toBe("active");
    expect(stateFromAttributes(a, "2026-03-04")).toEqual({
      state: "terminated",
      reason: "terminated on 2026-03-04",
      hrDate: "2026-03-04",
    });
  });
  it("terminates a contractor on the end date", () => {
    const a = workerAttributes({ employmentType: "contractor", endDate: "2026-06-30" });
    expect(stateFromAttributes(a, "2026-06-29").state).toBe("active");
    expect(stateFromAttributes(a, "2026-06-30").reason).toBe("contractor end date 2026-06-30 reached");
  });
  it("suspends people on leave", () => {
    expect(stateFromAttributes(workerAttributes({ status: "leave" }), "2026-03-01").state).toBe("suspended");
  });
});

describe("applyRecord", () => {
  it("creates a joiner with one created event", () => {
    const out = applyRecord(undefined, record({ startDate: "2026-04-01" }), ctx("2026-03-20"));
    expect(out.identity.state).toBe("prehire");
    expect(out.events.map((e) => e.action)).toEqual(["identity.created"]);
  });

  it("records attribute changes with before and after", () => {
    const joined = applyRecord(undefined, record(), ctx("2026-03-01")).identity;
    const moved = applyRecord(joined, record({ department: "Sales", title: "AE" }), ctx("2026-03-02"));
    expect(moved.events).toEqual([
      {
        action: "identity.updated",
        subject: joined.id,
        details: {
          changes: {
            department: { before: "Engineering", after: "Sales" },
            title: { before: "Engineer", after: "AE" },
          },
        },
      },
    ]);
    expect(moved.identity.state).toBe("active");
  });

  it("rehires a terminated person as the same identity with a new employment", () => {
    const c = ctx("2026-05-01");
    const joined = applyRecord(undefined, record(), c).identity;
    const left = applyRecord(
      joined,
      record({ status: "terminated", terminationDate: "2026-04-30" }),
      c,
    ).identity;
    expect(left.state).toBe("terminated");
    const back = applyRecord(left, record({ startDate: "2026-06-01" }), c);
    expect(back.identity.id).toBe(joined.id);
    expect(back.identity.state).toBe("prehire");
    expect(back.identity.employment).toBe(2);
    expect(back.events.map((e) => e.action)).toEqual(["identity.updated", "identity.rehired"]);
  });

  it("changes nothing when the same record arrives again", () => {
    const c = ctx("2026-03-01");
    const joined = applyRecord(undefined, record(), c).identity;
    const again = applyRecord(joined, record(), c);
    expect(again.changed).toBe(false);
    expect(again.identity).toBe(joined);
  });
});

describe("advanceByDate and terminateMissing", () => {
  const base: Identity = {
    ...applyRecord(undefined, record({ startDate: "2026-04-01" }), ctx("2026-03-01")).identity,
  };
  it("activates a prehire on the start date without a record", () => {
    expect(advanceByDate(base, ctx("2026-03-31")).changed).toBe(false);
    expect(advanceByDate(base, ctx("2026-04-01")).identity.state).toBe("active");
  });
  it("never rehires by the calendar", () => {
    const gone = { ...base, state: "terminated" as const };
    expect(advanceByDate(gone, ctx("2026-05-01")).changed).toBe(false);
  });
  it("terminates people missing from a full export", () => {
    const out = terminateMissing(base, "hr", ctx("2026-03-02"));
    expect(out.identity.state).toBe("terminated");
    expect(out.events[0]?.action).toBe("identity.state_changed");
    expect(terminateMissing(out.identity, "hr", ctx("2026-03-03")).changed).toBe(false);
  });
});

describe("deleteAfterRetention", () => {
  const terminated: Identity = {
    ...applyRecord(
      undefined,
      record({ status: "terminated", terminationDate: "2026-03-14" }),
      ctx("2026-03-01"),
    ).identity,
    state: "terminated",
    stateSince: "2026-03-14T09:00:00.000Z",
  };
  it("deletes a terminated identity on the day its retention ends, counted from the HR date", () => {
    expect(deleteAfterRetention(terminated, 30, ctx("2026-04-12")).changed).toBe(false);
    const out = deleteAfterRetention(terminated, 30, ctx("2026-04-13"));
    expect(out.identity).toMatchObject({ state: "deleted", stateSince: "2026-04-13T09:00:00.000Z" });
    expect(out.events).toEqual([
      {
        action: "identity.state_changed",
        subject: terminated.id,
        details: {
          from: "terminated",
          to: "deleted",
          reason: "terminated on 2026-03-14: retention of lifecycle.deleteAfterDays (30 days) ended",
          hrDate: "2026-03-14",
          observedDate: "2026-04-13",
        },
      },
    ]);
    expect(isAllowedTransition("terminated", out.identity.state)).toBe(true);
  });
  it("counts from the HR date, not from the day Tenure first saw the termination", () => {
    // HR terminated them on 2026-03-14; the record reached Tenure on 2026-04-01.
    const late = { ...terminated, stateSince: "2026-04-01T09:00:00.000Z" };
    expect(deleteAfterRetention(late, 30, ctx("2026-04-12")).changed).toBe(false);
    expect(deleteAfterRetention(late, 30, ctx("2026-04-13")).identity.state).toBe("deleted");
    // A contractor's end date is the HR date as well.
    const contractor = {
      ...late,
      attributes: workerAttributes({ employmentType: "contractor", endDate: "2026-03-14" }),
    };
    expect(deleteAfterRetention(contractor, 30, ctx("2026-04-13")).events[0]?.details).toMatchObject({
      hrDate: "2026-03-14",
      reason: "terminated on 2026-03-14: retention of lifecycle.deleteAfterDays (30 days) ended",
    });
  });
  it("counts from the instant of termination when the record names no leaving date", () => {
    const missing = terminateMissing(applyRecord(undefined, record(), ctx("2026-03-01")).identity, "hr", {
      ...ctx("2026-03-14"),
    }).identity;
    const justBefore = { now: new Date("2026-04-13T08:59:59.999Z"), today: "2026-04-13", newId: () => "x" };
    expect(deleteAfterRetention(missing, 30, justBefore).changed).toBe(false);
    expect(deleteAfterRetention(missing, 30, ctx("2026-04-13")).events[0]?.details).toMatchObject({
      hrDate: null,
      observedDate: "2026-04-13",
    });
  });
  it("never deletes anyone but a terminated identity, nor on an unreadable date", () => {
    for (const state of ["prehire", "active", "suspended", "deleted"] as const) {
      expect(deleteAfterRetention({ ...terminated, state }, 0, ctx("2027-01-01")).changed).toBe(false);
    }
    const unreadable = { ...terminated, attributes: workerAttributes(), stateSince: "soon" };
    expect(deleteAfterRetention(unreadable, 0, ctx("2027-01-01")).changed).toBe(false);
  });
});

describe("audit dates", () => {
  it("a leaver's events carry the HR date and the date Tenure observed it", () => {
    const joined = applyRecord(undefined, record(), ctx("2026-03-01")).identity;
    const left = applyRecord(
      joined,
      record({ status: "terminated", terminationDate: "2026-03-04" }),
      ctx("2026-03-09"),
    );
    expect(left.events.find((e) => e.action === "identity.state_changed")?.details).toMatchObject({
      to: "terminated",
      hrDate: "2026-03-04",
      observedDate: "2026-03-09",
    });
    const first = applyRecord(
      undefined,
      record({ status: "terminated", terminationDate: "2026-01-31" }),
      ctx("2026-03-09"),
    );
    expect(first.events[0]?.details).toMatchObject({
      state: "terminated",
      hrDate: "2026-01-31",
      observedDate: "2026-03-09",
    });
  });
  it("the earlier of termination and end date decides, for the state and for retention alike", () => {
    const a = workerAttributes({
      status: "terminated",
      terminationDate: "2026-03-20",
      endDate: "2026-03-10",
    });
    expect(stateFromAttributes(a, "2026-03-12")).toMatchObject({ state: "terminated", hrDate: "2026-03-10" });
  });
});

describe("transition table", () => {
  it("allows rehire only out of terminated or deleted, and deletion only after termination", () => {
    expect(isAllowedTransition("active", "deleted")).toBe(false);
    expect(isAllowedTransition("terminated", "deleted")).toBe(true);
    expect(isAllowedTransition("terminated", "active")).toBe(true);
    expect(isAllowedTransition("deleted", "terminated")).toBe(false);
  });
});

describe("takesAccessAway", () => {
  const on = (a: Partial<WorkerAttributes>) => takesAccessAway({ ...workerAttributes(), ...a }, "2026-03-02");
  it("is true for a leaver whose date has come, someone on leave, and a contract that ended", () => {
    expect(on({ status: "terminated", terminationDate: "2026-03-02" })).toBe(true);
    expect(on({ status: "leave" })).toBe(true);
    expect(on({ employmentType: "contractor", endDate: "2026-03-01" })).toBe(true);
  });
  it("is false for a joiner, a mover, a notice period and a contract still running", () => {
    expect(on({})).toBe(false);
    expect(on({ department: "Finance" })).toBe(false);
    expect(on({ status: "terminated", terminationDate: "2026-03-31" })).toBe(false);
    expect(on({ employmentType: "contractor", endDate: "2026-03-03" })).toBe(false);
    expect(takesAccessAway({ status: null, terminationDate: null, endDate: null }, "2026-03-02")).toBe(false);
  });
});
