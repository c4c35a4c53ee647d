import type { NonHumanIdentity, OwnerLeavePolicy } from "./nhi-types.js";

/**
 * Owner succession of a non-human identity (issue 17, item 3) as a pure state machine, in the manner of
 * lifecycle.ts: `(state, event, now, policy) → { state, effects }`. The workflow (workflows/nhi-succession.ts)
 * gathers the facts from the store, calls it, writes the new state with its audit events in one
 * transaction, and queues the notifications the effects name.
 *
 * owned ──owner leaves (or moves, with onMove)──▶ pending(successor, deadline)
 * pending ──the successor confirms──▶ owned(successor)
 * pending ──deadline passes──▶ disabled (otherwise: disable) | ownerless (otherwise: keep)
 * pending ──the successor leaves too──▶ pending(their successor) | disabled | ownerless
 * owned ──owner leaves, nobody to pass to──▶ disabled | ownerless
 *
 * A disabled or ownerless NHI stays so until the inventory names a new owner (the sync resets it).
 */

/** The part of an NHI the machine reads and writes. */
export type SuccessionState = Pick<
  NonHumanIdentity,
  | "ownerId"
  | "ownerSince"
  | "pendingOwnerId"
  | "pendingSince"
  | "pendingDeadline"
  | "ownerlessReason"
  | "disabledReason"
  | "disabledAt"
>;

/** What the store says, at the tick, of the people involved. */
export interface SuccessionFacts {
  /** The owner in force: here, gone (terminated or deleted), moved (department, title or manager), or none. */
  owner: "present" | "gone" | "moved" | "none";
  /** The pending owner, when one is pending. */
  pending: "present" | "gone" | null;
  /**
   * Who ownership would pass to now: the successor (manager, else fallback, as policy says) of whoever is
   * leaving — the pending owner when they left, else the owner. Null: nobody. Found by the workflow.
   */
  successorId: string | null;
}

export type SuccessionEvent = { kind: "tick"; facts: SuccessionFacts } | { kind: "confirm"; actorId: string };

/** Why ownership started passing on. */
export type PassReason = "owner-left" | "owner-moved" | "pending-owner-left";

export type SuccessionEffect =
  | { kind: "owner_pending"; to: string; from: string | null; reason: PassReason; deadline: string }
  | { kind: "owner_confirmed"; owner: string; previous: string | null }
  | { kind: "disabled"; reason: string; previous: string | null }
  | { kind: "ownerless"; reason: string; previous: string | null };

export type SuccessionOutcome =
  | { ok: true; state: SuccessionState; effects: SuccessionEffect[] }
  | { ok: false; refusal: string };

const PASS_WORDS: Record<PassReason, string> = {
  "owner-left": "the owner left",
  "owner-moved": "the owner moved",
  "pending-owner-left": "the pending owner left",
};

/**
 * One step. A tick that changes nothing returns the same state object and no effects. A confirmation
 * is refused (ok: false, with the reason in words) unless ownership is pending to `actorId`; a refusal
 * changes nothing.
 */
export function successionStep(
  state: SuccessionState,
  event: SuccessionEvent,
  now: Date,
  policy: OwnerLeavePolicy,
): SuccessionOutcome {
  const at = now.toISOString();
  if (event.kind === "confirm") {
    if (state.disabledAt !== null) return { ok: false, refusal: "the NHI is disabled: nothing to confirm" };
    if (state.pendingOwnerId === null) return { ok: false, refusal: "no change of owner is pending" };
    if (state.pendingOwnerId !== event.actorId) {
      return { ok: false, refusal: "only the pending owner may confirm ownership" };
    }
    return {
      ok: true,
      state: {
        ...state,
        ownerId: event.actorId,
        ownerSince: at,
        pendingOwnerId: null,
        pendingSince: null,
        pendingDeadline: null,
        ownerlessReason: null,
      },
      effects: [{ kind: "owner_confirmed", owner: event.actorId, previous: state.ownerId }],
    };
  }

  const { facts } = event;
  const unchanged: SuccessionOutcome = { ok: true, state, effects: [] };
  if (state.disabledAt !== null) return unchanged;

  if (state.pendingOwnerId !== null) {
    if (facts.pending === "gone") {
      return passOn(state, facts.successorId, "pending-owner-left", state.pendingOwnerId, now, policy);
    }
    const deadline = state.pendingDeadline === null ? Number.NaN : Date.parse(state.pendingDeadline);
    if (!(now.getTime() < deadline)) {
      return otherwise(state, `ownership was not confirmed by ${state.pendingDeadline}`, now, policy);
    }
    return unchanged;
  }

  if (state.ownerId === null) return unchanged;
  if (facts.owner === "gone")
    return passOn(state, facts.successorId, "owner-left", state.ownerId, now, policy);
  if (facts.owner === "moved" && policy.onMove) {
    return passOn(state, facts.successorId, "owner-moved", state.ownerId, now, policy);
  }
  return unchanged;
}

function passOn(
  state: SuccessionState,
  successorId: string | null,
  reason: PassReason,
  leaving: string,
  now: Date,
  policy: OwnerLeavePolicy,
): SuccessionOutcome {
  if (successorId === null || successorId === leaving || successorId === state.ownerId) {
    return otherwise(state, `${PASS_WORDS[reason]} and there is nobody to pass ownership to`, now, policy);
  }
  const deadline = new Date(now.getTime() + policy.confirmWithinMs).toISOString();
  return {
    ok: true,
    state: {
      ...state,
      pendingOwnerId: successorId,
      pendingSince: now.toISOString(),
      pendingDeadline: deadline,
    },
    effects: [{ kind: "owner_pending", to: successorId, from: leaving, reason, deadline }],
  };
}

function otherwise(
  state: SuccessionState,
  reason: string,
  now: Date,
  policy: OwnerLeavePolicy,
): SuccessionOutcome {
  const previous = state.ownerId;
  const cleared = { ...state, pendingOwnerId: null, pendingSince: null, pendingDeadline: null };
  if (policy.otherwise === "disable") {
    return {
      ok: true,
      state: { ...cleared, disabledAt: now.toISOString(), disabledReason: reason },
      effects: [{ kind: "disabled", reason, previous }],
    };
  }
  return {
    ok: true,
    state: { ...cleared, ownerId: null, ownerSince: null, ownerlessReason: reason },
    effects: [{ kind: "ownerless", reason, previous }],
  };
}
