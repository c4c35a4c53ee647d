import { describe, expect, it } from "vitest";
import { firstPageScripts } from "./console-bundle.js";
import { consoleMissing } from "./console-server.js";

const missing = consoleMissing();

describe.skipIf(missing !== null && process.env.CI !== "true")("the console's first page", () => {
  it("needs at most 300 kB of gzipped JavaScript (issue 13), the other pages loading when opened", () => {
    const first = firstPageScripts();
    expect(first.files.length).toBeGreaterThanOrEqual(1);
    expect(first.gzipped).toBeLessThanOrEqual(300 * 1024);
    // The pages are chunks of their own: none of them is in the first load but the dashboard.
    expect(first.files.some((f) => /identities-|operations-|audit-|plan-/.test(f))).toBe(false);
  });
});
