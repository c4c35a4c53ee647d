import { describe, expect, it } from "vitest";
import { classifyStatus, errorForResponse, retryAfterMs } from "./scim-response-errors.js";

describe("retryAfterMs", () => {
  it("reads seconds and HTTP dates, and ignores the unreadable", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "30" }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 12:00:05 GMT" }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 11:00:00 GMT" }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe("classifyStatus", () => {
  it("maps SCIM answers to kinds and retryability", () => {
    const cases: [number, string | undefined, string, boolean][] = [
      [401, undefined, "auth", false],
      [403, undefined, "permission", false],
      [404, undefined, "not_found", false],
      [409, "uniqueness", "conflict", false],
      [409, undefined, "conflict", true],
      [429, undefined, "conflict", true],
      [503, undefined, "unreachable", true],
      [501, undefined, "invalid", false],
      [400, "invalidFilter", "invalid", false],
      [302, undefined, "invalid", false],
    ];
    for (const [status, scimType, kind, retryable] of cases) {
      expect(classifyStatus(status, scimType), `${status}`).toEqual({ kind, retryable });
    }
  });

  it("puts scimType and a cleaned, redacted detail in the message", () => {
    const err = errorForResponse(
      "slack",
      "create account ann",
      "POST",
      "https://api.slack.test/scim/v2/Users",
      {
        status: 400,
        headers: new Headers(),
        body: { status: "400", scimType: "invalidValue", detail: "bad\nvalue tok-123456" },
      },
      (text) => text.replaceAll("tok-123456", "***"),
    );
    expect(err.message).toBe(
      "slack: create account ann: POST https://api.slack.test/scim/v2/Users answered HTTP 400 (invalidValue): bad value ***",
    );
  });
});
