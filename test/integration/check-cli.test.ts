import { execFile } from "node:child_process";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
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

  it("warns of an unused NHI or grant where last use is known, without failing the build", async () => {
    const old = new Date(Date.now() - 200 * 86_400_000).toISOString().slice(0, 10);
    const recent = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    await writeFile(
      path.join(dir, "tenure.yaml"),
      `${clean}
nhi:
  inventory:
    - { name: idle-app, type: oauth_app, owner: E1, lastUsed: ${old}, scopes: [read:user] }
    - { name: busy-agent, type: agent, owner: E1, lastUsed: ${recent}, scopes: [a, b], scopeLastUsed: { a: ${recent}, b: ${old} } }
    - { name: unknown-use, type: oauth_app, owner: E1, scopes: [read:user] }
`,
    );
    const run = await runCli(["check", "--json"], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const found = JSON.parse(run.stdout) as { ok: boolean; findings: { code: string; severity: string }[] };
    expect(found.ok).toBe(true);
    expect(found.findings.map((f) => [f.code, f.severity]).sort()).toEqual([
      ["nhi_unused", "warning"],
      ["nhi_unused_grant", "warning"],
    ]);
  });

  it("fails for an NHI without an owner, a credential too old, a scope not allowed and a certificate about to expire", async () => {
    const certs = path.join(dir, "certs");
    await mkdir(certs, { recursive: true });
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      path.join(dir, "key.pem"),
      "-out",
      path.join(certs, "api.pem"),
      "-days",
      "10",
      "-subj",
      "/CN=api.example.test",
    ]);
    await writeFile(
      path.join(dir, "tenure.yaml"),
      `${clean}
nhi:
  policy:
    allowedScopes: { oauth_app: [read:user] }
  inventory:
    - { name: orphan-key, type: api_key, purpose: nobody owns it }
    - { name: old-key, type: api_key, owner: E1, created: 2025-01-01 }
    - { name: gh-app, type: oauth_app, owner: E1, created: 2026-11-01, scopes: [read:user, admin:org] }
  certificates:
    paths: [./certs]
`,
    );
    const run = await runCli(["check", "--json"], { cwd: dir });
    expect(run.code, run.stderr).toBe(1);
    const found = (
      JSON.parse(run.stdout).findings as Array<{ code: string; where: string; message: string }>
    ).map((f) => `${f.code} ${f.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^nhi_owner_missing orphan-key: no owner/),
        expect.stringMatching(/^nhi_credential_age old-key: credential is \d+ days old/),
        expect.stringMatching(/^nhi_scope_disallowed gh-app: scope admin:org is not allowed/),
        expect.stringMatching(/^certificate_expires_soon /),
      ]),
    );
    expect(found).toHaveLength(4);
    const lines = await runCli(["check"], { cwd: dir });
    expect(lines.stdout).toMatch(
      new RegExp(
        `${path.join(dir, "tenure.yaml").replaceAll("/", "\\/")}:\\d+:\\d+: error nhi_owner_missing`,
      ),
    );
  });
});
