import { describe, expect, it } from "vitest";
import { checkDataQuality } from "./data-quality.js";
import { createRecordMapper, type RecordMappingOptions } from "./record-mapping.js";
import { characterCount, checkValue, maxLengthOf } from "./value-rules.js";

const mapping: RecordMappingOptions = {
  name: "hr",
  key: "employeeId",
  columns: {},
  defaults: {},
  dateFormat: "YYYY-MM-DD",
};

const person = (id: string, extra: Record<string, string> = {}) => ({
  employeeId: id,
  givenName: "Zoë",
  familyName: "Łukasik",
  email: `${id.toLowerCase().trim()}@example.com`,
  ...extra,
});

/** Maps and checks rows as a file would: data row n sits on line n + 1. */
function check(raws: Record<string, string>[], options: Partial<RecordMappingOptions> = {}) {
  const map = createRecordMapper({ ...mapping, ...options });
  return checkDataQuality(
    raws.map((raw, i) => map(raw, i + 1, i + 2)),
    { known: [], fallback: "none" },
  );
}

const NFC_KEY = "\u00C91"; // É1, one code point
const NFD_KEY = "E\u03011"; // É1, E + combining acute

describe("values from a source: normalised, clean and bounded", () => {
  it("NFC and NFD spellings of a key, and a trailing space, are one key", () => {
    const map = createRecordMapper(mapping);
    const keys = [NFC_KEY, NFD_KEY, `${NFD_KEY} `, ` ${NFC_KEY}\u00A0`].map(
      (key, i) => map(person(key), i + 1).key,
    );
    expect(new Set(keys)).toEqual(new Set([NFC_KEY]));
    // Names are kept in NFC as well, so an NFD export does not "change" everybody's name.
    const row = map(person("E1", { givenName: "Zoe\u0308 " }), 1);
    expect(row.attributes.givenName).toBe("Zo\u00EB");
    expect(row.attributes.displayName).toBe("Zo\u00EB Łukasik");
  });

  it("two rows whose keys differ only in normalisation are a duplicate key: both refused, naming both lines", () => {
    const result = check([person(NFC_KEY), person("E2"), person(`${NFD_KEY} `, { email: "x@example.com" })]);
    expect(result.valid.map((r) => r.key)).toEqual(["E2"]);
    const duplicates = result.findings.filter((f) => f.code === "duplicate_key");
    expect(duplicates.map((f) => [f.row, f.line, f.field])).toEqual([
      [1, 2, "employeeId"],
      [3, 4, "employeeId"],
    ]);
    expect(duplicates[0]!.message).toBe(
      `Row 1 (line 2), key "${NFC_KEY}": employeeId "${NFC_KEY}" appears in rows 1 (line 2), 3 (line 4); none of them is used because the right one cannot be told`,
    );
  });

  it("refuses NUL and other control characters with row, line and field, never echoing the value", () => {
    const result = check(
      [
        person("E1", { givenName: "Ada\u0000" }),
        person("E2", { "Job Title": "Lead\u001b[2J" }),
        person("E3", { familyName: "Tab\tInside" }),
        person("E4", { department: "R&D\u0085" }),
        person("E5\u0007", { email: "e5@example.com" }),
        person("E6", { startDate: "2026-01-05\r\n" }), // trailing line break: trimmed, fine
      ],
      { columns: { title: "Job Title" } },
    );
    const refused = result.findings.filter((f) => f.code === "control_character");
    expect(refused.map((f) => [f.row, f.line, f.key, f.field, f.severity])).toEqual([
      [1, 2, "E1", "givenName", "error"],
      [2, 3, "E2", "title", "error"],
      [3, 4, "E3", "familyName", "error"],
      [4, 5, "E4", "department", "error"],
      [5, 6, null, "employeeId", "error"],
    ]);
    expect(refused[0]!.message).toBe(
      'Row 1 (line 2), key "E1": givenName contains the control character U+0000 at character 4; control characters are refused',
    );
    expect(refused[1]!.message).toContain('title (column "Job Title") contains the control character U+001B');
    for (const f of refused) expect(f.message).not.toMatch(/\p{Cc}/u);
    // A refused value is not reported as empty as well.
    expect(result.findings.filter((f) => f.code === "missing_required")).toEqual([]);
    expect(result.valid.map((r) => r.key)).toEqual(["E6"]);
  });

  it("refuses a value over its limit: 1024 characters by default, 256 for keys and managerId, configurable", () => {
    const long = (n: number) => "x".repeat(n);
    const result = check([
      person("E1", { title: long(1024) }),
      person("E2", { title: long(1025) }),
      person(long(257)),
      person("E4", { managerId: long(257) }),
      person("E5", { givenName: "😀".repeat(1024) }), // 2048 UTF-16 units, 1024 characters
    ]);
    const tooLong = result.findings.filter((f) => f.code === "too_long");
    expect(tooLong.map((f) => [f.row, f.key, f.field])).toEqual([
      [2, "E2", "title"],
      [3, null, "employeeId"],
      [4, "E4", "managerId"],
    ]);
    expect(tooLong[0]!.message).toBe(
      'Row 2 (line 3), key "E2": title is 1025 characters long; at most 1024 are accepted',
    );
    expect(result.valid.map((r) => r.key)).toEqual(["E1", "E5"]);

    const configured = check([person("E1", { title: long(30) }), person("E2", { title: long(31) })], {
      maxLength: { default: 20, title: 30 },
    });
    expect(configured.valid.map((r) => r.key)).toEqual(["E1"]);
    expect(configured.findings.map((f) => [f.code, f.row, f.field])).toEqual([["too_long", 2, "title"]]);
  });

  it("reports the key of every row, refused or not, as present", () => {
    const result = check([person("E1"), person("E2", { email: "bad@" }), person("E3"), person("E3")]);
    expect(result.valid.map((r) => r.key)).toEqual(["E1"]);
    expect(result.presentKeys).toEqual(["E1", "E2", "E3", "E3"]);
  });

  it("limits: own entry, else key (key attribute and managerId), else default", () => {
    expect(maxLengthOf("title", "employeeId")).toBe(1024);
    expect(maxLengthOf("employeeId", "employeeId")).toBe(256);
    expect(maxLengthOf("email", "email", { key: 100 })).toBe(100);
    expect(maxLengthOf("employeeId", "email", { key: 100, default: 50 })).toBe(50);
    expect(maxLengthOf("managerId", "employeeId", { managerId: 9, key: 100 })).toBe(9);
    expect(characterCount("a😀é")).toBe(3);
    expect(checkValue("ok", 2)).toBeUndefined();
    expect(checkValue("\u007F", 5)?.code).toBe("control_character");
  });
});
