import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

/** `tenure check`, the CI gate, on the workspace `tenure init` makes: clean, then with a secret written out. */
describe("tenure check", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  let clean = "";

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-check-"));
    expect((await runCli(["init", dir])).code).toBe(0);
    clean = await readFile(path.join(dir, "tenure.yaml"), "utf8");
  });
  afterAll(() => dispose());

  it("passes a configuration with no finding", async () => {
    const run = await runCli(["check"], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("check passed");
  });

  it("fails with one line per secret written out, at its line, never showing it", async () => {
    await writeFile(path.join(dir, "tenure.yaml"), clean);
    const lines = clean.split("\n").length;
    await appendFile(
      path.join(dir, "tenure.yaml"),
      '\nnotify:\n  email:\n    smtp: "smtp://alerts:Hunter2-pw@127.0.0.1:2525"\n    from: tenure@example.test\n',
    );
    const run = await runCli(["check"], { cwd: dir });
    expect(run.code).toBe(1);
    const file = path.join(dir, "tenure.yaml");
    expect(run.stdout).toContain(
      `${file}:${lines + 3}:11: error inline_secret: notify.email.smtp holds a secret written out`,
    );
    expect(run.stdout).toContain("check failed: 1 error(s)");
    expect(run.stdout + run.stderr).not.toContain("Hunter2");
    const json = await runCli(["check", "--json"], { cwd: dir });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      findings: [{ code: "inline_secret", severity: "error" }],
    });
    // A reference instead passes.
    await writeFile(
      path.join(dir, "tenure.yaml"),
      `${clean}\nnotify:\n  email:\n    smtp: "\${env:SMTP_URL}"\n    from: tenure@example.test\n`,
    );
    const fixed = await runCli(["check"], { cwd: dir, env: { SMTP_URL: "smtp://a:b@127.0.0.1:25" } });
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  });
});
