import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig, validateConfigFile } from "../config-loader.js";
import { defaultPushSource } from "./sources-section.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-sources-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(lines: string[]): Promise<string> {
  const file = join(dir, "tenure.yaml");
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

describe("sources: type push", () => {
  it("takes the mapping keys of csv with their defaults, and no file keys", async () => {
    const config = await loadConfig(
      await write([
        "sources:",
        "  workday:",
        "    type: push",
        "    key: email",
        "    columns: { givenName: first_name, familyName: last_name }",
        "    dateFormat: DD/MM/YYYY",
        "    timeZone: Europe/Paris",
      ]),
      { env: {} },
    );
    expect(config.sources.workday).toEqual({
      name: "workday",
      type: "push",
      key: "email",
      columns: { givenName: "first_name", familyName: "last_name" },
      dateFormat: "DD/MM/YYYY",
      timeZone: "Europe/Paris",
      correlation: { fallback: "none" },
      defaults: {},
    });
    expect(defaultPushSource("hr")).toEqual({
      name: "hr",
      type: "push",
      key: "employeeId",
      columns: {},
      dateFormat: "YYYY-MM-DD",
      timeZone: "UTC",
      correlation: { fallback: "none" },
      defaults: {},
    });
  });

  it("refuses path, delimiter and missingMeans at their line: a push is no file and never complete", async () => {
    const { config, errors } = await validateConfigFile(
      await write([
        "sources:",
        "  hr:",
        "    type: push",
        "    path: ./hr.csv",
        "    delimiter: ';'",
        "    missingMeans: terminate",
        "    dateFormat: yyyy-mm-dd",
      ]),
      { env: {} },
    );
    expect(config).toBeUndefined();
    expect(errors.map((e) => [e.line, e.path])).toEqual([
      [4, "sources.hr.path"],
      [5, "sources.hr.delimiter"],
      [6, "sources.hr.missingMeans"],
      [7, "sources.hr.dateFormat"],
    ]);
    expect(errors[0]?.message).toMatch(/unknown key/);
  });
});

describe("sources: maxLength", () => {
  it("takes limits per attribute, for keys and by default; absent, the built-in limits apply", async () => {
    const config = await loadConfig(
      await write([
        "sources:",
        "  hr:",
        "    type: csv",
        "    path: hr.csv",
        "    maxLength: { default: 200, key: 64, title: 500 }",
        "  push:",
        "    type: push",
      ]),
      { env: {} },
    );
    expect(config.sources.hr?.maxLength).toEqual({ default: 200, key: 64, title: 500 });
    expect(config.sources.push?.maxLength).toBeUndefined();
  });

  it("refuses a limit that is not a whole number from 1 to 1000000, or an unknown attribute, at its line", async () => {
    const { config, errors } = await validateConfigFile(
      await write([
        "sources:",
        "  hr:",
        "    type: csv",
        "    path: hr.csv",
        "    maxLength:",
        "      default: 0",
        "      key: 2.5",
        "      title: 2000000",
        "      jobTitle: 10",
      ]),
      { env: {} },
    );
    expect(config).toBeUndefined();
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [6, "sources.hr.maxLength.default", "expected at least 1 character, found 0"],
      [7, "sources.hr.maxLength.key", "expected a whole number of characters, found 2.5"],
      [
        8,
        "sources.hr.maxLength.title",
        "expected at most 1000000 characters (a CSV record holds at most that), found 2000000",
      ],
      [9, "sources.hr.maxLength.jobTitle", expect.stringMatching(/unknown key/)],
    ]);
  });
});
