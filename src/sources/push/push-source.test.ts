import { describe, expect, it } from "vitest";
import { defaultPushSource } from "../../policy/sections/sources-section.js";
import { checkPushedRecords, mapPushedRecords, readPushSource, unknownPushFields } from "./push-source.js";

const source = {
  ...defaultPushSource("hr"),
  columns: { givenName: "first", familyName: "last" },
  dateFormat: "DD/MM/YYYY",
};

const ada = { employeeId: "E1", first: "Ada", last: "Lovelace", email: "ada@example.test" };

describe("push source", () => {
  it("maps a record through the source's columns and date format, like a CSV row", () => {
    const [row] = mapPushedRecords(source, [{ ...ada, startDate: "05/01/2026", title: null }]);
    expect(row?.key).toBe("E1");
    expect(row?.row).toBe(1);
    expect(row?.attributes).toMatchObject({
      givenName: "Ada",
      familyName: "Lovelace",
      displayName: "Ada Lovelace",
      startDate: "2026-01-05",
      title: null,
      employmentType: "employee",
      status: "active",
    });
    // null is stored as the empty value it stands for.
    expect(row?.raw.title).toBe("");
  });

  it("with attributeNames, reads attribute names and ISO dates whatever the mapping says", () => {
    const [row] = mapPushedRecords(
      source,
      [{ employeeId: "E1", givenName: "Ada", familyName: "Lovelace", startDate: "2026-01-05" }],
      { attributeNames: true },
    );
    expect(row?.findings).toEqual([]);
    expect(row?.attributes).toMatchObject({ givenName: "Ada", startDate: "2026-01-05" });
  });

  it("names the fields nobody reads, per row, so a typo is not a silent blank", () => {
    expect(
      unknownPushFields(source, [ada, { ...ada, givenName: "Ada", lastname: "x" }]).map(
        (u) => `${u.row}:${u.field}`,
      ),
    ).toEqual(["2:givenName", "2:lastname"]);
    expect(unknownPushFields(source, [{ givenName: "Ada" }], { attributeNames: true })).toEqual([]);
    // A field named like an Object.prototype member is a field, not the prototype.
    const proto = JSON.parse('{"__proto__": "x", "employeeId": "E1"}') as Record<string, string>;
    expect(unknownPushFields(source, [proto])).toEqual([{ row: 1, field: "__proto__" }]);
    expect(mapPushedRecords(source, [proto])[0]?.raw).toHaveProperty("__proto__", "x");
  });

  it("checks records with the CSV data-quality rules, against the identities it is given", () => {
    const rows = mapPushedRecords(source, [
      { ...ada, managerId: "E9" },
      { employeeId: "E2", first: "Grace", last: "", startDate: "31/02/2026" },
    ]);
    const read = checkPushedRecords(source, rows, [
      { sourceKey: "E9", email: null, givenName: "Boss", familyName: "Person" },
    ]);
    expect(read.complete).toBe(false);
    expect(read.records.map((r) => r.key)).toEqual(["E1"]);
    expect(read.findings.map((f) => [f.row, f.code, f.field])).toEqual([
      [2, "invalid_date", "startDate"],
      [2, "missing_required", "familyName"],
    ]);
    expect(read.findings[1]?.message).toContain('familyName (column "last")');
    // Without E9 among the known identities, the manager is unknown (a warning; the row is kept).
    const alone = checkPushedRecords(source, rows.slice(0, 1), []);
    expect(alone.findings.map((f) => f.code)).toEqual(["unknown_manager"]);
    expect(alone.records).toHaveLength(1);
  });

  it("refuses a pushed record with a control character or an over-long value, per record and field; keys normalised", () => {
    const rows = mapPushedRecords({ ...source, maxLength: { title: 10 } }, [
      { ...ada, first: "Ada\u0000" },
      { ...ada, employeeId: "E2", email: "e2@example.test", title: "x".repeat(11) },
      { ...ada, employeeId: "E\u03013 ", email: "e3@example.test" },
    ]);
    const read = checkPushedRecords(source, rows, []);
    expect(read.findings.map((f) => [f.row, f.code, f.field])).toEqual([
      [1, "control_character", "givenName"],
      [2, "too_long", "title"],
    ]);
    expect(read.findings[0]?.message).toContain(
      'givenName (column "first") contains the control character U+0000',
    );
    expect(read.records.map((r) => r.key)).toEqual(["\u00C93"]);
    expect(read.presentKeys).toEqual(["E1", "E2", "\u00C93"]);
  });

  it("gives a scheduled sync nothing to read, and says so by being incomplete", () => {
    expect(readPushSource(source)).toEqual({
      source: "hr",
      records: [],
      findings: [],
      rowsRead: 0,
      complete: false,
    });
  });
});
