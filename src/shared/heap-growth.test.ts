import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createHeapGrowthGuard } from "./heap-growth.js";

describe("boundedHeapGrowth", () => {
  it("sets the growth cap while any run holds it, and gives V8 its heuristic back after the last", async () => {
    const flags: string[] = [];
    const guard = createHeapGrowthGuard((f) => flags.push(f));
    let releaseFirst!: () => void;
    const first = guard(() => new Promise<string>((r) => (releaseFirst = () => r("first"))));
    expect(flags).toEqual(["--heap-growing-percent=50"]);
    // A second run while the first holds it: nothing set again, nothing given back at its end.
    await expect(guard(async () => "second", 30)).resolves.toBe("second");
    expect(flags).toEqual(["--heap-growing-percent=50"]);
    releaseFirst();
    await expect(first).resolves.toBe("first");
    expect(flags).toEqual(["--heap-growing-percent=50", "--heap-growing-percent=0"]);
  });

  it("gives the heuristic back when the run fails", async () => {
    const flags: string[] = [];
    const guard = createHeapGrowthGuard((f) => flags.push(f));
    await expect(guard(() => Promise.reject(new Error("bad row")))).rejects.toThrow("bad row");
    expect(flags).toEqual(["--heap-growing-percent=50", "--heap-growing-percent=0"]);
  });

  it("uses a flag this Node's V8 knows (an unknown one is a bad option at start)", () => {
    const r = spawnSync(process.execPath, ["--heap-growing-percent=50", "-e", "0"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
