import { describe, expect, it } from "vitest";
import { checkDataQuality, type DataQualityOptions } from "./data-quality.js";
import { type CandidateRow, createRecordMapper, type RecordMappingOptions } from "./record-mapping.js";
import type { Finding, FindingCode, KnownPerson } from "./source-types.js";

const mapping: RecordMappingOptions = {
  name: "hr",
  key: "employeeId",
  columns: {},
  defaults: {},
  dateFormat: "YYYY-MM-DD",
};

/** A valid person; tests override what they are about. */
function person(id: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    employeeId: id,
    givenName: `Given${id}`,
    familyName: `Family${id}`,
    email: `${id.toLowerCase()}@example.com`,
    startDate: "2026-01-05",
    ...extra,
  };
}

/** Maps raw rows as a file would: data row n sits on line n + 1. */
function candidates(
  raws: Record<string, string>[],
  options: Partial<RecordMappingOptions> = {},
): CandidateRow[] {
  const map = createRecordMapper({ ...mapping, ...options });
  return raws.map((raw, i) => map(raw, i + 1, i + 2));
}

function check(
  raws: Record<string, string>[],
  options: Partial<DataQualityOptions> = {},
  mappingOptions: Partial<RecordMappingOptions> = {},
) {
  return checkDataQuality(candidates(raws, mappingOptions), { known: [], fallback: "none", ...options });
}

function only(findings: Finding[], code: FindingCode): Finding[] {
  return findings.filter((f) => f.code === code);
}

function validKeys(result: ReturnType<typeof check>): string[] {
  return result.valid.map((r) => r.key);
}

