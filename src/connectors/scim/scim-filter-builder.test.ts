import { describe, expect, it } from "vitest";
import { eqFilter, needsEscaping, widerFilter } from "./scim-filter-builder.js";

describe("SCIM filters", () => {
  it("writes the value as a JSON string, so it cannot end early", () => {
    expect(eqFilter("userName", 'O"Brien\\')).toBe('userName eq "O\\"Brien\\\\"');
    expect(eqFilter("userName", 'x" or userName pr "')).toBe('userName eq "x\\" or userName pr \\""');
    expect(eqFilter("userName", "zoë o'brien")).toBe(`userName eq "zoë o'brien"`);
  });

  it("widens to the unescaped prefix, or to every resource holding the attribute", () => {
    expect(needsEscaping("plain.name")).toBe(false);
    expect(needsEscaping("a\\b")).toBe(true);
    expect(widerFilter("userName", 'O"Brien\\')).toBe('userName sw "O"');
    expect(widerFilter("userName", '"quoted"')).toBe("userName pr");
  });
});
