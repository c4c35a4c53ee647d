import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importCycles, layerViolations, readImportGraph } from "./import-graph.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the imports of src/", () => {
  const graph = readImportGraph(ROOT);

  it("reads the whole tree", () => {
    expect(graph.size).toBeGreaterThan(200);
    expect(graph.get("src/engine/apply.ts")).toContain("src/store/operation-repository.ts");
  });

  it("go only from a higher layer to a lower one (docs/architecture.md)", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("form no circle", () => {
    expect(importCycles(graph).map((cycle) => cycle.join(" → "))).toEqual([]);
  });
});

describe("the import checks", () => {
  it("find a circle and name its modules in order", () => {
    const graph = new Map([
      ["src/domain/a.ts", ["src/domain/b.ts"]],
      ["src/domain/b.ts", ["src/domain/c.ts"]],
      ["src/domain/c.ts", ["src/domain/a.ts", "src/shared/x.ts"]],
      ["src/shared/x.ts", []],
    ]);
    expect(importCycles(graph)).toEqual([
      ["src/domain/a.ts", "src/domain/b.ts", "src/domain/c.ts", "src/domain/a.ts"],
    ]);
  });

  it("find a module that imports itself", () => {
    expect(importCycles(new Map([["src/shared/x.ts", ["src/shared/x.ts"]]]))).toHaveLength(1);
  });

  it("find an import from a lower layer to a higher one, across peers, and into an unranked folder", () => {
    const graph = new Map([
      ["src/domain/plan.ts", ["src/policy/config-types.ts", "src/shared/ids.ts"]],
      ["src/store/a.ts", ["src/connectors/b.ts"]],
      ["src/engine/c.ts", ["src/mystery/d.ts", "src/store/a.ts"]],
    ]);
    expect(layerViolations(graph)).toEqual([
      "src/domain/plan.ts imports src/policy/config-types.ts (policy is a higher layer than domain)",
      "src/store/a.ts imports src/connectors/b.ts (connectors is a peer of store)",
      "src/engine/c.ts imports src/mystery/d.ts (mystery is no layer than engine)",
    ]);
  });
});
