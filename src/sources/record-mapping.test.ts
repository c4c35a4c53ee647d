import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { InvalidInputError } from "../shared/errors.js";
import { compileDateFormat, createRecordMapper, type RecordMappingOptions } from "./record-mapping.js";

const base: RecordMappingOptions = {
  name: "hr",
  key: "employeeId",
  columns: {},
  defaults: {},
  dateFormat: "YYYY-MM-DD",
};

function map(
  raw: Record<string, string>,
  options: Partial<RecordMappingOptions> = {},
  row = 1,
  line?: number,
) {
  return createRecordMapper({ ...base, ...options })(raw, row, line);
}

describe("compileDateFormat", () => {
  it.each([
    ["YYYY-MM-DD", "2026-03-07", "2026-03-07"],
    ["DD/MM/YYYY", "07/03/2026", "2026-03-07"],
    ["MM/DD/YYYY", "03/07/2026", "2026-03-07"],
    ["DD.MM.YYYY", "07.03.2026", "2026-03-07"],
    ["M/D/YYYY", "3/7/2026", "2026-03-07"],
    ["M/D/YYYY", "12/31/2026", "2026-12-31"],
    ["D. M. YYYY", "7. 3. 2026", "2026-03-07"],
    ["YYYYMMDD", "20260307", "2026-03-07"],
  ])("%s reads %s as %s", (format, text, iso) => {
    expect(compileDateFormat(format)(text)).toBe(iso);
  });

  it.each([
    ["YYYY-MM-DD", "2026-02-30"], // no such day
    ["YYYY-MM-DD", "2025-02-29"], // not a leap year
    ["YYYY-MM-DD", "1900-02-29"], // century, not a leap year
    ["YYYY-MM-DD", "2026-04-31"],
    ["YYYY-MM-DD", "2026-13-01"],
    ["YYYY-MM-DD", "2026-00-10"],
    ["YYYY-MM-DD", "2026-01-00"],
    ["YYYY-MM-DD", "2026-3-7"], // MM and DD need two digits
    ["YYYY-MM-DD", "07/03/2026"], // another format is not guessed
    ["YYYY-MM-DD", "2026-03-07T00:00:00Z"],
    ["YYYY-MM-DD", " 2026-03-07"],
    ["DD/MM/YYYY", "2026-03-07"],
    ["DD.MM.YYYY", "07-03-2026"], // the separator is literal, "." is not "any character"
    ["M/D/YYYY", "123/7/2026"],
  ])("%s rejects %s", (format, text) => {
    expect(compileDateFormat(format)(text)).toBeNull();
  });

  it("accepts 29 February in leap years only", () => {
    const parse = compileDateFormat("DD/MM/YYYY");
    expect(parse("29/02/2024")).toBe("2024-02-29");
    expect(parse("29/02/2000")).toBe("2000-02-29");
    expect(parse("29/02/2026")).toBeNull();
  });

  it.each(["YYYY-MM", "MM-DD", "YYYY-MM-DD-DD", "YY-MM-DD", "YYYYMD", "DD/MM/YYYY YYYY"])(
    "refuses the unusable format %s",
    (format) => {
      expect(() => compileDateFormat(format)).toThrow(InvalidInputError);
    },
  );

  it("round-trips every real date through every supported layout", () => {
    const layouts: [string, (y: string, m: string, d: string) => string][] = [
      ["YYYY-MM-DD", (y, m, d) => `${y}-${m}-${d}`],
      ["DD/MM/YYYY", (y, m, d) => `${d}/${m}/${y}`],
      ["MM/DD/YYYY", (y, m, d) => `${m}/${d}/${y}`],
      ["DD.MM.YYYY", (y, m, d) => `${d}.${m}.${y}`],
      ["M/D/YYYY", (y, m, d) => `${Number(m)}/${Number(d)}/${y}`],
    ];
    const parsers = layouts.map(([format, write]) => [compileDateFormat(format), write] as const);
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1900-01-01"), max: new Date("2199-12-31"), noInvalidDate: true }),
        (date) => {
          const iso = date.toISOString().slice(0, 10);
          const [y, m, d] = iso.split("-") as [string, string, string];
          for (const [parse, write] of parsers) expect(parse(write(y, m, d))).toBe(iso);
        },
      ),
    );
  });
});

