import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { approvalsIn, transitionRequest } from "./request-machine.js";
import type { AccessRequest, RequestEvent } from "./request-types.js";

const T0 = Date.parse("2026-12-04T09:00:00Z");
const PEOPLE = ["ana", "bo", "cy", "di", "ed", "fay"] as const;

function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: "req-1",
    requesterId: "ana",
    beneficiaryId: "ana",
    items: [{ kind: "role", role: "db-admin" }],
    justification: "incident 42",
    ticket: "INC-42",
    durationMs: 2 * 3_600_000,
    state: "pending",
    steps: [
      { name: "manager", approvers: ["bo"], required: 1 },
      { name: "owner of role db-admin", approvers: ["cy", "di", "ed"], required: 2 },
    ],
    currentStep: 0,
    decisions: [],
    submittedAt: new Date(T0).toISOString(),
    expiresAt: new Date(T0 + 24 * 3_600_000).toISOString(),
    closedAt: null,
    version: 1,
    ...overrides,
  };
}

const at = (minutes: number) => new Date(T0 + minutes * 60_000);

function apply(r: AccessRequest, events: Array<[RequestEvent, number]>) {
  let current = r;
  const outcomes = [];
  for (const [event, minute] of events) {
    const out = transitionRequest(current, event, at(minute));
    outcomes.push(out);
    if (!out.refused) current = out.request;
  }
  return { request: current, outcomes };
}

describe("the access request state machine", () => {
  it("passes the steps in order with distinct approvals, then approves and asks for the grant", () => {
    const { request: r, outcomes } = apply(request(), [
      [{ kind: "approve", by: "bo" }, 1],
      [{ kind: "approve", by: "cy" }, 2],
      [{ kind: "approve", by: "di" }, 3],
    ]);
    expect(outcomes.map((o) => (o.refused ? o.code : o.action))).toEqual([
      "request.step_passed",
      "request.approval_recorded",
      "request.approved",
    ]);
    expect(r.state).toBe("approved");
    const last = outcomes.at(-1)!;
    expect(last.refused ? [] : last.effects).toContainEqual({
      kind: "grant",
      items: [{ kind: "role", role: "db-admin" }],
      durationMs: 7_200_000,
    });
  });

  it("never lets the beneficiary or the requester decide, as themselves, as a delegate, or through one", () => {
    const forReport = request({ requesterId: "bo", beneficiaryId: "fay" });
    // The manager asked for a report and is also the step's only approver: the manager of oneself.
    const own = transitionRequest(forReport, { kind: "approve", by: "bo" }, at(1));
    expect(own).toMatchObject({ refused: true, code: "self_approval" });
    const viaDelegate = transitionRequest(forReport, { kind: "approve", by: "ed", onBehalfOf: "bo" }, at(1));
    expect(viaDelegate).toMatchObject({ refused: true, code: "self_approval" });
    const asDelegate = transitionRequest(
      request({ beneficiaryId: "cy", requesterId: "cy", currentStep: 1 }),
      { kind: "approve", by: "cy", onBehalfOf: "di" },
      at(1),
    );
    expect(asDelegate).toMatchObject({ refused: true, code: "self_approval" });
  });

  it("counts an approver once, however they act, and refuses a decider outside the step", () => {
    const step2 = request({ currentStep: 1 });
    const first = transitionRequest(step2, { kind: "approve", by: "cy" }, at(1));
    expect(first.refused).toBe(false);
    const again = transitionRequest(
      (first as { request: AccessRequest }).request,
      { kind: "approve", by: "fay", onBehalfOf: "cy" },
      at(2),
    );
    expect(again).toMatchObject({ refused: true, code: "already_decided" });
    expect(transitionRequest(step2, { kind: "approve", by: "fay" }, at(1))).toMatchObject({
      refused: true,
      code: "not_an_approver",
    });
  });

  it("refuses a decision after the request expired, and expires it only at its time", () => {
    const r = request({ expiresAt: at(60).toISOString() });
    expect(transitionRequest(r, { kind: "approve", by: "bo" }, at(60))).toMatchObject({
      refused: true,
      code: "request_expired",
    });
    expect(transitionRequest(r, { kind: "expire" }, at(59))).toMatchObject({ refused: true });
    expect(transitionRequest(r, { kind: "expire" }, at(60))).toMatchObject({
      refused: false,
      request: { state: "expired" },
    });
  });

  it("ends on one denial; lets only the requester, the beneficiary or an admin cancel", () => {
    expect(transitionRequest(request(), { kind: "deny", by: "bo" }, at(1))).toMatchObject({
      refused: false,
      request: { state: "denied" },
    });
    expect(transitionRequest(request(), { kind: "cancel", by: "bo" }, at(1))).toMatchObject({
      refused: true,
      code: "not_yours",
    });
    expect(transitionRequest(request(), { kind: "cancel", by: "bo", asAdmin: true }, at(1))).toMatchObject({
      refused: false,
      request: { state: "cancelled" },
    });
  });

  it("keeps its promises over any sequence of events (property)", () => {
    const person = fc.constantFrom(...PEOPLE);
    const event: fc.Arbitrary<RequestEvent> = fc.oneof(
      fc.record({ kind: fc.constant("approve" as const), by: person, onBehalfOf: fc.option(person) }),
      fc.record({ kind: fc.constant("deny" as const), by: person, onBehalfOf: fc.option(person) }),
      fc.record({ kind: fc.constant("cancel" as const), by: person, asAdmin: fc.boolean() }),
      fc.constant({ kind: "expire" as const }),
    );
    const steps = fc.array(
      fc.record({
        name: fc.constantFrom("manager", "owner", "security"),
        approvers: fc.uniqueArray(person, { minLength: 1, maxLength: 4 }),
        required: fc.integer({ min: 1, max: 2 }),
      }),
      { minLength: 1, maxLength: 3 },
    );
    fc.assert(
      fc.property(
        person,
        person,
        steps,
        fc.integer({ min: 5, max: 120 }),
        fc.array(fc.tuple(event, fc.integer({ min: 0, max: 10 })), { maxLength: 25 }),
        (requesterId, beneficiaryId, stepList, lifetime, events) => {
          const start = request({
            requesterId,
            beneficiaryId,
            steps: stepList,
            expiresAt: at(lifetime).toISOString(),
          });
          let minute = 0;
          let current = start;
          let grants = 0;
          for (const [e, gap] of events) {
            minute += gap;
            const out = transitionRequest(current, e, at(minute));
            if (out.refused) continue;
            // A closed request never changes again; every accepted change is one version more.
            expect(current.state).toBe("pending");
            expect(out.request.version).toBe(current.version + 1);
            grants += out.effects.filter((x) => x.kind === "grant").length;
            current = out.request;
          }
          for (const d of current.decisions) {
            // Nobody decides their own request, in any capacity, and nothing is decided once expired.
            expect([d.by, d.onBehalfOf]).not.toContain(requesterId);
            expect([d.by, d.onBehalfOf]).not.toContain(beneficiaryId);
            expect(Date.parse(d.at)).toBeLessThan(Date.parse(current.expiresAt));
            expect(current.steps[d.step]!.approvers).toContain(d.onBehalfOf ?? d.by);
          }
          expect(grants).toBe(current.state === "approved" ? 1 : 0);
          if (current.state === "approved") {
            current.steps.forEach((s, i) => {
              expect(approvalsIn(current, i).size).toBeGreaterThanOrEqual(s.required);
            });
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
