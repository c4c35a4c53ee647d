import { describe, expect, it } from "vitest";
import { closestMatch } from "./did-you-mean.js";

describe("closestMatch", () => {
  const keys = ["type", "path", "key", "columns", "dateFormat", "timeZone", "delimiter", "missingMeans"];

  it.each([
    ["missingMean", "missingMeans"],
    ["pth", "path"],
    ["timezone", "timeZone"],
    ["delimeter", "delimiter"],
    ["colums", "columns"],
    ["dateFromat", "dateFormat"],
  ])("suggests %s → %s", (typo, expected) => {
    expect(closestMatch(typo, keys)).toBe(expected);
  });

  it.each([["frobnicate"], ["tz"], ["x"]])("suggests nothing for %s", (word) => {
    expect(closestMatch(word, keys)).toBeUndefined();
  });
});
