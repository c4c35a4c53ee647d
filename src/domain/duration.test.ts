import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";

describe("durations", () => {
  it("reads a number with a unit, and several in a row", () => {
    expect(parseDuration("30m")).toBe(30 * 60_000);
    expect(parseDuration("8h")).toBe(8 * 3_600_000);
    expect(parseDuration("7d")).toBe(7 * 86_400_000);
    expect(parseDuration("2w")).toBe(14 * 86_400_000);
    expect(parseDuration("1h30m")).toBe(90 * 60_000);
  });

  it("refuses what is not a duration, and zero", () => {
    for (const bad of ["", "8", "h", "8 hours", "-1h", "1.5h", "0h", "1y", "8h junk"]) {
      expect(parseDuration(bad), bad).toBeUndefined();
    }
  });

  it("prints in the largest units that fit exactly, and reads back what it prints", () => {
    expect(formatDuration(90 * 60_000)).toBe("1h30m");
    expect(formatDuration(36 * 3_600_000)).toBe("1d12h");
    expect(formatDuration(14 * 86_400_000)).toBe("2w");
    for (const ms of [60_000, 5_400_000, 129_600_000, 1_209_600_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
