/**
 * PostgreSQL's page text of an identity's assignments (store/review-population-postgres.ts): read when
 * it splits into exactly the assignments counted, each of exactly its fields; refused (null, then read
 * again as JSON) when a value held a separator. The read itself, values with separators included, is
 * tested on PostgreSQL in engine/review-access.test.ts.
 */
import { describe, expect, it } from "vitest";
import { assignmentsText } from "./review-population-postgres.js";

const F = "\u001f";
const R = "\u001e";
const fields = (...f: string[]) => f.join(F);
const one = fields("as-1", "", "=erp", "=read", "2026-01-01", "", "why", "=e000", "", "=req-1", "");

describe("assignmentsText", () => {
  it("reads the fields, a nullable one empty for null and `=` + its value otherwise", () => {
    const role = fields(
      "as-2",
      "=admin",
      "",
      "",
      "2026-01-01",
      "=2027-01-01",
      "",
      "",
      "=2026-06-01",
      "",
      "=2026-07-01",
    );
    expect(assignmentsText(`${one}${R}${role}`, 2, "id-1", 3)).toEqual([
      {
        id: "as-1",
        identityId: "id-1",
        target: { system: "erp", entitlement: "read" },
        employment: 3,
        validFrom: "2026-01-01",
        validUntil: null,
        reason: "why",
        approvedBy: "e000",
        revokedAt: null,
        requestId: "req-1",
        endedAt: null,
      },
      {
        id: "as-2",
        identityId: "id-1",
        target: { role: "admin" },
        employment: 3,
        validFrom: "2026-01-01",
        validUntil: "2027-01-01",
        reason: "",
        approvedBy: null,
        revokedAt: "2026-06-01",
        requestId: null,
        endedAt: "2026-07-01",
      },
    ]);
    // An empty value is `=`, not null.
    const empty = assignmentsText(
      fields("as-3", "", "=erp", "=", "2026-01-01", "", "", "=", "", "=", ""),
      1,
      "i",
      1,
    );
    expect(empty?.[0]).toMatchObject({
      target: { system: "erp", entitlement: "" },
      approvedBy: "",
      requestId: "",
    });
  });

  it("gives no assignment for no text when none was counted", () => {
    expect(assignmentsText(null, 0, "id-1", 1)).toEqual([]);
  });

  it("refuses a text a separator in a value split wrongly", () => {
    // A record separator in a value: one assignment more than counted.
    const reason = fields("as-1", "", "=erp", "=read", "2026-01-01", "", `a${R}b`, "", "", "", "");
    expect(assignmentsText(reason, 1, "i", 1)).toBeNull();
    // A field separator in a value: one field more.
    const name = fields("as-1", "", "=erp", `=re${F}ad`, "2026-01-01", "", "why", "", "", "", "");
    expect(assignmentsText(name, 1, "i", 1)).toBeNull();
    expect(assignmentsText(null, 1, "i", 1)).toBeNull();
    expect(assignmentsText(one, 2, "i", 1)).toBeNull();
  });
});
