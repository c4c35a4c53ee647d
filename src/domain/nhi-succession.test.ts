import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SuccessionFacts, type SuccessionState, successionStep } from "./nhi-succession.js";
import type { OwnerLeavePolicy } from "./nhi-types.js";

const DAY = 86_400_000;
const NOW = new Date("2026-06-01T00:00:00Z");
const policy: OwnerLeavePolicy = {
  passTo: "manager",
  fallback: null,
  confirmWithinMs: 7 * DAY,
  onMove: false,
  otherwise: "disable",
};
const owned: SuccessionState = {
  ownerId: "o",
  ownerSince: "2026-01-01T00:00:00Z",
  pendingOwnerId: null,
  pendingSince: null,
  pendingDeadline: null,
  ownerlessReason: null,
  disabledReason: null,
  disabledAt: null,
};
const facts = (f: Partial<SuccessionFacts>): SuccessionFacts => ({
  owner: "present",
  pending: null,
  successorId: null,
  ...f,
});

describe("owner succession", () => {
  it("passes to the successor with a deadline when the owner leaves", () => {
    const out = successionStep(
      owned,
      { kind: "tick", facts: facts({ owner: "gone", successorId: "m" }) },
      NOW,
      policy,
    );
    expect(out).toEqual({
      ok: true,
      state: {
        ...owned,
        pendingOwnerId: "m",
        pendingSince: NOW.toISOString(),
        pendingDeadline: "2026-06-08T00:00:00.000Z",
      },
      effects: [
        {
          kind: "owner_pending",
          to: "m",
          from: "o",
          reason: "owner-left",
          deadline: "2026-06-08T00:00:00.000Z",
        },
      ],
    });
  });

  it("moves on a move only when policy says so", () => {
    const moved = { kind: "tick", facts: facts({ owner: "moved", successorId: "m" }) } as const;
    expect(successionStep(owned, moved, NOW, policy)).toMatchObject({ ok: true, effects: [] });
    expect(successionStep(owned, moved, NOW, { ...policy, onMove: true })).toMatchObject({
      effects: [{ kind: "owner_pending", reason: "owner-moved" }],
    });
  });

  it("disables, or keeps ownerless, when nobody can take it", () => {
    const tick = { kind: "tick", facts: facts({ owner: "gone" }) } as const;
    expect(successionStep(owned, tick, NOW, policy)).toMatchObject({
      state: { disabledAt: NOW.toISOString() },
      effects: [{ kind: "disabled", previous: "o" }],
    });
    expect(successionStep(owned, tick, NOW, { ...policy, otherwise: "keep" })).toMatchObject({
      state: { ownerId: null, disabledAt: null },
      effects: [{ kind: "ownerless" }],
    });
  });

  it("confirms only for the pending owner", () => {
    const pending = { ...owned, pendingOwnerId: "m", pendingDeadline: "2026-06-08T00:00:00.000Z" };
    expect(successionStep(pending, { kind: "confirm", actorId: "x" }, NOW, policy)).toEqual({
      ok: false,
      refusal: "only the pending owner may confirm ownership",
    });
    expect(successionStep(owned, { kind: "confirm", actorId: "o" }, NOW, policy)).toMatchObject({
      ok: false,
    });
    expect(successionStep(pending, { kind: "confirm", actorId: "m" }, NOW, policy)).toMatchObject({
      ok: true,
      state: { ownerId: "m", pendingOwnerId: null },
      effects: [{ kind: "owner_confirmed", owner: "m", previous: "o" }],
    });
  });

  it("property: a disabled NHI never changes on a tick, and a pending one falls to policy exactly at its deadline", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("present", "gone", "moved", "none"),
        fc.constantFrom("present", "gone", null),
        fc.option(fc.constantFrom("m", "o", "x"), { nil: null }),
        fc.integer({ min: -10, max: 10 }),
        (owner, pendingFact, successorId, offsetDays) => {
          const f = facts({ owner, pending: pendingFact, successorId });
          const disabled = { ...owned, disabledAt: "2026-05-01T00:00:00Z", disabledReason: "r" };
          const still = successionStep(disabled, { kind: "tick", facts: f }, NOW, policy);
          expect(still).toEqual({ ok: true, state: disabled, effects: [] });

          const deadline = new Date(NOW.getTime() + offsetDays * DAY).toISOString();
          const pending = { ...owned, pendingOwnerId: "p", pendingDeadline: deadline };
          const out = successionStep(
            pending,
            { kind: "tick", facts: { ...f, pending: "present" } },
            NOW,
            policy,
          );
          expect(out.ok && out.effects.map((e) => e.kind)).toEqual(offsetDays <= 0 ? ["disabled"] : []);
        },
      ),
    );
  });
});
