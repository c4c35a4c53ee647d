import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VITEST = fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url));

describe("the skip summary reporter", () => {
  it("names every skipped test, with the reason it gave, after the run's counts", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [VITEST, "run", "--config", "test/reporters/fixtures/vitest.fixture.config.ts"],
      { cwd: ROOT, env: { ...process.env, CI: "", FORCE_COLOR: "0", NO_COLOR: "1" } },
    );
    expect(stdout).toMatch(/Tests\s+1 passed \| 2 skipped \(3\)/);
    expect(stdout).toContain("2 skipped tests:");
    expect(stdout).toContain(
      "  - test/reporters/fixtures/skips.fixture.ts > a suite > is skipped with it.skip\n",
    );
    expect(stdout).toContain(
      "  - test/reporters/fixtures/skips.fixture.ts > a suite > skips itself for a missing server (no server on 127.0.0.1:5432)\n",
    );
  });
});
