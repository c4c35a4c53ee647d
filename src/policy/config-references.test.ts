// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} and ${file:…} are literal references, not template placeholders.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { WebhookConnectorConfig } from "../connectors/webhook/webhook-schemas.js";
import type { InvalidInputError } from "../shared/errors.js";
import { type ConfigIssue, formatConfigIssue, loadConfig, validateConfigFile } from "./config-loader.js";
import { redactConfig } from "./config-redaction.js";
import { MAX_SECRET_FILE_BYTES } from "./config-references.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-references-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(lines: string[], name = "tenure.yaml"): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

async function errorsOf(lines: string[], env: NodeJS.ProcessEnv = {}): Promise<ConfigIssue[]> {
  const { config, errors } = await validateConfigFile(await writeConfig(lines), { env });
  expect(config).toBeUndefined();
  return [...errors];
}

/** A webhook system whose `secret` (line 6) is the given text: a secret field to put references in. */
function hookWithSecret(secret: string): string[] {
  return [
    "systems:",
    "  hook:",
    "    connector: webhook",
    "    config:",
    "      url: https://hooks.example.test/tenure",
    `      secret: "${secret}"`,
  ];
}

function hookSecretOf(config: Awaited<ReturnType<typeof loadConfig>>): string {
  const hook = config.policy.systems.hook;
  if (hook === undefined) throw new Error("no system hook");
  return (hook.connectorConfig as WebhookConnectorConfig).secret;
}

describe("references resolve in secret fields", () => {
  it("resolves variables and files in passwords, secrets, headers and URLs, files relative to the config", async () => {
    await mkdir(join(dir, "secrets"));
    await writeFile(join(dir, "secrets", "db-password"), "pa55-w0rd\n");
    await writeFile(join(dir, "secrets", "hook"), "a-signing-secret-of-32-characters");
    const file = await writeConfig([
      "database: postgres://tenure:${file:secrets/db-password}@${env:DB_HOST}:5432/tenure",
      "sources:",
      "  hr:",
      "    type: csv",
      "    path: ./hr.csv",
      "    columns:",
      "      title: $${env:NOT_A_REFERENCE}",
      "systems:",
      "  hook:",
      "    connector: webhook",
      "    config:",
      "      url: ${env:HOOK_URL}",
      "      secret: ${file:secrets/hook}",
      "      headers: { X-Api-Key: '${env:API_KEY}' }",
    ]);
    const config = await loadConfig(file, {
      env: { DB_HOST: "db.internal", HOOK_URL: "https://hooks.example.test/t0k3n", API_KEY: "k-123456" },
    });
    expect(config.database).toBe("postgres://tenure:pa55-w0rd@db.internal:5432/tenure");
    expect(config.sources.hr?.columns.title).toBe("${env:NOT_A_REFERENCE}");
    const hook = config.policy.systems.hook?.connectorConfig as WebhookConnectorConfig;
    expect(hook).toMatchObject({
      url: "https://hooks.example.test/t0k3n",
      secret: "a-signing-secret-of-32-characters",
      headers: { "X-Api-Key": "k-123456" },
    });
  });

  it("removes exactly one final newline from a file's content", async () => {
    await writeFile(join(dir, "hook-secret"), "a-signing-secret-of-32-characters\r\n");
    const config = await loadConfig(await writeConfig(hookWithSecret("${file:hook-secret}")), { env: {} });
    expect(hookSecretOf(config)).toBe("a-signing-secret-of-32-characters");
  });

  it("reports an unset variable, an unreadable file and a malformed reference at their nodes", async () => {
    const errors = await errorsOf([
      "database: postgres://tenure:${env:DB_PASSWORD}@db/tenure",
      "systems:",
      "  hook:",
      "    connector: webhook",
      "    config:",
      "      url: ${ENV:HOOK_URL}",
      "      secret: ${file:missing/path.txt}",
      "      listUrl: ${env:LIST_URL",
    ]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 1,
        column: 11,
        path: "database",
        message: "environment variable DB_PASSWORD is not set (referenced as ${env:DB_PASSWORD})",
      }),
      expect.objectContaining({
        line: 6,
        column: 12,
        path: "systems.hook.config.url",
        message: "unknown reference ${ENV:HOOK_URL}: expected ${env:NAME} or ${file:PATH}",
      }),
      expect.objectContaining({
        line: 7,
        column: 15,
        path: "systems.hook.config.secret",
        message: `cannot read \${file:missing/path.txt} (${join(dir, "missing/path.txt")}): no such file`,
      }),
      expect.objectContaining({
        line: 8,
        column: 16,
        path: "systems.hook.config.listUrl",
        message: expect.stringMatching(/unterminated/),
      }),
    ]);
  });

  it("never puts a resolved value into any message, even when that value is what is wrong", async () => {
    const secret = "hunter2-Sup3rSecret";
    await writeFile(join(dir, "secret.txt"), `${secret}\n`);
    const file = await writeConfig([
      "database: mysql://app:${file:secret.txt}@db/tenure",
      "systems:",
      "  hook:",
      "    connector: webhook",
      "    config:",
      "      url: ${file:secret.txt}",
      "      secret: ${file:secret.txt}",
      "      headers: { X-Key: '${file:secret.txt}' }",
      "notify:",
      "  webhooks:",
      "    chat: { url: '${file:secret.txt}' }",
    ]);
    const { errors } = await validateConfigFile(file, { env: {} });
    expect(errors.map((e) => e.path)).toEqual([
      "database",
      "systems.hook.config.url",
      "notify.webhooks.chat.url",
    ]);
    for (const e of errors) expect(formatConfigIssue(e)).not.toContain("hunter2");
    expect(errors[2]?.message).toBe(
      'expected an https:// (or http://) URL, found the value of "${file:secret.txt}"',
    );

    const thrown = (await loadConfig(file, { env: {} }).catch((e: unknown) => e)) as InvalidInputError;
    expect(thrown.message).not.toContain("hunter2");
    expect(thrown.details.join("\n")).not.toContain("hunter2");
  });

  it("shows an inline database password redacted when the URL is what is wrong", async () => {
    const errors = await errorsOf(["database: postgres://app:inline-pass@db:99999/tenure"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).not.toContain("inline-pass");
    expect(errors[0]?.message).toContain("***");
  });

  it("redactConfig shows references as written and masks the database password", async () => {
    await writeFile(join(dir, "pw"), "s3cret-pw");
    const file = await writeConfig([
      "database: postgres://tenure:${file:pw}@db/tenure",
      ...hookWithSecret("${env:HOOK_SECRET}").slice(0, 5),
      "      secret: ${env:HOOK_SECRET}",
    ]);
    const config = await loadConfig(file, { env: { HOOK_SECRET: "a-signing-secret-of-32-characters" } });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain("s3cret-pw");
    expect(shown).not.toContain("a-signing-secret");
    expect(redactConfig(config).database).toBe("postgres://tenure:${file:pw}@db/tenure");
    expect(hookSecretOf(redactConfig(config))).toBe("${env:HOOK_SECRET}");

    const inline = await loadConfig(
      await writeConfig(["database: postgres://tenure:plain@db/tenure"], "b.yaml"),
      {
        env: {},
      },
    );
    expect(redactConfig(inline).database).toBe("postgres://tenure:***@db/tenure");
  });

  it("does not resolve keys, only values", async () => {
    const errors = await errorsOf(["${env:X}: 1"], { X: "database" });
    expect(errors).toEqual([expect.objectContaining({ path: '["${env:X}"]', line: 1, column: 1 })]);
  });
});

