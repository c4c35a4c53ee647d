import { execFileSync, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

let dir: string;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dir, dispose } = await tempDir("tenure-completion-"));
});
afterAll(() => dispose());

/** What bash offers after `tenure WORDS…` with the cursor on the last word. */
function bashComplete(script: string, words: string[]): string[] {
  const array = ["tenure", ...words].map((w) => `'${w}'`).join(" ");
  const out = execFileSync(
    "bash",
    [
      "-c",
      `source "${script}"; COMP_WORDS=(${array}); COMP_CWORD=${words.length}; _tenure; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: "utf8" },
  );
  return out.split("\n").filter((w) => w !== "");
}

describe("tenure completion", () => {
  it("bash: completes commands, subcommands and options from the program itself", async () => {
    const r = await runCli(["completion", "bash"]);
    expect(r.code).toBe(0);
    const script = path.join(dir, "tenure.bash");
    await writeFile(script, r.stdout);
    expect(bashComplete(script, ["sy"])).toEqual(["sync", "systems"]);
    expect(bashComplete(script, ["systems", ""])).toEqual(["test", "--help"]);
    expect(bashComplete(script, ["audit", ""])).toEqual(expect.arrayContaining(["log", "verify"]));
    expect(bashComplete(script, ["--json", "sync", "--d"])).toEqual(["--dry-run"]);
    expect(bashComplete(script, ["completion", ""])).toEqual(["--help"]);
  });

  it("zsh: the same table through compdef, and a script zsh can parse", async () => {
    const r = await runCli(["completion", "zsh"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#compdef tenure/);
    expect(r.stdout).toContain("compdef _tenure tenure");
    expect(r.stdout).toMatch(/ {2}'audit log' '[^']*--identity/);
    const zsh = spawnSync("zsh", ["-n"], { input: r.stdout });
    // zsh is not among the servers .ci/run installs; where it exists, the script must parse.
    if (zsh.error === undefined) expect(zsh.status).toBe(0);
  });

  it("an unknown shell is a usage error, exit 2", async () => {
    const r = await runCli(["completion", "fish"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"fish" is not a shell this knows; expected bash or zsh');
  });
});
