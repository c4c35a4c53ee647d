import { describe, expect, it } from "vitest";
import { parseDateFormat } from "./date-format.js";

describe("parseDateFormat", () => {
  it.each(["YYYY-MM-DD", "DD/MM/YYYY", "M/D/YYYY", "D.M.YYYY", "YYYYMMDD", "DD MM YYYY"])(
    "accepts %s",
    (format) => {
      expect(parseDateFormat(format).ok).toBe(true);
    },
  );

  it("splits a pattern into tokens and separators", () => {
    expect(parseDateFormat("D/MM/YYYY")).toEqual({
      ok: true,
      parts: [
        { kind: "day", padded: false },
        { kind: "literal", text: "/" },
        { kind: "month", padded: true },
        { kind: "literal", text: "/" },
        { kind: "year" },
      ],
    });
  });

  it.each([
    ["DD/MM/YY", /YYYY/],
    ["YYYY-MM", /day token/],
    ["MM/DD", /year token/],
    ["YYYY-MM-DD-DD", /day appears 2 times/],
    ["yyyy-mm-dd", /only the tokens/],
    ["YYYY-MMM-DD", /month appears 2 times/],
    ["YYYYMD", /separator/],
    ["DMMYYYY", /separator/],
  ])("rejects %s", (format, problem) => {
    const parsed = parseDateFormat(format);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });
});