describe("references outside secret fields", () => {
  it("are errors at their file:line, and neither variables nor files are read", async () => {
    await writeFile(join(dir, "tz"), "Europe/Oslo\n");
    const errors = await errorsOf(
      [
        "sources:",
        "  hr:",
        "    type: csv",
        "    path: ${env:EXPORT_DIR}/hr.csv",
        "    timeZone: ${file:tz}",
        "    columns: { email: '${env:UNSET_VARIABLE}' }",
        "systems:",
        "  dir:",
        "    connector: ldap",
        "    owner: ${env:OWNER}",
        "    config:",
        "      url: ldap://127.0.0.1:389",
        "      bindDn: ${env:BIND_DN}",
        "      bindPassword: ${env:BIND_PASSWORD}",
        "      users: { base: 'ou=people,dc=example,dc=test' }",
        "      groups: { base: 'ou=groups,dc=example,dc=test' }",
      ],
      { EXPORT_DIR: "/srv", OWNER: "it@example.test", BIND_DN: "cn=admin", BIND_PASSWORD: "pw" },
    );
    const notAllowed = (reference: string) =>
      `${reference} is not allowed here: references are resolved only in secret fields (passwords, tokens, keys, connection URLs); write this value out`;
    expect(errors.map((e) => [e.line, e.column, e.path, e.message])).toEqual([
      [4, 11, "sources.hr.path", notAllowed("${env:EXPORT_DIR}")],
      [5, 15, "sources.hr.timeZone", notAllowed("${file:tz}")],
      [6, 23, "sources.hr.columns.email", notAllowed("${env:UNSET_VARIABLE}")],
      [10, 12, "systems.dir.owner", notAllowed("${env:OWNER}")],
      [13, 15, "systems.dir.config.bindDn", notAllowed("${env:BIND_DN}")],
    ]);
  });

  it("a $${ escape still gives a literal ${ anywhere", async () => {
    const config = await loadConfig(
      await writeConfig(["sources:", "  hr:", "    type: csv", "    path: ./a-$${env:X}.csv"]),
      { env: {} },
    );
    expect(config.sources.hr).toMatchObject({ path: join(dir, "a-${env:X}.csv") });
  });
});