describe("createRecordMapper", () => {
  it("reads attributes from columns of their own name, trims cells and turns empty cells into null", () => {
    const c = map({
      employeeId: " E1 ",
      givenName: "Ada",
      familyName: "Lovelace",
      email: "",
      department: "  ",
      title: "Engineer",
      startDate: "2026-01-05",
      unrelated: "ignored",
    });
    expect(c.key).toBe("E1");
    expect(c.attributes).toEqual(workerAttributes({ email: null, department: null }));
    expect(c.findings).toEqual([]);
    expect(c.raw.unrelated).toBe("ignored");
  });

  it("reads mapped attributes from the configured headers, and only from them", () => {
    const c = map(
      {
        "Personnel No": "7",
        "First Name": "Zoë",
        "Last Name": "O'Brien-Łukasik",
        givenName: "wrong column",
        Mail: "zoe@example.com",
        "Hire Date": "05/01/2026",
      },
      {
        columns: {
          employeeId: "Personnel No",
          givenName: "First Name",
          familyName: "Last Name",
          email: "Mail",
          startDate: "Hire Date",
        },
        dateFormat: "DD/MM/YYYY",
      },
    );
    expect(c.attributes.employeeId).toBe("7");
    expect(c.attributes.givenName).toBe("Zoë");
    expect(c.attributes.familyName).toBe("O'Brien-Łukasik");
    expect(c.attributes.displayName).toBe("Zoë O'Brien-Łukasik");
    expect(c.attributes.email).toBe("zoe@example.com");
    expect(c.attributes.startDate).toBe("2026-01-05");
  });

  it("uses the configured key attribute as the row key", () => {
    const c = map({ employeeId: "E1", email: "a@example.com" }, { key: "email" });
    expect(c.key).toBe("a@example.com");
  });

  it("keeps a displayName that is given", () => {
    expect(
      map({ givenName: "Robert", familyName: "Smith", displayName: "Bob Smith" }).attributes.displayName,
    ).toBe("Bob Smith");
  });

  it("leaves displayName empty when a name part is missing, so missing_required can report it", () => {
    expect(map({ givenName: "Robert" }).attributes.displayName).toBeNull();
  });

  it("accepts employmentType and status in any case and normalises them to lower case", () => {
    const c = map({ employmentType: "Contractor", status: "TERMINATED" });
    expect(c.attributes.employmentType).toBe("contractor");
    expect(c.attributes.status).toBe("terminated");
    expect(c.findings).toEqual([]);
  });

  it("uses the source defaults, then employee / active, when the column is absent or empty", () => {
    expect(map({}, { defaults: { employmentType: "intern", status: "leave" } }).attributes).toMatchObject({
      employmentType: "intern",
      status: "leave",
    });
    expect(map({ employmentType: " ", status: "" }).attributes).toMatchObject({
      employmentType: "employee",
      status: "active",
    });
  });

  it("reports a value outside the allowed list as invalid_value instead of falling back to the default", () => {
    const c = map(
      { employeeId: "E1", employmentType: "full-time", status: "retired" },
      { defaults: { employmentType: "employee" } },
      4,
      5,
    );
    expect(c.attributes.employmentType).toBeNull();
    expect(c.attributes.status).toBeNull();
    expect(c.findings).toEqual([
      expect.objectContaining({
        code: "invalid_value",
        severity: "error",
        row: 4,
        line: 5,
        key: "E1",
        field: "employmentType",
      }),
      expect.objectContaining({ code: "invalid_value", severity: "error", row: 4, field: "status" }),
    ]);
    expect(c.findings[0]!.message).toContain('"full-time"');
    expect(c.findings[0]!.message).toContain("employee, contractor, intern");
    expect(c.findings[0]!.message).toContain("Row 4 (line 5)");
  });

  it("reports an unparseable date as invalid_date naming the field, the value and the expected format", () => {
    const c = map(
      { employeeId: "E1", "Leave Date": "2026-02-30", startDate: "2026-01-05" },
      { columns: { terminationDate: "Leave Date" } },
      2,
    );
    expect(c.attributes.terminationDate).toBeNull();
    expect(c.attributes.startDate).toBe("2026-01-05");
    expect(c.findings).toHaveLength(1);
    const f = c.findings[0]!;
    expect(f).toMatchObject({
      code: "invalid_date",
      severity: "error",
      row: 2,
      key: "E1",
      field: "terminationDate",
    });
    expect(f.line).toBeUndefined();
    expect(f.message).toContain('terminationDate (column "Leave Date")');
    expect(f.message).toContain('"2026-02-30"');
    expect(f.message).toContain("YYYY-MM-DD");
  });

  it("does not read inherited properties as columns", () => {
    const c = map({ employeeId: "E1" }, { columns: { department: "constructor" } });
    expect(c.attributes.department).toBeNull();
  });

  it("refuses an unusable dateFormat when the mapper is created", () => {
    expect(() => createRecordMapper({ ...base, dateFormat: "MM/YYYY" })).toThrow(
      /dateFormat "MM\/YYYY": a day token \(DD or D\) is missing/,
    );
  });
});
