import { describe, expect, it } from "vitest";
import { DEFAULT_LIFECYCLE } from "./lifecycle-section.js";

describe("DEFAULT_LIFECYCLE", () => {
  it("holds the documented defaults, deeply frozen", () => {
    expect(DEFAULT_LIFECYCLE).toEqual({
      prehireDays: 7,
      moverGraceDays: 0,
      deleteAfterDays: 30,
      contractorWarningDays: 14,
      leaver: { revoke: "privileged", slaHours: 24 },
      massChangeThreshold: { percent: 10, minimum: 5 },
    });
    expect(Object.isFrozen(DEFAULT_LIFECYCLE)).toBe(true);
    expect(Object.isFrozen(DEFAULT_LIFECYCLE.leaver)).toBe(true);
    expect(Object.isFrozen(DEFAULT_LIFECYCLE.massChangeThreshold)).toBe(true);
  });
});
