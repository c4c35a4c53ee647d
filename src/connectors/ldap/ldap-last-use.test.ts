import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFileTime, parseGeneralizedTime, parseLastUsed } from "./ldap-last-use.js";

describe("parseGeneralizedTime", () => {
  it("reads what OpenLDAP's lastbind overlay writes, and the other forms RFC 4517 allows", () => {
    expect(parseGeneralizedTime("20261203065317Z")).toBe("2026-12-03T06:53:17.000Z");
    expect(parseGeneralizedTime("20261203065317.25Z")).toBe("2026-12-03T06:53:17.250Z");
    expect(parseGeneralizedTime("202612030653Z")).toBe("2026-12-03T06:53:00.000Z");
    expect(parseGeneralizedTime("2026120306Z")).toBe("2026-12-03T06:00:00.000Z");
    // A fraction of the hour when minutes are not written.
    expect(parseGeneralizedTime("2026120306,5Z")).toBe("2026-12-03T06:30:00.000Z");
    expect(parseGeneralizedTime("20261203085317+0200")).toBe("2026-12-03T06:53:17.000Z");
    expect(parseGeneralizedTime("20261203015317-05")).toBe("2026-12-03T06:53:17.000Z");
  });
  it("refuses values with no zone, impossible days and anything else", () => {
    for (const bad of [
      "20261203065317",
      "20260231000000Z",
      "20261301000000Z",
      "2026-12-03T06:53:17Z",
      "",
      "Z",
      "x",
    ]) {
      expect(parseGeneralizedTime(bad), bad).toBeNull();
    }
  });
});

describe("parseFileTime", () => {
  it("reads Active Directory's lastLogonTimestamp", () => {
    // FILETIME counts 100 ns from 1601-01-01: 1970 is 116444736000000000.
    expect(parseFileTime("134092183970000000")).toBe("2025-12-03T06:53:17.000Z");
    expect(parseFileTime("116444736000000000")).toBe("1970-01-01T00:00:00.000Z");
  });
  it("reads 0, the int64 'never', pre-1970 values and non-numbers as never", () => {
    for (const never of ["0", "9223372036854775807", "1", "-5", "12.5", "", "abc", "99999999999999999999"]) {
      expect(parseFileTime(never), never).toBeNull();
    }
  });
});

describe("parseLastUsed", () => {
  it("tells the format from the value and takes the latest that parses", () => {
    expect(parseLastUsed([])).toBeNull();
    expect(parseLastUsed(["0"])).toBeNull();
    expect(parseLastUsed(["20261203065317Z"])).toBe("2026-12-03T06:53:17.000Z");
    expect(parseLastUsed(["134092183970000000"])).toBe("2025-12-03T06:53:17.000Z");
    expect(parseLastUsed(["garbage", "20250101000000Z", "20260101000000Z"])).toBe("2026-01-01T00:00:00.000Z");
  });
  it("never throws and gives null or an ISO-8601 instant from year 1970 to 9999", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.bigInt({ min: -1n, max: 2n ** 64n }).map(String))),
        (values) => {
          const out = parseLastUsed(values);
          if (out !== null) expect(out).toMatch(/^(19[7-9]\d|[2-9]\d{3})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        },
      ),
    );
  });
});
