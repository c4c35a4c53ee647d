import { describe, expect, it } from "vitest";
import { UsageError } from "../shared/errors.js";
import { currentTraceId, withTraceId } from "../shared/trace-context.js";
import { cliRunTraceId } from "./trace-run.js";

describe("cliRunTraceId", () => {
  it("is TENURE_TRACE_ID when set and sane, else a fresh id", () => {
    expect(cliRunTraceId({ TENURE_TRACE_ID: "ci-run-4711" })).toBe("ci-run-4711");
    const a = cliRunTraceId({});
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(cliRunTraceId({ TENURE_TRACE_ID: "" })).not.toBe(a);
  });

  it("refuses an unsafe TENURE_TRACE_ID without repeating it", () => {
    expect(() => cliRunTraceId({ TENURE_TRACE_ID: "a b<script>" })).toThrow(UsageError);
    expect(() => cliRunTraceId({ TENURE_TRACE_ID: "x".repeat(65) })).toThrow(/TENURE_TRACE_ID must be/);
  });
});

describe("the trace context", () => {
  it("follows the work through awaits and timers, and is null outside it", async () => {
    expect(currentTraceId()).toBeNull();
    const seen = await withTraceId("t-1", async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentTraceId();
    });
    expect(seen).toBe("t-1");
    expect(currentTraceId()).toBeNull();
  });
});
