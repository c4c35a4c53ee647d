/**
 * The steps of a credential rotation (issue 17, item 4) and what a failure at each leaves in force: pure
 * decisions, no IO. `workflows/nhi-rotation.ts` records each step in `nhi_rotations` and carries them out.
 *
 * generate (in memory) → deliver to the sink (`delivered`) → set in the target (`set`) → verify with a
 * real login (`verified`) → retire the old credential where the target holds two (`retired`) → `done`.
 */

/** Where a rotation is: the last step done, or how it ended. */
export const ROTATION_STATES = [
  "started",
  "delivered",
  "set",
  "verified",
  "retired",
  "done",
  "failed",
] as const;
export type RotationState = (typeof ROTATION_STATES)[number];

/** The steps that touch something outside Tenure, in order. */
export const ROTATION_STEPS = ["deliver", "set", "verify", "retire"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** Which credential works after a rotation ended. */
export type CredentialInForce =
  /** The old one, unchanged: the new one was never set, or was removed again. */
  | "old"
  /** The new one (delivered to the sink): the target holds one credential and it was replaced. */
  | "new"
  /** Either: the target may or may not have applied the change (no answer). */
  | "old-or-new"
  /** Both: the new one works and the old one could not be removed. */
  | "both";

/** What a failure of a step calls for. */
export interface FailureRecovery {
  /**
   * `remove-new`: take the new credential out again (a target holding two), so the old one alone stays.
   * `set-again`: set the new credential once more and verify again (a target holding one, where the old
   * one is gone). `none`: nothing to undo.
   */
  undo: "none" | "remove-new" | "set-again";
  /** What is in force when the undo (if any) has run, or when it is not possible. */
  inForce: CredentialInForce;
}

/** The step after `state` on a target that holds two credentials or one; `finish` when all are done. */
export function nextStep(state: RotationState, holdsTwo: boolean): RotationStep | "finish" {
  switch (state) {
    case "started":
      return "deliver";
    case "delivered":
      return "set";
    case "set":
      return "verify";
    case "verified":
      return holdsTwo ? "retire" : "finish";
    case "retired":
    case "done":
    case "failed":
      return "finish";
  }
}

/** The state a rotation is in once `step` succeeded. */
export function stateAfter(step: RotationStep): RotationState {
  const states: Record<RotationStep, RotationState> = {
    deliver: "delivered",
    set: "set",
    verify: "verified",
    retire: "retired",
  };
  return states[step];
}

/**
 * What a failure of `step` calls for, on a target that holds two credentials or one. `noAnswer`: the
 * target did not answer (a timeout, a dropped connection), so a `set` may have been applied.
 */
export function recoveryFor(step: RotationStep, holdsTwo: boolean, noAnswer: boolean): FailureRecovery {
  switch (step) {
    case "deliver":
      // The sink failed: the target was never touched.
      return { undo: "none", inForce: "old" };
    case "set":
      // A target holding two keeps the old one whether or not the new one was added.
      return { undo: "none", inForce: holdsTwo || !noAnswer ? "old" : "old-or-new" };
    case "verify":
      return holdsTwo ? { undo: "remove-new", inForce: "old" } : { undo: "set-again", inForce: "new" };
    case "retire":
      return { undo: "none", inForce: "both" };
  }
}

/**
 * The sentence for people (errors, alerts) saying which credential works after a failed rotation. Never
 * holds a secret: the new one is named by the rotation's id, under which the sink holds it.
 */
export function describeInForce(inForce: CredentialInForce, rotationId: string): string {
  switch (inForce) {
    case "old":
      return "the old credential is unchanged and still in force";
    case "new":
      return `the new secret delivered to the sink (rotation ${rotationId}) is the one in force; the old credential no longer works`;
    case "old-or-new":
      return `the target did not answer, so either the old credential or the new secret delivered to the sink (rotation ${rotationId}) is in force: try the old one first`;
    case "both":
      return `the new secret delivered to the sink (rotation ${rotationId}) is in force, and the old credential still works too: remove it by rotating again or by hand`;
  }
}
