// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} and ${file:…} are literal references, not template placeholders.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_REQUEST_SETTINGS } from "../domain/request-policy.js";
import { InvalidInputError } from "../shared/errors.js";
import { type ConfigIssue, loadConfig, validateConfigFile } from "./config-loader.js";
import { EMPTY_POLICY, EMPTY_REVIEW_POLICY } from "./config-schema.js";
import type { CsvSourceConfig } from "./config-types.js";
import { DEFAULT_LIFECYCLE } from "./sections/lifecycle-section.js";
import { DEFAULT_SERVER } from "./sections/server-section.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-config-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes tenure.yaml (lines joined, so line numbers in assertions can be read off the array). */
async function writeConfig(lines: string[], name = "tenure.yaml"): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

async function errorsOf(lines: string[], env: NodeJS.ProcessEnv = {}): Promise<ConfigIssue[]> {
  const file = await writeConfig(lines);
  const { config, errors } = await validateConfigFile(file, { env });
  expect(config).toBeUndefined();
  return [...errors];
}

const minimalSource = ["sources:", "  hr:", "    type: csv", "    path: ./hr.csv"];

describe("validateConfigFile: where and what", () => {
  it("reports a YAML syntax error at its line and column, and nothing else", async () => {
    const errors = await errorsOf(["sources:", "  hr:", "    type: csv", "\tpath: ./hr.csv"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 4, column: 1, path: "" });
    expect(errors[0]?.message).toMatch(/^YAML syntax error: .*[Tt]ab/);
  });

  it("explains that a value ending in a colon must be quoted", async () => {
    const errors = await errorsOf(["database: sqlite::memory:"]);
    expect(errors[0]).toMatchObject({ line: 1, path: "" });
    expect(errors[0]?.message).toContain('must be quoted, e.g. database: "sqlite::memory:"');
  });

  it("reports a duplicate key as a syntax error on the second occurrence", async () => {
    const errors = await errorsOf(["database: sqlite:./a.db", "database: sqlite:./b.db"]);
    expect(errors).toEqual([
      expect.objectContaining({ line: 2, column: 1, message: expect.stringMatching(/unique/) }),
    ]);
  });

  it("points an unknown key at the key itself and suggests the nearest known key", async () => {
    const errors = await errorsOf([...minimalSource, "    missingMean: terminate"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 5,
        column: 5,
        path: "sources.hr.missingMean",
        message: "unknown key 'missingMean' — did you mean 'missingMeans'?",
      }),
    ]);
  });

  it("lists the known keys when no key is near", async () => {
    const errors = await errorsOf(["lifecycle:", "  frobnicate: 3"]);
    expect(errors[0]?.message).toBe(
      "unknown key 'frobnicate' — expected one of: prehireDays, moverGraceDays, deleteAfterDays, contractorWarningDays, leaver, massChangeThreshold",
    );
  });

  it("checks the nhi section like any other, now that it is supported", async () => {
    const errors = await errorsOf(["nhi:", "  owners: []"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 2,
        column: 3,
        path: "nhi.owners",
        message: expect.stringMatching(/^unknown key 'owners'/),
      }),
    ]);
  });

  it("reports a wrong type at the value, saying what was expected and found", async () => {
    const errors = await errorsOf(["lifecycle:", "  prehireDays: seven"]);
    expect(errors).toEqual([
      {
        file: join(dir, "tenure.yaml"),
        line: 2,
        column: 16,
        path: "lifecycle.prehireDays",
        message: 'expected a whole number of days (0 or more), found "seven"',
      },
    ]);
  });

  it("reports a bad enum value with the allowed values and a suggestion", async () => {
    const errors = await errorsOf([...minimalSource, "    missingMeans: terminat"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 5,
        column: 19,
        path: "sources.hr.missingMeans",
        message: 'expected one of "ignore", "terminate", found "terminat" — did you mean "terminate"?',
      }),
    ]);
  });

  it("rejects a time zone Intl does not know", async () => {
    const errors = await errorsOf([...minimalSource, "    timeZone: Europe/Londn"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 5,
        column: 15,
        path: "sources.hr.timeZone",
        message: 'expected an IANA time zone such as UTC or Europe/London, found "Europe/Londn"',
      }),
    ]);
  });

  it("points a missing required key at the map that lacks it", async () => {
    const errors = await errorsOf(["sources:", "  hr:", "    type: csv", "    timeZone: UTC"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 3,
        column: 5,
        path: "sources.hr.path",
        message: "missing required key 'path'",
      }),
    ]);
  });

  it("points a missing or unknown source type at the map or the value", async () => {
    const errors = await errorsOf(["sources:", "  hr:", "    path: ./hr.csv", "  ldap:", "    type: ldif"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 3,
        column: 5,
        path: "sources.hr.type",
        message: `missing required key 'type' (one of "csv", "push")`,
      }),
      expect.objectContaining({
        line: 5,
        column: 11,
        path: "sources.ldap.type",
        message: `expected one of "csv", "push", found "ldif"`,
      }),
    ]);
  });

  it("rejects a source name that is not lowercase, at the name", async () => {
    const errors = await errorsOf(["sources:", "  HR Export:", "    type: csv", "    path: ./hr.csv"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 2,
        column: 3,
        path: 'sources["HR Export"]',
        message: expect.stringMatching(
          /^invalid name 'HR Export': a source name starts with a lowercase letter/,
        ),
      }),
    ]);
  });

  it("reports every problem of the file at once, in file order", async () => {
    const errors = await errorsOf([
      "database: mysql://localhost/tenure",
      "sources:",
      "  hr:",
      "    type: csv",
      "    path: ./hr.csv",
      "    key: emial",
      "    columns:",
      "      email: Work Email",
      "      mail: Mail",
      "    dateFormat: DD/MM/YY",
      '    delimiter: ";;"',
      "    timeZone: Mars/Olympus",
      "lifecycle:",
      "  deleteAfterDays: -1",
      "  moverGraceDays: 1.5",
      "  massChangeThreshold:",
      "    percent: 120",
      "  leaver:",
      "    revoke: everything",
    ]);
    expect(errors.map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual([
      "1:11 database",
      "6:10 sources.hr.key",
      "9:7 sources.hr.columns.mail",
      "10:17 sources.hr.dateFormat",
      "11:16 sources.hr.delimiter",
      "12:15 sources.hr.timeZone",
      "14:20 lifecycle.deleteAfterDays",
      "15:19 lifecycle.moverGraceDays",
      "17:14 lifecycle.massChangeThreshold.percent",
      "19:13 lifecycle.leaver.revoke",
    ]);
    const byPath = new Map(errors.map((e) => [e.path, e.message]));
    expect(byPath.get("sources.hr.key")).toMatch(/did you mean "email"\?$/);
    expect(byPath.get("sources.hr.columns.mail")).toBe("unknown key 'mail' — did you mean 'email'?");
    expect(byPath.get("sources.hr.dateFormat")).toMatch(/YYYY/);
    expect(byPath.get("sources.hr.delimiter")).toBe('expected exactly one character, found ";;"');
    expect(byPath.get("lifecycle.massChangeThreshold.percent")).toBe(
      "expected a percentage from 0 to 100, found 120",
    );
  });

  it("treats an empty value as a wrong type, pointing at its key", async () => {
    const errors = await errorsOf([...minimalSource, "    timeZone:"]);
    expect(errors).toEqual([
      expect.objectContaining({ line: 5, column: 5, message: "expected a string, found an empty value" }),
    ]);
  });

  it("requires the document to be a mapping", async () => {
    const errors = await errorsOf(["- database: sqlite:./tenure.db"]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 1,
        column: 1,
        path: "",
        message: expect.stringMatching(/^expected a mapping/),
      }),
    ]);
  });
});

