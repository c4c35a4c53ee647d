import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

const exec = promisify(execFile);

/**
 * `tenure evidence` on the workspace `tenure init` makes, after a sync: the pack's files, its index by
 * control, the configuration in force with its hash, the ledger's head, and a manifest `sha256sum -c`
 * (the real tool) accepts — and rejects once a report is edited.
 */
describe("tenure evidence", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  const env = { TENURE_NOW: "2026-11-21T10:00:00Z" };

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-evidence-"));
    expect((await runCli(["init", dir])).code).toBe(0);
    const sync = await runCli(["sync"], { cwd: dir, env });
    expect(sync.code, sync.stderr).toBe(0);
  }, 60_000);
  afterAll(() => dispose());

  it("writes every report, the ledger's verification, the configuration in force, an index and a manifest", async () => {
    const out = path.join(dir, "q4");
    const run = await runCli(["evidence", "--period", "2026-Q4", "--out", out, "--json"], { cwd: dir, env });
    expect(run.code, run.stderr).toBe(0);
    const pack = JSON.parse(run.stdout);
    expect(pack.period).toEqual({
      label: "2026-Q4",
      from: "2026-10-01T00:00:00.000Z",
      to: "2027-01-01T00:00:00.000Z",
    });
    expect(pack.ledger).toMatchObject({ ok: true, problem: null });
    expect(pack.publishedHeads).toEqual({ ok: true, checked: 0, signaturesChecked: false });
    expect(pack.ledger.headSeq).toBeGreaterThan(0);
    const files: string[] = pack.files.map((f: { file: string }) => f.file);
    for (const f of [
      "reports/leavers.html",
      "reports/leavers.csv",
      "reports/access-changes.json",
      "ledger/verification.json",
      "ledger/published-heads.json",
    ])
      expect(files).toContain(f);
    // The configuration the sync ran with, by its hash, as stored.
    expect(pack.configurations).toHaveLength(1);
    const configFile = files.find((f) => f.startsWith("configuration/"))!;
    expect(configFile).toBe(`configuration/2026-11-21-${pack.configurations[0].hash.slice(0, 12)}.yaml`);
    expect(await readFile(path.join(out, configFile), "utf8")).toContain("sources:");

    const index = await readFile(path.join(out, "INDEX.md"), "utf8");
    expect(index).toContain("# Access evidence for 2026-Q4");
    expect(index).toMatch(/\*\*SOC 2 CC6\.2\*\*: .*`reports\/leavers\.\*`/);
    expect(index).toMatch(/\*\*ISO 27001 A\.8\.2\*\*: `reports\/privileged-access\.\*`/);
    expect(index).toContain(pack.ledger.headHash);

    const checked = await exec("sha256sum", ["-c", "MANIFEST.sha256"], { cwd: out });
    expect(checked.stdout.trim().split("\n")).toHaveLength(files.length);
    expect(checked.stdout).not.toContain("FAILED");

    await writeFile(path.join(out, "reports/leavers.csv"), "employeeId\nforged\n");
    const tampered = await exec("sha256sum", ["-c", "MANIFEST.sha256"], { cwd: out }).catch((e) => e);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain("reports/leavers.csv: FAILED");
  });

  it("refuses a folder that is not empty and a period it cannot read, writing nothing", async () => {
    const used = path.join(dir, "used");
    await mkdir(used);
    await writeFile(path.join(used, "notes.txt"), "mine");
    const full = await runCli(["evidence", "--period", "2026-Q4", "--out", used], { cwd: dir, env });
    expect(full.code).toBe(1);
    expect(full.stderr).toContain("is not empty");
    expect((await exec("ls", [used])).stdout.trim()).toBe("notes.txt");
    const bad = await runCli(["evidence", "--period", "last quarter", "--out", path.join(dir, "x")], {
      cwd: dir,
      env,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("expected a quarter (2026-Q3)");
  });
});
