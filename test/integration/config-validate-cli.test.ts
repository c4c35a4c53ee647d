// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} and ${file:…} are literal references.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

let dir: string;
let dispose: () => Promise<void>;

beforeEach(async () => {
  ({ dir, dispose } = await tempDir("tenure-validate-"));
});
afterEach(() => dispose());

async function validate(content: string | Buffer, env: NodeJS.ProcessEnv = {}) {
  await writeFile(path.join(dir, "tenure.yaml"), content);
  return runCli(["validate"], { cwd: dir, env });
}

describe("tenure validate refuses references and YAML it cannot take as written", () => {
  it("references outside secret fields, a FIFO, a link out of the folder, a bad URL: each at file:line, exit 1", async () => {
    const outside = await mkdtemp(path.join(tmpdir(), "tenure-outside-"));
    try {
      await writeFile(path.join(outside, "pw"), "outside-Secret-value");
      await symlink(path.join(outside, "pw"), path.join(dir, "ldap-password"));
      execFileSync("mkfifo", [path.join(dir, "hook-secret")]);
      const started = performance.now();
      const r = await validate(
        [
          "sources:",
          "  hr:",
          "    type: csv",
          "    path: ./hr.csv",
          "    timeZone: ${env:HR_TZ}",
          "systems:",
          "  dir:",
          "    connector: ldap",
          "    config:",
          "      url: ldap://127.0.0.1:99999",
          "      bindDn: cn=admin,dc=example,dc=test",
          "      bindPassword: ${file:ldap-password}",
          "      users: { base: 'ou=people,dc=example,dc=test' }",
          "      groups: { base: 'ou=groups,dc=example,dc=test' }",
          "  hook:",
          "    connector: webhook",
          "    config:",
          "      url: https://hooks.example.test/tenure",
          "      secret: ${file:hook-secret}",
          "secrets:",
          "  folders: [./not-there]",
        ].join("\n"),
        { HR_TZ: "Europe/Paris" },
      );
      expect(performance.now() - started).toBeLessThan(15_000);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toEqual([
        expect.stringMatching(
          /tenure\.yaml:5:15: sources\.hr\.timeZone: \$\{env:HR_TZ\} is not allowed here: references are resolved only in secret fields/,
        ),
        expect.stringMatching(/tenure\.yaml:10:12: systems\.dir\.config\.url: is not a valid URL/),
        expect.stringMatching(
          /tenure\.yaml:12:21: systems\.dir\.config\.bindPassword: cannot read \$\{file:ldap-password\} .*: it is outside the configuration's folder and secrets\.folders/,
        ),
        expect.stringMatching(
          /tenure\.yaml:19:15: systems\.hook\.config\.secret: cannot read \$\{file:hook-secret\} .*: it is a FIFO \(named pipe\), not a regular file/,
        ),
        expect.stringMatching(/tenure\.yaml:21:13: secrets\.folders\[0\]: no such folder: /),
        expect.stringMatching(/^5 errors in .*tenure\.yaml$/),
      ]);
      expect(r.stderr).not.toContain("outside-Secret-value");
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  }, 30_000);

  it("tags and __proto__ keys", async () => {
    const r = await validate("__proto__: { polluted: true }\nsources: !include ./sources.yaml\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("tenure.yaml:1:1: __proto__: a key named __proto__ is not allowed");
    expect(r.stderr).toContain("tenure.yaml:2:19: sources: tag !include is not supported");
  }, 30_000);

  it("NUL and bytes that are not UTF-8", async () => {
    const nul = await validate("database: 'sqlite:./t.db'\nserver:\n  host: \"127.0.0.1\\0\"\n");
    expect(nul.code).toBe(1);
    expect(nul.stderr).toContain("tenure.yaml:3:9: server.host: a value must not contain a NUL character");
    const latin1 = await validate(Buffer.from("server:\n  host: caf\xe9\n", "latin1"));
    expect(latin1.code).toBe(1);
    expect(latin1.stderr).toContain("tenure.yaml:2:12: byte 0xE9 is not UTF-8");
  }, 30_000);

  it("accepts references in secret fields, from a folder listed under secrets.folders", async () => {
    const secrets = await mkdtemp(path.join(tmpdir(), "tenure-secrets-"));
    try {
      await writeFile(path.join(secrets, "hook"), "a-signing-secret-of-32-characters\n");
      const r = await validate(
        [
          `secrets: { folders: ['${secrets}'] }`,
          "systems:",
          "  hook:",
          "    connector: webhook",
          "    config:",
          "      url: ${env:HOOK_URL}",
          `      secret: \${file:${path.join(secrets, "hook")}}`,
        ].join("\n"),
        { HOOK_URL: "https://hooks.example.test/tenure" },
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    } finally {
      await rm(secrets, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("tenure validate --show", () => {
  it("prints the effective configuration with defaults, references as written and every secret masked", async () => {
    await writeFile(path.join(dir, "hr.csv"), "employeeId,givenName,familyName\n");
    await writeFile(
      path.join(dir, "tenure.yaml"),
      [
        'database: "postgres://tenure:inline-Secret-1@db.example:5432/tenure"',
        "sources:",
        "  hr: { type: csv, path: ./hr.csv }",
        "systems:",
        "  app:",
        "    connector: sql",
        '    account: { username: "{employeeId}" }',
        "    config:",
        '      url: "postgres://app:${env:APP_DB_PASSWORD}@db.example/app"',
        "      users: { table: app_users, id: id, username: login, enabled: { column: active } }",
        "      memberships: { table: app_user_groups, user: user_id, group: group_name }",
        "",
      ].join("\n"),
    );
    const r = await runCli(["validate", "--show"], { cwd: dir, env: { APP_DB_PASSWORD: "env-Secret-2" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout);
    expect(shown.database).toBe("postgres://tenure:***@db.example:5432/tenure");
    expect(shown.policy.systems.app.connectorConfig.url).toBe(
      "postgres://app:${env:APP_DB_PASSWORD}@db.example/app",
    );
    expect(shown.lifecycle.deleteAfterDays).toBe(30);
    expect(r.stdout).not.toContain("inline-Secret-1");
    expect(r.stdout).not.toContain("env-Secret-2");
  });
});
