import { describe, expect, it } from "vitest";
import { incomingTraceId } from "./trace-header.js";

const PARENT = "00f067aa0ba902b7";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("incomingTraceId", () => {
  it("keeps a sane X-Request-Id, before a traceparent", () => {
    expect(incomingTraceId({ "x-request-id": "hr-push:2026-03-02.1" })).toBe("hr-push:2026-03-02.1");
    expect(incomingTraceId({ "x-request-id": "mine", traceparent: `00-${TRACE}-${PARENT}-01` })).toBe("mine");
  });

  it("takes the trace id of a valid W3C traceparent", () => {
    expect(incomingTraceId({ traceparent: `00-${TRACE}-${PARENT}-01` })).toBe(TRACE);
    expect(incomingTraceId({ "x-request-id": "bad id", traceparent: `00-${TRACE}-${PARENT}-00` })).toBe(
      TRACE,
    );
  });

  it("ignores what is too long, holds other characters, repeats, or is no valid traceparent", () => {
    for (const headers of [
      { "x-request-id": "x".repeat(65) },
      { "x-request-id": "a<b>" },
      { "x-request-id": "line\nbreak" },
      { "x-request-id": "" },
      { "x-request-id": ["a", "b"] },
      { traceparent: `00-${"0".repeat(32)}-${PARENT}-01` },
      { traceparent: `00-${TRACE}-${"0".repeat(16)}-01` },
      { traceparent: `ff-${TRACE}-${PARENT}-01` },
      { traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01` },
      { traceparent: `00-${TRACE}-${PARENT}` },
      { traceparent: `00-${TRACE}x-${PARENT}-01` },
      {},
    ]) {
      expect(incomingTraceId(headers), JSON.stringify(headers)).toBeNull();
    }
  });
});
