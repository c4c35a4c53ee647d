/**
 * The README's install path, from an empty folder outside the repository: the package packed as
 * `npm pack` makes it (from the dist/ that `npm ci` built), installed with `npm install -g` under a
 * private prefix, and the installed `tenure` command run as a new user would. npm fetches the
 * dependencies from its cache or the registry; better-sqlite3's install script is allowed as the
 * README says.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/workspace.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

let dir: string;
let dispose: () => Promise<void>;
let tenure: string;

beforeAll(async () => {
  ({ dir, dispose } = await tempDir("tenure-install-"));
  if (!existsSync(path.join(ROOT, "dist/cli/main.js"))) {
    throw new Error("dist/cli/main.js is missing: npm ci (or npm run build) builds it");
  }
  await run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: ROOT });
  const tarball = (await readdir(dir)).find((f) => f.endsWith(".tgz"))!;
  const prefix = path.join(dir, "prefix");
  await run(
    "npm",
    [
      "install",
      "-g",
      "--prefix",
      prefix,
      `./${tarball}`,
      "--allow-scripts=better-sqlite3",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
    ],
    { cwd: dir, timeout: 280_000 },
  );
  tenure = path.join(prefix, "bin", "tenure");
}, 300_000);
afterAll(() => dispose());

describe("installing the tenure command from the packed package", () => {
  it("runs from an empty folder: version, init with runnable hints, validate and sync", async () => {
    const env = { ...process.env, TENURE_NOW: "" };
    expect((await run(tenure, ["--version"], { cwd: dir, env })).stdout.trim()).toBe("0.1.0");
    const init = await run(tenure, ["init", "my-org"], { cwd: dir, env });
    const org = path.join(dir, "my-org");
    // The hints name the installed command, never `npx tenure` or a path into a clone.
    const hints = init.stdout.split("\n").filter((l) => l.startsWith("  ") && !l.includes("cd "));
    expect(hints.length).toBeGreaterThan(0);
    for (const hint of hints) expect(hint).toMatch(/^ {2}tenure /);
    expect((await run(tenure, ["validate"], { cwd: org, env })).stdout).toContain("valid");
    const sync = await run(tenure, ["sync"], { cwd: org, env });
    expect(sync.stdout).toMatch(/created/);
  }, 120_000);
});
