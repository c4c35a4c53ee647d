import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config-loader.js";
import type { CsvSourceConfig } from "./config-types.js";

// `tenure init` copies this example, so it must always load.
const EXAMPLE = fileURLToPath(new URL("../../examples/basic/tenure.yaml", import.meta.url));

describe("examples/basic", () => {
  it("loads without errors, with the hr source reading ./hr.csv in Europe/London", async () => {
    const config = await loadConfig(EXAMPLE, { env: {} });
    const hr = config.sources.hr;
    expect(hr).toMatchObject({
      name: "hr",
      type: "csv",
      path: fileURLToPath(new URL("../../examples/basic/hr.csv", import.meta.url)),
      timeZone: "Europe/London",
      dateFormat: "DD/MM/YYYY",
    });
    expect(config.database).toBe(
      `sqlite:${fileURLToPath(new URL("../../examples/basic/tenure.db", import.meta.url))}`,
    );
  });

  it("has an hr.csv with every header the mapping names and a row for each person", async () => {
    const config = await loadConfig(EXAMPLE, { env: {} });
    const hr = config.sources.hr as CsvSourceConfig;
    const [header = "", ...rows] = (await readFile(hr.path, "utf8")).trimEnd().split("\n");
    const headers = header.split(",");
    for (const column of Object.values(hr.columns)) expect(headers).toContain(column);
    expect(rows).toHaveLength(12);
    expect(rows.some((row) => row.includes("Zoë,O'Brien-Łukasik"))).toBe(true);
  });
});

describe("docs/configuration.md", () => {
  it("has a full example that loads, policy sections included", async () => {
    const doc = await readFile(
      fileURLToPath(new URL("../../docs/configuration.md", import.meta.url)),
      "utf8",
    );
    const section = doc.slice(doc.indexOf("## Full example"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), "tenure-doc-"));
    try {
      const file = join(dir, "tenure.yaml");
      await writeFile(file, yaml ?? "");
      const config = await loadConfig(file, { env: { TENURE_DB_PASSWORD: "x", DEPLOY_DB_PASSWORD: "y" } });
      expect(Object.keys(config.policy.systems)).toEqual(["wiki", "deploy"]);
      expect(Object.keys(config.policy.roles)).toEqual(["employee", "engineer", "deploy-admin"]);
      expect(config.policy.roles.engineer?.includes).toEqual(["employee"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
