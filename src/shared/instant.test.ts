import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lastParsed, toInstant } from "./instant.js";

describe("toInstant", () => {
  it("reads what connectors report as last use into an ISO instant", () => {
    expect(toInstant("2026-03-01T09:30:00.000Z")).toBe("2026-03-01T09:30:00.000Z");
    expect(toInstant("2026-03-01T10:30:00+01:00")).toBe("2026-03-01T09:30:00.000Z");
    expect(toInstant("2026-03-01 09:30:00")).toBe("2026-03-01T09:30:00.000Z");
    expect(toInstant("2026-03-01 09:30")).toBe("2026-03-01T09:30:00.000Z");
    expect(toInstant("2026-03-01")).toBe("2026-03-01T00:00:00.000Z");
    expect(toInstant("1772357400")).toBe("2026-03-01T09:30:00.000Z");
    expect(toInstant("1772357400000")).toBe("2026-03-01T09:30:00.000Z");
  });

  it("gives null for what is not a time, rather than a guess", () => {
    for (const bad of [null, undefined, "", "  ", "yesterday", "42", "2026-13-45 99:99:99", "0"]) {
      expect(toInstant(bad)).toBeNull();
    }
  });
});

describe("lastParsed", () => {
  it("answers as Date.parse for any run of texts, repeated or not", () => {
    const text = fc.oneof(
      fc.constantFrom("", "not a date", "2026-03-01T09:30:00.000Z", "2026-03-02T00:00:00.000Z"),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
    fc.assert(
      fc.property(fc.array(text, { maxLength: 30 }), (texts) => {
        const parse = lastParsed();
        for (const t of texts) expect(Object.is(parse(t), Date.parse(t))).toBe(true);
      }),
    );
  });
});
