import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EMPTY_POLICY } from "../../src/policy/config-schema.js";
import type { CsvSourceConfig, TenureConfig } from "../../src/policy/config-types.js";
import { DEFAULT_LIFECYCLE } from "../../src/policy/sections/lifecycle-section.js";
import { DEFAULT_SERVER } from "../../src/policy/sections/server-section.js";
import { defaultCsvSource } from "../../src/policy/sections/sources-section.js";

/** A temporary folder for one test, removed by `dispose`. */
export async function tempDir(
  prefix = "tenure-test-",
): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export const HR_HEADER =
  "employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate";

/** Writes an HR CSV from header-less rows (the HR_HEADER columns) and returns its path. */
export async function writeHrCsv(dir: string, rows: string[], name = "hr.csv"): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `${[HR_HEADER, ...rows].join("\n")}\n`);
  return file;
}

/** A validated-looking config built in code, for engine tests that do not exercise the loader. */
export function testConfig(
  dir: string,
  source: Partial<CsvSourceConfig> = {},
  database = "sqlite::memory:",
): TenureConfig {
  const hr: CsvSourceConfig = { ...defaultCsvSource("hr", path.join(dir, "hr.csv")), ...source };
  return {
    path: path.join(dir, "tenure.yaml"),
    baseDir: dir,
    database,
    sources: { hr },
    lifecycle: DEFAULT_LIFECYCLE,
    policy: EMPTY_POLICY,
    server: DEFAULT_SERVER,
  };
}
