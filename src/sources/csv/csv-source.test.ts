import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CsvSourceConfig } from "../../policy/config-types.js";
import { defaultCsvSource } from "../../policy/sections/sources-section.js";
import { InvalidInputError } from "../../shared/errors.js";
import { readCsvSource } from "./index.js";

let dir: string;
let fileCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-csv-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(content: string | Buffer): Promise<string> {
  fileCount += 1;
  const path = join(dir, `export-${fileCount}.csv`);
  await writeFile(path, content);
  return path;
}

function config(path: string, overrides: Partial<CsvSourceConfig> = {}): CsvSourceConfig {
  return { ...defaultCsvSource("hr", path), ...overrides };
}

async function read(content: string | Buffer, overrides: Partial<CsvSourceConfig> = {}) {
  return readCsvSource(config(await file(content), overrides), { known: [] });
}

/** The InvalidInputError a read is rejected with; fails the test when the read succeeds. */
async function rejection(content: string | Buffer, overrides: Partial<CsvSourceConfig> = {}) {
  const path = await file(content);
  const error = await readCsvSource(config(path, overrides), { known: [] }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(InvalidInputError);
  const message = (error as InvalidInputError).message;
  expect(message).toContain(path);
  return message;
}

const HEADER = "employeeId,givenName,familyName,email,managerId,startDate";
const ZOE = "Zoë O'Brien-Łukasik";

describe("readCsvSource", () => {
  it("reads a UTF-8 file with a BOM, keeping names byte for byte", async () => {
    const path = await file(
      `\uFEFF${HEADER}\r\nE1,Zoë,O'Brien-Łukasik,zoe@example.com,,2026-01-05\r\nE2,Ada,Lovelace,ada@example.com,E1,\r\n`,
    );
    const result = await readCsvSource(config(path), { known: [] });
    expect(result).toMatchObject({ source: "hr", rowsRead: 2, complete: true, findings: [] });
    expect(result.records.map((r) => r.key)).toEqual(["E1", "E2"]);
    const zoe = result.records[0]!;
    // The BOM must not leak into the first header, or employeeId would not be found at all.
    expect(Object.keys(zoe.raw)[0]).toBe("employeeId");
    expect(zoe.attributes.displayName).toBe(ZOE);
    expect(Buffer.from(zoe.attributes.displayName, "utf8")).toEqual(Buffer.from(ZOE, "utf8"));
    expect((await readFile(path, "utf8")).includes(zoe.attributes.familyName)).toBe(true);
  });

  it("reads the same file without a BOM to the same records", async () => {
    const body = `${HEADER}\nE1,Zoë,O'Brien-Łukasik,zoe@example.com,,2026-01-05\n`;
    const [withBom, withoutBom] = await Promise.all([read(`\uFEFF${body}`), read(body)]);
    expect(withoutBom.records).toEqual(withBom.records);
    expect(withoutBom.records[0]!.attributes.displayName).toBe(ZOE);
  });

  it("keeps a name whose bytes straddle two read-stream chunks intact", async () => {
    // createReadStream reads 64 KiB chunks: pad so the two bytes of "ë" sit either side of byte 65,536.
    const start = `${HEADER}\nPAD,`;
    const end = ",Family,pad@example.com,,\nE1,Zo";
    const padding = "x".repeat(65_535 - Buffer.byteLength(start + end));
    const content = `${start}${padding}${end}ë,O'Brien-Łukasik,zoe@example.com,,\n`;
    expect(Buffer.from(content).indexOf(Buffer.from("ë"))).toBe(65_535);
    // The padding name is longer than the default limit of 1024 characters.
    const result = await read(content, { maxLength: { givenName: 70_000 } });
    expect(result.findings).toEqual([]);
    expect(result.records.at(-1)!.attributes.displayName).toBe(ZOE);
  });

  it("decodes UTF-16LE that starts with its byte order mark (csv-parse detects it)", async () => {
    const content = `${HEADER}\nE1,Zoë,O'Brien-Łukasik,zoe@example.com,,\n`;
    const result = await read(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(content, "utf16le")]));
    expect(result.findings).toEqual([]);
    expect(result.records[0]!.attributes.displayName).toBe(ZOE);
  });

  it("maps custom headers, a custom delimiter and a custom date format", async () => {
    const result = await read(
      [
        "Personnel No;First Name;Last Name;Mail;Boss;Hire Date;Kind",
        "100;Zoë;O'Brien-Łukasik;zoe@example.com;;05.01.2026;Contractor",
        "101;Ada;Lovelace;ada@example.com;100;31.12.2025;",
      ].join("\n"),
      {
        delimiter: ";",
        dateFormat: "DD.MM.YYYY",
        columns: {
          employeeId: "Personnel No",
          givenName: "First Name",
          familyName: "Last Name",
          email: "Mail",
          managerId: "Boss",
          startDate: "Hire Date",
          employmentType: "Kind",
        },
        defaults: { employmentType: "intern" },
      },
    );
    expect(result.findings).toEqual([]);
    expect(result.records.map((r) => r.attributes)).toMatchObject([
      {
        employeeId: "100",
        givenName: "Zoë",
        startDate: "2026-01-05",
        employmentType: "contractor",
        managerId: null,
      },
      {
        employeeId: "101",
        email: "ada@example.com",
        startDate: "2025-12-31",
        employmentType: "intern",
        managerId: "100",
      },
    ]);
    expect(result.records[0]!.raw["Personnel No"]).toBe("100");
  });

  it("treats a header-only file as a legal export of nobody", async () => {
    const result = await read(`${HEADER}\n`);
    expect(result).toEqual({
      source: "hr",
      records: [],
      findings: [],
      rowsRead: 0,
      complete: true,
      presentKeys: [],
    });
  });

  it("reports findings with data row and physical line, across quoted newlines, CRLF and blank lines", async () => {
    // Line breaks are refused in the values Tenure reads, so they sit in a column it does not read.
    const result = await read(
      [
        `${HEADER},notes`,
        'E1,Multi,Name,e1@example.com,,2026-01-05,"two\r\nlines"', // lines 2-3
        "", // line 4, skipped
        "E2,Bad,Date,e2@example.com,,2026-02-30,", // line 5
        'E3,Three,X,e3@example.com,,,"three\nlines\nhere"', // lines 6-8
        "E4,No,Mail,not-an-email,E404,,", // line 9
      ].join("\r\n"),
    );
    expect(result.rowsRead).toBe(4);
    expect(result.findings.map((f) => [f.code, f.row, f.line, f.key, f.severity])).toEqual([
      ["invalid_date", 2, 5, "E2", "error"],
      ["malformed_email", 4, 9, "E4", "error"],
      ["unknown_manager", 4, 9, "E4", "warning"],
    ]);
    expect(result.findings[0]!.message).toContain("Row 2 (line 5)");
    expect(result.records.map((r) => [r.key, r.row])).toEqual([
      ["E1", 1],
      ["E3", 3],
    ]);
    expect(result.records[0]!.raw.notes).toBe("two\r\nlines");
  });

  it("refuses a row with a NUL or control character in a value it reads, naming row, line and field, and reads the rest", async () => {
    const result = await read(
      [
        `${HEADER},notes`,
        "E1,Ada\u0000,Lovelace,ada@example.com,,,", // line 2
        'E2,"Gr\u001b]0;owned\u0007ace",Hopper,grace@example.com,,,', // line 3
        "E3,Zoë,O'Brien,zoe@example.com,,,\u0000 kept as received", // line 4: a column Tenure does not read
      ].join("\n"),
    );
    expect(result.findings.map((f) => [f.code, f.row, f.line, f.key, f.field])).toEqual([
      ["control_character", 1, 2, "E1", "givenName"],
      ["control_character", 2, 3, "E2", "givenName"],
    ]);
    expect(result.records.map((r) => r.key)).toEqual(["E3"]);
    expect(result.presentKeys).toEqual(["E1", "E2", "E3"]);
  });

  it("passes known identities and the correlation fallback to the data-quality checks", async () => {
    const path = await file(`${HEADER}\nNEW,Ada,Lovelace,ada@example.com,,\n`);
    const known = [{ sourceKey: "OLD", email: "ada@example.com", givenName: "Ada", familyName: "Lovelace" }];
    const strict = await readCsvSource(config(path), { known });
    expect(strict.findings).toEqual([
      expect.objectContaining({ code: "key_changed", severity: "error", line: 2 }),
    ]);
    expect(strict.records).toEqual([]);
    const lenient = await readCsvSource(config(path, { correlation: { fallback: "email" } }), { known });
    expect(lenient.findings).toEqual([expect.objectContaining({ code: "key_changed", severity: "warning" })]);
    expect(lenient.records.map((r) => r.key)).toEqual(["NEW"]);
  });

  it("reports progress every 1,000 rows and once at the end", async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) => `E${i},G,F,e${i}@example.com,,`);
    const path = await file(`${HEADER}\n${rows.join("\n")}\n`);
    const progress: number[] = [];
    const result = await readCsvSource(config(path), { known: [], onProgress: (n) => progress.push(n) });
    expect(result.rowsRead).toBe(2_500);
    expect(progress).toEqual([1_000, 2_000, 2_500]);
  });

  it("reads a generated 100,000-row export", async () => {
    const n = 100_000;
    const lines = [HEADER];
    for (let i = 0; i < n; i++) {
      lines.push(
        `E${i},Given${i},Family${i},p${i}@example.com,${i === 0 ? "" : `E${Math.floor(i / 2)}`},2020-01-01`,
      );
    }
    const path = await file(`${lines.join("\n")}\n`);
    let last = 0;
    const result = await readCsvSource(config(path), { known: [], onProgress: (count) => (last = count) });
    expect(result.rowsRead).toBe(n);
    expect(result.records).toHaveLength(n);
    expect(result.findings).toEqual([]);
    expect(result.records[n - 1]).toMatchObject({ key: `E${n - 1}`, row: n });
    expect(last).toBe(n);
  });

  describe("rejects the whole file", () => {
    it("when it does not exist", async () => {
      const path = join(dir, "missing.csv");
      await expect(readCsvSource(config(path), { known: [] })).rejects.toThrow(
        new InvalidInputError(`${path}: file does not exist`),
      );
    });

    it("when it is a directory", async () => {
      const path = join(dir, "a-directory.csv");
      await mkdir(path);
      await expect(readCsvSource(config(path), { known: [] })).rejects.toThrow(/is not a regular file/);
    });

    it("when it is zero bytes", async () => {
      expect(await rejection("")).toMatch(/file is empty \(0 bytes\)/);
    });

    it("when it holds no header row", async () => {
      expect(await rejection("\uFEFF\n\n")).toMatch(/has no header row/);
    });

    it("when a record has more fields than the header, naming the line", async () => {
      const message = await rejection(`${HEADER}\nE1,A,B,a@example.com,,\n\nE2,A,B,b@example.com,,,extra\n`);
      expect(message).toMatch(
        /: line 4: not a valid CSV file: this record has 7 fields but the header has 6/,
      );
    });

    it("when a record has fewer fields than the header", async () => {
      expect(await rejection(`${HEADER}\nE1,A\n`)).toMatch(/line 2: .*2 fields but the header has 6/);
    });

    it("when a quote is never closed, naming the line where the record starts", async () => {
      const message = await rejection(
        `${HEADER}\nE1,A,B,a@example.com,,\nE2,"A,B,b@example.com,,\nE3,A,B,c@example.com,,\n`,
      );
      expect(message).toMatch(/line 3: not a valid CSV file: a quoted field .* never closed/);
    });

    it("when a quote is misplaced", async () => {
      const message = await rejection(
        `${HEADER}\r\nE1,"A\r\nB",C,a@example.com,,\r\nE2,A"x,B,b@example.com,,\r\n`,
      );
      // Line 4, not 5: a CRLF inside a quoted field is one line, whatever csv-parse counts.
      expect(message).toMatch(/line 4: not a valid CSV file: a quote in the wrong place/);
    });

    it("when it is binary", async () => {
      const png = Buffer.from([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
      ]);
      expect(await rejection(png)).toMatch(/line 1: not a UTF-8 text file/);
    });

    it("when it is not UTF-8 (Latin-1 ë)", async () => {
      const latin1 = Buffer.concat([
        Buffer.from(`${HEADER}\nE1,Ada,Lovelace,a@example.com,,\nE2,Zo`),
        Buffer.from([0xeb]),
        Buffer.from(",Smith,z@example.com,,\n"),
      ]);
      expect(await rejection(latin1)).toMatch(/line 3: not a UTF-8 text file/);
    });

    it("when it is UTF-16 without a byte order mark", async () => {
      expect(await rejection(Buffer.from(`${HEADER}\nE1,A,B,,,\n`, "utf16le"))).toMatch(
        /line 1: not a UTF-8 text file/,
      );
    });

    it("when the key column is missing, listing the headers found", async () => {
      const message = await rejection("id,givenName,familyName\n1,A,B\n");
      expect(message).toMatch(
        /line 1: the header lacks column "employeeId" \(the key\); found "id", "givenName", "familyName"/,
      );
    });

    it("when a required column is missing", async () => {
      const message = await rejection("employeeId,givenName\nE1,A\n");
      expect(message).toContain('"familyName" (required)');
    });

    it("when a renamed required column is missing, naming column and attribute", async () => {
      const message = await rejection("ID,First,familyName\n1,A,B\n", {
        columns: { employeeId: "ID", givenName: "Given Name" },
      });
      expect(message).toContain('"Given Name" (givenName, required)');
    });

    it("when a column named in the mapping is missing, even an optional one", async () => {
      const message = await rejection(`${HEADER}\nE1,A,B,,,\n`, { columns: { department: "Dept" } });
      expect(message).toContain('"Dept" (department, mapped in columns)');
    });

    it("when the key is another attribute and its column is missing", async () => {
      const message = await rejection("employeeId,givenName,familyName\nE1,A,B\n", { key: "email" });
      expect(message).toContain('"email" (the key)');
    });

    it("when the delimiter is wrong, with a hint", async () => {
      const message = await rejection("employeeId;givenName;familyName\nE1;A;B\n");
      expect(message).toContain('is the delimiter "," right?');
    });

    it("when a header is duplicated or empty", async () => {
      expect(await rejection("employeeId,givenName,familyName,givenName\nE1,A,B,C\n")).toMatch(
        /names column "givenName" twice/,
      );
      expect(await rejection("employeeId,givenName,familyName,\nE1,A,B,\n")).toMatch(
        /column 4 of the header has no name/,
      );
    });

    it("when the dateFormat is unusable, naming the source", async () => {
      const path = await file(`${HEADER}\n`);
      await expect(readCsvSource(config(path, { dateFormat: "DD/MM" }), { known: [] })).rejects.toThrow(
        /source "hr": dateFormat "DD\/MM": a year token \(YYYY\) is missing/,
      );
    });
  });
});
