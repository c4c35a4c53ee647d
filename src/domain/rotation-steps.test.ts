import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  describeInForce,
  nextStep,
  ROTATION_STATES,
  ROTATION_STEPS,
  type RotationState,
  recoveryFor,
  stateAfter,
} from "./rotation-steps.js";

describe("rotation steps", () => {
  it("run deliver, set, verify, then retire only where the target holds two", () => {
    const walk = (holdsTwo: boolean) => {
      const steps: string[] = [];
      let state: RotationState = "started";
      for (let step = nextStep(state, holdsTwo); step !== "finish"; step = nextStep(state, holdsTwo)) {
        steps.push(step);
        state = stateAfter(step);
      }
      return steps;
    };
    expect(walk(true)).toEqual(["deliver", "set", "verify", "retire"]);
    expect(walk(false)).toEqual(["deliver", "set", "verify"]);
    expect(nextStep("done", true)).toBe("finish");
    expect(nextStep("failed", false)).toBe("finish");
  });

  it("leave a credential that works after any failure, and undo only what needs undoing", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ROTATION_STEPS),
        fc.boolean(),
        fc.boolean(),
        (step, holdsTwo, noAnswer) => {
          const { undo, inForce } = recoveryFor(step, holdsTwo, noAnswer);
          // Before the target is touched, the old credential is all there is.
          if (step === "deliver") expect([undo, inForce]).toEqual(["none", "old"]);
          // A target holding two keeps the old one through a failed set or verify.
          if (holdsTwo && (step === "set" || step === "verify")) expect(inForce).toBe("old");
          // Only a failed verify undoes anything: by removing the new value, or by setting it again.
          expect(undo === "none").toBe(step !== "verify");
          if (step === "verify") expect(undo).toBe(holdsTwo ? "remove-new" : "set-again");
          // A set that got no answer on a one-credential target may have happened.
          if (step === "set" && !holdsTwo) expect(inForce).toBe(noAnswer ? "old-or-new" : "old");
          if (step === "retire") expect(inForce).toBe("both");
        },
      ),
    );
  });

  it("say which credential works without a secret, naming the new one by the rotation id", () => {
    expect(describeInForce("old", "r1")).toBe("the old credential is unchanged and still in force");
    expect(describeInForce("new", "r1")).toContain("the sink (rotation r1) is the one in force");
    expect(describeInForce("old-or-new", "r1")).toContain("try the old one first");
    expect(describeInForce("both", "r1")).toContain("the old credential still works too");
  });

  it("have one state per step and the two ends", () => {
    expect(ROTATION_STEPS.map(stateAfter)).toEqual(["delivered", "set", "verified", "retired"]);
    expect(ROTATION_STATES).toEqual(["started", "delivered", "set", "verified", "retired", "done", "failed"]);
  });
});
