import { describe, expect, it } from "vitest";
import { parsePeriod } from "./evidence-period.js";

describe("an auditor's period", () => {
  it("reads quarters, months, years and two dates, the end exclusive", () => {
    const iso = (p: ReturnType<typeof parsePeriod>) => [p.label, p.from.toISOString(), p.to.toISOString()];
    expect(iso(parsePeriod("2026-Q3"))).toEqual([
      "2026-Q3",
      "2026-07-01T00:00:00.000Z",
      "2026-10-01T00:00:00.000Z",
    ]);
    expect(iso(parsePeriod("2026-q4"))).toEqual([
      "2026-Q4",
      "2026-10-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    expect(iso(parsePeriod("2026-02"))).toEqual([
      "2026-02",
      "2026-02-01T00:00:00.000Z",
      "2026-03-01T00:00:00.000Z",
    ]);
    expect(iso(parsePeriod("2026-12"))).toEqual([
      "2026-12",
      "2026-12-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    expect(iso(parsePeriod("2026"))).toEqual([
      "2026",
      "2026-01-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    expect(iso(parsePeriod("2026-07-15..2026-08-01"))).toEqual([
      "2026-07-15..2026-08-01",
      "2026-07-15T00:00:00.000Z",
      "2026-08-01T00:00:00.000Z",
    ]);
  });

  it("says what it expected for anything else", () => {
    for (const bad of [
      "2026-Q5",
      "2026-13",
      "Q3",
      "last quarter",
      "2026-08-01..2026-07-01",
      "2026-02-30..x",
    ]) {
      expect(() => parsePeriod(bad), bad).toThrow(/period .*(expected a quarter|not before|cannot be read)/);
    }
  });
});