describe("loadConfig", () => {
  it("applies every default to a minimal file", async () => {
    const file = await writeConfig(minimalSource);
    const config = await loadConfig(file, { env: {} });
    expect(config).toEqual({
      path: file,
      baseDir: dir,
      database: `sqlite:${join(dir, "tenure.db")}`,
      sources: {
        hr: {
          name: "hr",
          type: "csv",
          path: join(dir, "hr.csv"),
          key: "employeeId",
          columns: {},
          dateFormat: "YYYY-MM-DD",
          timeZone: "UTC",
          delimiter: ",",
          missingMeans: "ignore",
          correlation: { fallback: "none" },
          defaults: {},
        },
      },
      lifecycle: DEFAULT_LIFECYCLE,
      policy: EMPTY_POLICY,
      requests: { ...DEFAULT_REQUEST_SETTINGS, workflows: {} },
      reviews: EMPTY_REVIEW_POLICY,
      server: DEFAULT_SERVER,
    });
  });

  it("accepts an empty file as all defaults with no sources", async () => {
    const config = await loadConfig(await writeConfig(["# nothing yet"]), { env: {} });
    expect(config.sources).toEqual({});
    expect(config.lifecycle.deleteAfterDays).toBe(30);
  });

  it("keeps values that are given and fills in the rest of a partly written object", async () => {
    const file = await writeConfig([
      ...minimalSource,
      "    columns: { employeeId: Employee ID, email: Work Email }",
      "    defaults: { employmentType: contractor }",
      "lifecycle:",
      "  massChangeThreshold:",
      "    percent: 2.5",
    ]);
    const config = await loadConfig(file, { env: {} });
    expect(config.sources.hr?.columns).toEqual({ employeeId: "Employee ID", email: "Work Email" });
    expect(config.sources.hr?.defaults).toEqual({ employmentType: "contractor" });
    expect(config.lifecycle.massChangeThreshold).toEqual({ percent: 2.5, minimum: 5 });
  });

  it("returns a deeply frozen config", async () => {
    const config = await loadConfig(await writeConfig([...minimalSource, "    columns: { email: Mail }"]), {
      env: {},
    });
    const hr = config.sources.hr!;
    for (const part of [
      config,
      config.sources,
      hr,
      hr.columns,
      hr.correlation,
      hr.defaults,
      config.lifecycle,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(Object.isFrozen(config.lifecycle.massChangeThreshold)).toBe(true);
    expect(() => {
      (config as { database: string }).database = "sqlite::memory:";
    }).toThrow(TypeError);
    expect(() => {
      (hr.columns as Record<string, string>).email = "other";
    }).toThrow(TypeError);
  });

  it("resolves relative paths against the config file's folder, not the working directory", async () => {
    await mkdir(join(dir, "conf"));
    const file = await writeConfig(
      [
        "database: sqlite:../state/tenure.db",
        "sources:",
        "  hr:",
        "    type: csv",
        "    path: exports/hr.csv",
        "  payroll:",
        "    type: csv",
        "    path: /srv/exports/payroll.csv",
      ],
      "conf/tenure.yaml",
    );
    const config = await loadConfig(file, { env: {} });
    expect(config.baseDir).toBe(join(dir, "conf"));
    expect(config.database).toBe(`sqlite:${join(dir, "state", "tenure.db")}`);
    expect((config.sources.hr as CsvSourceConfig).path).toBe(join(dir, "conf", "exports", "hr.csv"));
    expect((config.sources.payroll as CsvSourceConfig).path).toBe("/srv/exports/payroll.csv");
  });

  it("keeps sqlite::memory:, absolute sqlite paths and PostgreSQL URLs as written", async () => {
    for (const database of [
      "sqlite::memory:",
      "sqlite:/var/lib/tenure/tenure.db",
      "postgres://tenure@db:5432/tenure",
    ]) {
      const config = await loadConfig(await writeConfig([`database: "${database}"`]), { env: {} });
      expect(config.database).toBe(database);
    }
  });

  it("throws InvalidInputError listing every issue as file:line:col: path: message", async () => {
    const file = await writeConfig([
      ...minimalSource,
      "    timeZone: Nowhere",
      "lifecycle:",
      "  prehireDays: x",
    ]);
    const error = await loadConfig(file, { env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    const { message, details } = error as InvalidInputError;
    expect(details).toEqual([
      `${file}:5:15: sources.hr.timeZone: expected an IANA time zone such as UTC or Europe/London, found "Nowhere"`,
      `${file}:7:16: lifecycle.prehireDays: expected a whole number of days (0 or more), found "x"`,
    ]);
    for (const line of details) expect(message).toContain(line);
    expect(message).toContain("2 problems");
  });

  it("names the path and suggests tenure init when the file does not exist", async () => {
    const missing = join(dir, "nope", "tenure.yaml");
    const error = await loadConfig(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain("tenure init");
    await expect(validateConfigFile(missing)).rejects.toThrow(/tenure init/);
  });
});

describe("YAML features", () => {
  it("follows anchors and aliases, and reports problems at the anchored node", async () => {
    const file = await writeConfig([
      "sources:",
      "  hr: &csv",
      "    type: csv",
      "    path: ./hr.csv",
      "    timeZone: Europe/Berlin",
      "  payroll: *csv",
    ]);
    const config = await loadConfig(file, { env: {} });
    expect(config.sources.payroll).toMatchObject({ name: "payroll", timeZone: "Europe/Berlin" });

    const errors = await errorsOf([
      "sources:",
      "  hr: &csv",
      "    type: csv",
      "    path: ./hr.csv",
      "    timeZone: Nowhere",
      "  payroll: *csv",
    ]);
    expect(errors.map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual([
      "5:15 sources.hr.timeZone",
      "5:15 sources.payroll.timeZone",
    ]);
  });

  it("refuses an alias bomb instead of expanding it", async () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 8; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(
        `${next}: &${next} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
      );
    }
    const errors = await errorsOf(lines);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/alias/i);
  });
});