describe("${file:…} reads only small regular files from allowed folders", () => {
  const refused = async (reference: string, extra: string[] = []) => {
    const errors = await errorsOf([...extra, ...hookWithSecret(reference)]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      line: extra.length + 6,
      column: 15,
      path: "systems.hook.config.secret",
    });
    return errors[0]?.message ?? "";
  };

  it("refuses a FIFO at once, without waiting for a writer", async () => {
    execFileSync("mkfifo", [join(dir, "fifo")]);
    const started = performance.now();
    const message = await refused("${file:fifo}");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(message).toBe(
      `cannot read \${file:fifo} (${join(dir, "fifo")}): it is a FIFO (named pipe), not a regular file`,
    );
  }, 5000);

  it("refuses a folder and a device", async () => {
    await mkdir(join(dir, "a-folder"));
    expect(await refused("${file:a-folder}")).toMatch(/: it is a folder, not a regular file$/);
    expect(await refused("${file:/dev/null}", ["secrets: { folders: [/dev] }"])).toMatch(
      /\(\/dev\/null\): it is a character device, not a regular file$/,
    );
  });

  it("refuses files outside the configuration's folder, by path or through a symbolic link", async () => {
    const outside = await mkdtemp(join(tmpdir(), "tenure-outside-"));
    try {
      await writeFile(join(outside, "secret"), "a-signing-secret-of-32-characters");
      await symlink(join(outside, "secret"), join(dir, "link"));
      const rule =
        "it is outside the configuration's folder and secrets.folders, where secret files are read from";
      expect(await refused(`\${file:${join(outside, "secret")}}`)).toContain(rule);
      expect(await refused(`\${file:../${outside.split("/").at(-1)}/secret}`)).toContain(rule);
      expect(await refused("${file:link}")).toBe(
        `cannot read \${file:link} (${join(dir, "link")}): ${rule} (it leads to ${join(outside, "secret")})`,
      );
      // Listed under secrets.folders, the same file is read, by its path and through the link.
      const allowed = [`secrets: { folders: ['${outside}'] }`, ...hookWithSecret("${file:link}")];
      expect(hookSecretOf(await loadConfig(await writeConfig(allowed), { env: {} }))).toBe(
        "a-signing-secret-of-32-characters",
      );
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("follows a symbolic link that stays inside, and reads a subfolder", async () => {
    await mkdir(join(dir, "run"));
    await writeFile(join(dir, "run", "hook"), "a-signing-secret-of-32-characters\n");
    await symlink(join(dir, "run", "hook"), join(dir, "current"));
    const config = await loadConfig(await writeConfig(hookWithSecret("${file:current}")), { env: {} });
    expect(hookSecretOf(config)).toBe("a-signing-secret-of-32-characters");
  });

  it(`reads up to ${MAX_SECRET_FILE_BYTES} bytes and refuses a larger file`, async () => {
    await writeFile(join(dir, "max"), "k".repeat(MAX_SECRET_FILE_BYTES));
    await writeFile(join(dir, "big"), "k".repeat(MAX_SECRET_FILE_BYTES + 1));
    const config = await loadConfig(await writeConfig(hookWithSecret("${file:max}")), { env: {} });
    expect(hookSecretOf(config)).toHaveLength(MAX_SECRET_FILE_BYTES);
    expect(await refused("${file:big}")).toMatch(/: it is larger than 64 KiB, too large for a secret$/);
  });

  it("refuses content that is not UTF-8 text or holds a NUL", async () => {
    await writeFile(join(dir, "latin1"), Buffer.from([0x70, 0xe4, 0x73, 0x73, 0x77, 0x6f, 0x72, 0x64]));
    await writeFile(join(dir, "nul"), "a-signing-secret\u0000of-32-characters");
    expect(await refused("${file:latin1}")).toMatch(/: it is not UTF-8 text$/);
    expect(await refused("${file:nul}")).toMatch(/: it contains a NUL character$/);
  });
});

describe("secrets.folders", () => {
  it("reports a folder that does not exist or is a file, and a reference in it, at its line", async () => {
    await writeFile(join(dir, "plain-file"), "x");
    const errors = await errorsOf([
      "secrets:",
      "  folders:",
      "    - ./not-there",
      "    - ./plain-file",
      "    - ${env:SECRETS_DIR}",
      "  folder: /run/secrets",
    ]);
    expect(errors.map((e) => [e.line, e.column, e.path, e.message])).toEqual([
      [3, 7, "secrets.folders[0]", `no such folder: ${join(dir, "not-there")}`],
      [4, 7, "secrets.folders[1]", `not a folder: ${join(dir, "plain-file")}`],
      [5, 7, "secrets.folders[2]", expect.stringMatching(/^\$\{env:SECRETS_DIR\} is not allowed here/)],
      [6, 3, "secrets.folder", "unknown key 'folder' — did you mean 'folders'?"],
    ]);
  });
});
