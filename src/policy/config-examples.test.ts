import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config-loader.js";

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
    const hr = config.sources.hr!;
    const [header = "", ...rows] = (await readFile(hr.path, "utf8")).trimEnd().split("\n");
    const headers = header.split(",");
    for (const column of Object.values(hr.columns)) expect(headers).toContain(column);
    expect(rows).toHaveLength(12);
    expect(rows.some((row) => row.includes("Zoë,O'Brien-Łukasik"))).toBe(true);
  });
});