describe("checkDataQuality", () => {
  it("passes clean rows through as WorkerRecords, with raw and row kept", () => {
    const result = check([person("E1"), person("E2", { managerId: "E1" })]);
    expect(result.findings).toEqual([]);
    expect(result.valid).toHaveLength(2);
    expect(result.valid[1]).toMatchObject({
      source: "hr",
      key: "E2",
      row: 2,
      raw: person("E2", { managerId: "E1" }),
      attributes: {
        employeeId: "E2",
        managerId: "E1",
        displayName: "GivenE2 FamilyE2",
        startDate: "2026-01-05",
      },
    });
  });

  it("duplicate_key: an error on every row sharing the key, none of them kept", () => {
    const result = check([person("E1"), person("E2"), person("E1", { email: "other@example.com" })]);
    const found = only(result.findings, "duplicate_key");
    expect(found.map((f) => [f.row, f.line, f.key, f.severity, f.field])).toEqual([
      [1, 2, "E1", "error", "employeeId"],
      [3, 4, "E1", "error", "employeeId"],
    ]);
    expect(found[0]!.message).toContain("rows 1 (line 2), 3 (line 4)");
    expect(validKeys(result)).toEqual(["E2"]);
  });

  it("missing_required: key, givenName and familyName, each named; startDate is optional", () => {
    const result = check([
      person("E1", { startDate: "" }),
      { ...person("E2"), employeeId: "" },
      person("E3", { givenName: " " }),
      person("E4", { familyName: "" }),
    ]);
    const found = only(result.findings, "missing_required");
    expect(found.map((f) => [f.row, f.key, f.field, f.severity])).toEqual([
      [2, null, "employeeId", "error"],
      [3, "E3", "givenName", "error"],
      [4, "E4", "familyName", "error"],
    ]);
    expect(found[0]!.message).toMatch(/^Row 2 \(line 3\): required employeeId is empty$/);
    expect(validKeys(result)).toEqual(["E1"]);
  });

  it("missing_required names the source column when the mapping renamed it", () => {
    const columns = { employeeId: "ID", givenName: "First", familyName: "Last" };
    const rows = candidates([{ ID: "E1", First: "", Last: "L" }], { columns });
    const plain = checkDataQuality(rows, { known: [], fallback: "none" });
    const named = checkDataQuality(rows, { known: [], fallback: "none", columns });
    expect(only(plain.findings, "missing_required")[0]!.message).toMatch(/required givenName is empty$/);
    expect(only(named.findings, "missing_required")[0]!.message).toMatch(
      /required givenName \(column "First"\) is empty$/,
    );
  });

  it("with another key attribute, that attribute and employeeId are both required", () => {
    const result = check(
      [person("E1", { email: "" }), { ...person("E2"), employeeId: "" }],
      { key: "email" },
      { key: "email" },
    );
    const found = only(result.findings, "missing_required");
    expect(found.map((f) => [f.row, f.field])).toEqual([
      [1, "email"],
      [2, "employeeId"],
    ]);
    expect(result.valid).toEqual([]);
  });

  it.each([
    "jane.doe@",
    "jane doe@example.com",
    "jane@@example.com",
    "@example.com",
    "jane@example",
    "jane@exa mple.com",
    "jane@.com",
  ])("malformed_email: %s is an error", (email) => {
    const result = check([person("E1", { email }), person("E2")]);
    const found = only(result.findings, "malformed_email");
    expect(found).toEqual([
      expect.objectContaining({ row: 1, line: 2, key: "E1", field: "email", severity: "error" }),
    ]);
    expect(found[0]!.message).toContain(`"${email}"`);
    expect(validKeys(result)).toEqual(["E2"]);
  });

  it.each(["first.last+tag@example.co.uk", "o'brien@example.com", "zoë@bücher.example"])(
    "accepts the address %s",
    (email) => {
      expect(check([person("E1", { email })]).findings).toEqual([]);
    },
  );

  it("invalid_date and invalid_value from mapping are errors that skip the row", () => {
    const result = check([
      person("E1", { endDate: "2026-02-30" }),
      person("E2", { status: "gone" }),
      person("E3"),
    ]);
    expect(result.findings.map((f) => [f.code, f.row, f.field, f.severity])).toEqual([
      ["invalid_date", 1, "endDate", "error"],
      ["invalid_value", 2, "status", "error"],
    ]);
    expect(validKeys(result)).toEqual(["E3"]);
  });

  it("end_before_start: endDate or terminationDate before startDate; the same day is fine", () => {
    const result = check([
      person("E1", { endDate: "2026-01-04" }),
      person("E2", { status: "terminated", terminationDate: "2025-12-31" }),
      person("E3", { endDate: "2026-01-05", employmentType: "contractor" }),
      person("E4", { status: "terminated", terminationDate: "2026-01-05" }),
      person("E5", { startDate: "", endDate: "2020-01-01" }),
    ]);
    const found = only(result.findings, "end_before_start");
    expect(found.map((f) => [f.row, f.key, f.field, f.severity])).toEqual([
      [1, "E1", "endDate", "error"],
      [2, "E2", "terminationDate", "error"],
    ]);
    expect(found[0]!.message).toContain("endDate 2026-01-04 is before startDate 2026-01-05");
    expect(validKeys(result)).toEqual(["E3", "E4", "E5"]);
  });

  it("terminated_without_date: status terminated needs a terminationDate", () => {
    const result = check([
      person("E1", { status: "Terminated" }),
      person("E2", { status: "terminated", terminationDate: "2026-03-01" }),
    ]);
    expect(only(result.findings, "terminated_without_date")).toEqual([
      expect.objectContaining({ row: 1, key: "E1", severity: "error", field: "terminationDate" }),
    ]);
    expect(validKeys(result)).toEqual(["E2"]);
  });

  it("a terminationDate that does not parse is reported once, as invalid_date, not also as missing", () => {
    const result = check([person("E1", { status: "terminated", terminationDate: "31/03/2026" })]);
    expect(result.findings.map((f) => f.code)).toEqual(["invalid_date"]);
  });

  it("duplicate_email: every row of different keys sharing an email, case-insensitively", () => {
    const result = check([
      person("E1", { email: "Shared@Example.com" }),
      person("E2"),
      person("E3", { email: "shared@example.COM" }),
    ]);
    const found = only(result.findings, "duplicate_email");
    expect(found.map((f) => [f.row, f.key, f.severity, f.field])).toEqual([
      [1, "E1", "error", "email"],
      [3, "E3", "error", "email"],
    ]);
    expect(found[0]!.message).toContain('row 3 ("E3")');
    expect(validKeys(result)).toEqual(["E2"]);
  });

  it("rows repeating one key and email are a duplicate_key, not a duplicate_email", () => {
    const result = check([person("E1"), person("E1")]);
    expect(result.findings.map((f) => f.code)).toEqual(["duplicate_key", "duplicate_key"]);
  });

  it("unknown_manager: a warning, and the record keeps the managerId as given", () => {
    const known: KnownPerson[] = [{ sourceKey: "E9", email: null, givenName: "A", familyName: "B" }];
    const result = check(
      [
        person("E1", { managerId: "E404" }),
        person("E2", { managerId: "E9" }),
        person("E3", { managerId: "E1" }),
      ],
      { known },
    );
    const found = only(result.findings, "unknown_manager");
    expect(found).toEqual([
      expect.objectContaining({ row: 1, key: "E1", severity: "warning", field: "managerId" }),
    ]);
    expect(found[0]!.message).toContain('"E404"');
    expect(validKeys(result)).toEqual(["E1", "E2", "E3"]);
    expect(result.valid[0]!.attributes.managerId).toBe("E404");
  });

  it("a manager whose own row has errors still exists in the export", () => {
    const result = check([person("E1", { startDate: "bad" }), person("E2", { managerId: "E1" })]);
    expect(only(result.findings, "unknown_manager")).toEqual([]);
    expect(validKeys(result)).toEqual(["E2"]);
  });

  it("manager_cycle: one warning per row in the cycle, each showing the chain from itself", () => {
    const result = check([
      person("E1", { managerId: "E2" }),
      person("E2", { managerId: "E3" }),
      person("E3", { managerId: "E1" }),
      person("E4", { managerId: "E1" }), // reports into the cycle but is not part of it
      person("E5"),
    ]);
    const found = only(result.findings, "manager_cycle");
    expect(found.map((f) => [f.row, f.key, f.severity])).toEqual([
      [1, "E1", "warning"],
      [2, "E2", "warning"],
      [3, "E3", "warning"],
    ]);
    expect(found[0]!.message).toContain("E1 → E2 → E3 → E1");
    expect(found[1]!.message).toContain("E2 → E3 → E1 → E2");
    expect(validKeys(result)).toEqual(["E1", "E2", "E3", "E4", "E5"]);
  });

  it("manager_cycle: managing yourself is a cycle", () => {
    const result = check([person("E1", { managerId: "E1" })]);
    expect(result.findings).toEqual([
      expect.objectContaining({ code: "manager_cycle", row: 1, severity: "warning" }),
    ]);
    expect(result.findings[0]!.message).toContain("E1 → E1");
    expect(validKeys(result)).toEqual(["E1"]);
  });

  it("finds several separate cycles and ignores long acyclic chains", () => {
    const raws = [person("A", { managerId: "B" }), person("B", { managerId: "A" })];
    for (let i = 1; i <= 50; i++) raws.push(person(`C${i}`, i === 1 ? {} : { managerId: `C${i - 1}` }));
    raws.push(
      person("X", { managerId: "Y" }),
      person("Y", { managerId: "Z" }),
      person("Z", { managerId: "Y" }),
    );
    const found = only(check(raws).findings, "manager_cycle");
    expect(found.map((f) => f.key)).toEqual(["A", "B", "Y", "Z"]);
  });

  it("abbreviates the chain of a very long cycle in the message", () => {
    const n = 1_000;
    const raws = Array.from({ length: n }, (_, i) => person(`E${i}`, { managerId: `E${(i + 1) % n}` }));
    const found = only(check(raws).findings, "manager_cycle");
    expect(found).toHaveLength(n);
    expect(found[0]!.message).toContain("E0 → E1 → E2 → … (996 more) … → E999 → E0");
    expect(found[0]!.message.length).toBeLessThan(300);
  });

  describe("key_changed", () => {
    const known: KnownPerson[] = [
      { sourceKey: "OLD1", email: "Ada.Lovelace@example.com", givenName: "Ada", familyName: "Lovelace" },
      { sourceKey: "E2", email: "e2@example.com", givenName: "GivenE2", familyName: "FamilyE2" },
    ];
    const rekeyed = person("NEW1", {
      email: "ada.lovelace@example.com",
      givenName: "ada",
      familyName: "LOVELACE",
    });

    it("is an error with fallback none, so no second identity is created", () => {
      const result = check([rekeyed, person("E2")], { known, fallback: "none" });
      expect(result.findings).toEqual([
        expect.objectContaining({
          code: "key_changed",
          severity: "error",
          row: 1,
          key: "NEW1",
          field: "employeeId",
          previousKey: "OLD1",
        }),
      ]);
      expect(result.findings[0]!.message).toContain('"OLD1"');
      expect(validKeys(result)).toEqual(["E2"]);
    });

    it("is a warning with fallback email, and the row is kept for sync to rekey", () => {
      const result = check([rekeyed], { known, fallback: "email" });
      expect(result.findings).toEqual([
        expect.objectContaining({ code: "key_changed", severity: "warning", previousKey: "OLD1" }),
      ]);
      expect(validKeys(result)).toEqual(["NEW1"]);
    });

    it("needs the names to match too: same email, other name is a new person", () => {
      const result = check([person("NEW1", { email: "ada.lovelace@example.com", givenName: "Grace" })], {
        known,
      });
      expect(result.findings).toEqual([]);
    });

    it("does not fire for a key that is already known", () => {
      const result = check([person("E2")], { known });
      expect(result.findings).toEqual([]);
    });

    it("is an error, whatever the fallback, when several known identities match", () => {
      const twins: KnownPerson[] = [
        { sourceKey: "A1", email: "x@example.com", givenName: "X", familyName: "Y" },
        { sourceKey: "A2", email: "X@example.com", givenName: "x", familyName: "y" },
      ];
      const result = check([person("B1", { email: "x@example.com", givenName: "X", familyName: "Y" })], {
        known: twins,
        fallback: "email",
      });
      expect(result.findings).toEqual([expect.objectContaining({ code: "key_changed", severity: "error" })]);
      expect(result.findings[0]!.message).toContain('"A1", "A2"');
      expect(result.valid).toEqual([]);
    });
  });

  it("reports every problem of a row, and orders findings by row", () => {
    const result = check([
      person("E1"),
      person("E2", { email: "bad", status: "terminated", managerId: "NOPE" }),
      person("E3", { startDate: "nope", givenName: "" }),
    ]);
    expect(result.findings.map((f) => [f.row, f.code])).toEqual([
      [2, "malformed_email"],
      [2, "terminated_without_date"],
      [2, "unknown_manager"],
      [3, "invalid_date"],
      [3, "missing_required"],
    ]);
    expect(validKeys(result)).toEqual(["E1"]);
  });

  it("every finding names the row and says where in its message", () => {
    const result = check([person("E1", { managerId: "E1", email: "bad" }), person("E1")]);
    for (const f of result.findings) {
      expect(f.source).toBe("hr");
      expect(f.message).toMatch(new RegExp(`^Row ${f.row} \\(line ${f.row + 1}\\), key "E1": `));
    }
  });

  it("handles 100,000 rows, including one 100,000-person manager cycle", () => {
    const n = 100_000;
    const raws = Array.from({ length: n }, (_, i) => person(`E${i}`, { managerId: `E${(i + 1) % n}` }));
    const result = check(raws);
    expect(result.valid).toHaveLength(n);
    expect(only(result.findings, "manager_cycle")).toHaveLength(n);
    expect(result.findings).toHaveLength(n);
  });
});
