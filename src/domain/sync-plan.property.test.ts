import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Identity, WorkerAttributes, WorkerRecord } from "./identity-types.js";
import { isAllowedTransition, isGone, stateFromAttributes } from "./lifecycle.js";
import { addDays } from "./local-date.js";
import { planSync, type SyncPolicy } from "./sync-plan.js";

const BASE = "2026-01-01";
const KEYS = ["E1", "E2", "E3", "E4", "E5"];

const offset = fc.integer({ min: -40, max: 40 });
const optionalDate = fc.option(offset, { nil: null });

const personArb = fc.record({
  key: fc.constantFrom(...KEYS),
  status: fc.constantFrom("active", "leave", "terminated") as fc.Arbitrary<WorkerAttributes["status"]>,
  employmentType: fc.constantFrom("employee", "contractor", "intern") as fc.Arbitrary<
    WorkerAttributes["employmentType"]
  >,
  start: optionalDate,
  end: optionalDate,
  termination: optionalDate,
  department: fc.constantFrom("Eng", "Sales", "Ops"),
});

/** A feed: the people in one HR export (unique keys), valid by the data-quality rules. */
const feedArb = fc.uniqueArray(personArb, { selector: (p) => p.key, maxLength: KEYS.length }).map((people) =>
  people.map((p, row): WorkerRecord => {
    const startDate = p.start === null ? null : addDays(BASE, p.start);
    const clamp = (d: number | null) => (d === null ? null : addDays(BASE, Math.max(d, p.start ?? d)));
    const terminationDate =
      p.status === "terminated" ? (clamp(p.termination) ?? addDays(BASE, p.start ?? 0)) : null;
    const attributes: WorkerAttributes = {
      employeeId: p.key,
      givenName: `Given${p.key}`,
      familyName: `Family${p.key}`,
      displayName: `Given${p.key} Family${p.key}`,
      email: `${p.key.toLowerCase()}@example.test`,
      department: p.department,
      title: null,
      location: null,
      costCenter: null,
      managerId: null,
      employmentType: p.employmentType,
      status: p.status,
      startDate,
      endDate: clamp(p.end),
      terminationDate,
    };
    return { source: "hr", key: p.key, row: row + 1, raw: {}, attributes };
  }),
);

const runArb = fc.record({ feed: feedArb, day: fc.integer({ min: 0, max: 10 }) });
const policyArb = fc.record({
  deleteAfterDays: fc.constantFrom(0, 5, 20),
  missingMeans: fc.constantFrom("ignore", "terminate") as fc.Arbitrary<SyncPolicy["missingMeans"]>,
  correlationFallback: fc.constantFrom("none", "email") as fc.Arbitrary<SyncPolicy["correlationFallback"]>,
});

describe("planSync over random HR feeds", () => {
  it("keeps every lifecycle invariant", () => {
    fc.assert(
      fc.property(fc.array(runArb, { minLength: 1, maxLength: 8 }), policyArb, (runs, pol) => {
        const policy: SyncPolicy = { source: "hr", complete: true, ...pol };
        let ids = 0;
        let state = new Map<string, Identity>();
        let day = 0;
        for (const run of runs) {
          day += run.day; // the clock only moves forward
          const today = addDays(BASE, day);
          const ctx = { now: new Date(`${today}T12:00:00Z`), today, newId: () => `id-${++ids}` };
          const before = new Map(state);
          const plan = planSync([...state.values()], run.feed, policy, ctx);
          for (const c of plan.changes) state.set(c.identity.id, c.identity);

          const byKey = new Map([...state.values()].map((i) => [i.sourceKey, i]));
          for (const r of run.feed) {
            const identity = byKey.get(r.key);
            expect(identity).toBeDefined();
            const verdict = stateFromAttributes(r.attributes, today);
            // Dates are honoured, and nobody the record says has left is left active.
            const prev = before.get(identity!.id);
            if (identity?.state === "deleted") {
              // Deleted only by a retention that ended: counted from the HR date, or earlier by a
              // termination Tenure observed (missing from an export) before the record named a date.
              expect(verdict.state).toBe("terminated");
              if (prev?.state !== "deleted" && prev?.state !== "terminated") {
                expect(addDays(verdict.hrDate!, policy.deleteAfterDays!) <= today).toBe(true);
              }
            } else {
              expect(identity?.state).toBe(verdict.state);
            }
            // Retention never outlives the HR date plus deleteAfterDays, whenever Tenure saw the record.
            if (
              verdict.state === "terminated" &&
              addDays(verdict.hrDate!, policy.deleteAfterDays!) <= today
            ) {
              expect(identity?.state).toBe("deleted");
            }
            // An oracle written apart from the code under test: the dates themselves.
            const a = r.attributes;
            const left =
              (a.endDate !== null && a.endDate <= today) ||
              (a.status === "terminated" && a.terminationDate !== null && a.terminationDate <= today);
            if (left) expect(isGone(identity!.state)).toBe(true);
            else if (a.startDate !== null && a.startDate > today) expect(identity?.state).toBe("prehire");
            else expect(identity?.state).toBe(a.status === "leave" ? "suspended" : "active");
          }
          const inFeed = new Set(run.feed.map((r) => r.key));
          for (const i of state.values()) {
            if (!inFeed.has(i.sourceKey) && policy.missingMeans === "terminate")
              expect(isGone(i.state)).toBe(true);
          }
          // Every change has its event; nothing unchanged has one; transitions are allowed moves.
          for (const c of plan.changes) {
            const prev = before.get(c.identity.id);
            expect(c.events.length).toBeGreaterThan(0);
            if (prev === undefined) {
              expect(c.events[0]?.action).toBe("identity.created");
            } else {
              // Each move is an allowed one; a run may make two (terminated, then deleted by retention).
              let state = prev.state;
              for (const e of c.events) {
                if (e.action !== "identity.state_changed" && e.action !== "identity.rehired") continue;
                expect(e.details.from).toBe(state);
                expect(isAllowedTransition(state, e.details.to)).toBe(true);
                state = e.details.to;
              }
              expect(state).toBe(c.identity.state);
              const actions = c.events.map((e) => e.action);
              if (prev.state !== c.identity.state) {
                expect(actions.some((a) => a === "identity.state_changed" || a === "identity.rehired")).toBe(
                  true,
                );
              }
              if (JSON.stringify(prev.attributes) !== JSON.stringify(c.identity.attributes)) {
                expect(actions).toContain("identity.updated");
              }
              expect(c.identity.employment).toBe(
                prev.employment + (actions.includes("identity.rehired") ? 1 : 0),
              );
            }
          }
          // Replaying the same feed at the same moment changes nothing.
          const replay = planSync([...state.values()], run.feed, policy, ctx);
          expect(replay.changes).toEqual([]);
          state = new Map(state);
        }
      }),
      { numRuns: 400 },
    );
  });
});
