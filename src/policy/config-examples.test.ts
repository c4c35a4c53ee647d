import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig, validateConfigText } from "./config-loader.js";
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

// Every example that configures a system must load as written: a reader copies them.
const connectorDocs = await readFile(
  fileURLToPath(new URL("../../docs/connectors.md", import.meta.url)),
  "utf8",
);

describe("docs/connectors.md", () => {
  const text = connectorDocs;
  const examples = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((yaml) => yaml.startsWith("systems:"));

  it("has an example for every connector type", async () => {
    const { CONNECTOR_TYPES } = await import("../connectors/connector-registry.js");
    const used = new Set(
      examples.flatMap((yaml) => [...yaml.matchAll(/connector: (\w+)/g)].map((m) => m[1])),
    );
    expect([...used].sort()).toEqual(Object.keys(CONNECTOR_TYPES).sort());
  });

  it.each(examples.map((yaml) => [yaml.split("\n")[1]?.trim(), yaml]))("%s loads", async (_name, yaml) => {
    const dir = await mkdtemp(join(tmpdir(), "tenure-doc-example-"));
    try {
      // Secrets referenced as ${env:NAME} get a value; ${file:PATH} ones (files on the reader's machine)
      // are read from the environment instead.
      const text = yaml.replace(/\$\{file:[^}]+\}/g, ["$", "{env:FILE_SECRET}"].join(""));
      const names = [...text.matchAll(/\$\{env:(\w+)\}/g)].map((m) => m[1]!);
      const env = Object.fromEntries(names.map((name) => [name, "an-example-secret-of-32-characters"]));
      const { errors } = await validateConfigText(text, { path: join(dir, "tenure.yaml"), env });
      expect(errors).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
