import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

const NOW = { TENURE_NOW: "2026-11-21T10:00:00Z" };

describe("tenure CLI output cannot be driven by HR data", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-cli-escape-"));
    expect((await runCli(["init", dir])).code).toBe(0);
  });
  afterAll(() => dispose());

  it("an error quoting a CSV header shows its escape sequence, not runs it", async () => {
    await writeFile(
      path.join(dir, "hr.csv"),
      "\u001b]0;pwned\u0007id\u001b[2J,givenName,familyName\nE1,A,B\n",
    );
    const sync = await runCli(["sync"], { cwd: dir, env: NOW });
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('found "\\x1B]0;pwned\\x07id\\x1B[2J", "givenName", "familyName"');
    expect(sync.stderr).not.toContain("\u001b");
  });

  it("a refused row is reported with its row, line and field, and nobody present is terminated", async () => {
    const config = await readFile(path.join(dir, "tenure.yaml"), "utf8");
    await writeFile(
      path.join(dir, "tenure.yaml"),
      config.replace("missingMeans: ignore", "missingMeans: terminate"),
    );
    const header = "Employee ID,First Name,Last Name,Work Email,Manager ID";
    await writeFile(path.join(dir, "hr.csv"), `${header}\nE1,Ada,Lovelace,ada@example.test,\n`);
    expect((await runCli(["sync"], { cwd: dir, env: NOW })).code).toBe(0);
    await writeFile(
      path.join(dir, "hr.csv"),
      `${header}\nE1,Ada\u0000\u001b[8m,Lovelace,ada@example.test,\n`,
    );
    const sync = await runCli(["sync"], { cwd: dir, env: NOW });
    expect(sync.code, sync.stderr).toBe(0);
    const out = sync.stdout + sync.stderr;
    expect(out).toContain("Row 1 (line 2)");
    expect(out).toContain('givenName (column "First Name") contains the control character U+0000');
    expect(out).not.toContain("\u001b");
    const list = JSON.parse((await runCli(["identities", "list", "--json"], { cwd: dir, env: NOW })).stdout);
    expect(list.identities.map((i: { sourceKey: string; state: string }) => [i.sourceKey, i.state])).toEqual([
      ["E1", "active"],
    ]);
  });
});
