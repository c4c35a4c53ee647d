import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

/** `tenure report` as a user runs it on the workspace `tenure init` makes. */
describe("tenure report", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  const env = { TENURE_NOW: "2026-11-21T10:00:00Z" };

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-report-cli-"));
    expect((await runCli(["init", dir])).code).toBe(0);
    const sync = await runCli(["sync"], { cwd: dir, env });
    expect(sync.code, sync.stderr).toBe(0);
  }, 60_000);
  afterAll(() => dispose());

  it("lists the reports, and writes one as a self-contained HTML file", async () => {
    const list = await runCli(["report", "--list", "--json"], { cwd: dir, env });
    expect(list.code, list.stderr).toBe(0);
    const names = (JSON.parse(list.stdout) as Array<{ name: string }>).map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining(["leavers", "terminated-enabled", "orphan-accounts", "campaigns"]),
    );
    const out = path.join(dir, "leavers.html");
    const html = await runCli(
      ["report", "leavers", "--from", "2026-11-01", "--format", "html", "--out", out],
      {
        cwd: dir,
        env,
      },
    );
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).toContain(`written to ${out}`);
    const text = await readFile(out, "utf8");
    expect(text).toMatch(/^<!doctype html>/);
    expect(text).toContain("Leavers and time to full deprovisioning");
    expect(text).toContain("2026-11-01T00:00:00.000Z");
    const json = await runCli(["report", "orphan-accounts", "--json"], { cwd: dir, env });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "orphan-accounts", alerts: [] });
  });

  it("refuses an unknown report, a date it cannot read, a period on a report of the present", async () => {
    const unknown = await runCli(["report", "nope"], { cwd: dir, env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no report "nope" (known: leavers');
    const badDate = await runCli(["report", "leavers", "--from", "yesterday"], { cwd: dir, env });
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain("--from yesterday: expected an ISO-8601 date");
    const present = await runCli(["report", "orphan-accounts", "--from", "2026-11-01"], { cwd: dir, env });
    expect(present.code).toBe(2);
    expect(present.stderr).toContain("describes the present");
    const format = await runCli(["report", "leavers", "--format", "pdf"], { cwd: dir, env });
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("expected csv, json, html");
  });
});
