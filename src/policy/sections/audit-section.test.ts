// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} and ${file:…} are literal references.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateSigningKey } from "../../audit/ledger-signing.js";
import { validateConfigFile } from "../config-loader.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-audit-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(lines: string[], env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, "tenure.yaml");
  await writeFile(file, `${lines.join("\n")}\n`);
  return validateConfigFile(file, { env });
}

const ED25519 = generateSigningKey();

describe("audit: in tenure.yaml", () => {
  it("loads the signing key from a file and the sinks, file paths made absolute", async () => {
    await writeFile(join(dir, "ledger.pem"), ED25519.privateKeyPem, { mode: 0o600 });
    const { config, errors } = await validate(
      [
        "notify:",
        "  email: { smtp: smtp://mail.example.org:25, from: tenure@example.org }",
        "audit:",
        "  signing:",
        "    key: ${file:./ledger.pem}",
        "  publish:",
        "    to:",
        "      - file: ./heads/ledger-heads.jsonl",
        "      - webhook:",
        "          url: https://hooks.example.org/heads",
        "          secret: ${env:HEADS_HOOK_SECRET}",
        "      - email: audit@example.org",
      ],
      { HEADS_HOOK_SECRET: "s3cret" },
    );
    expect(errors).toEqual([]);
    expect(config?.audit).toEqual({
      signing: { key: ED25519.privateKeyPem.trimEnd() },
      publish: {
        schedule: "0 * * * *",
        to: [
          { kind: "file", path: join(dir, "heads", "ledger-heads.jsonl") },
          { kind: "webhook", url: "https://hooks.example.org/heads", secret: "s3cret", timeoutSeconds: 10 },
          { kind: "email", to: ["audit@example.org"] },
        ],
      },
    });
  });

  it("refuses a key that is not an Ed25519 private key at its line, saying what it is and never quoting it", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    await writeFile(join(dir, "rsa.pem"), rsa);
    await writeFile(join(dir, "public.pem"), ED25519.publicKeyPem);
    const rsaErrors = (await validate(["audit:", "  signing:", "    key: ${file:./rsa.pem}"])).errors;
    expect(rsaErrors).toEqual([
      expect.objectContaining({
        line: 3,
        column: 10,
        path: "audit.signing.key",
        message: expect.stringMatching(
          /^expected a PKCS#8 PEM Ed25519 private key .*; found an RSA private key, not Ed25519/,
        ),
      }),
    ]);
    expect(rsaErrors[0]?.message).toContain("${file:./rsa.pem}");
    expect(rsaErrors[0]?.message).not.toContain(rsa.split("\n")[1]);

    const pubErrors = (await validate(["audit:", "  signing:", "    key: ${file:./public.pem}"])).errors;
    expect(pubErrors[0]?.message).toMatch(/found a public key \(signing needs the private key\)/);
    expect(pubErrors[0]?.message).not.toContain(ED25519.publicKeyPem.split("\n")[1]);

    // Written inline, the key is refused as a secret must be: only references are allowed.
    const inline = (await validate(["audit:", "  signing:", "    key: not-a-key-hunter2"])).errors;
    expect(inline).toHaveLength(1);
    expect(inline[0]?.message).not.toContain("hunter2");
  });

  it("refuses an unknown sink kind, two kinds in one entry, and publishing without a key", async () => {
    await writeFile(join(dir, "ledger.pem"), ED25519.privateKeyPem);
    const { errors } = await validate([
      "audit:",
      "  signing:",
      "    key: ${file:./ledger.pem}",
      "  publish:",
      "    to:",
      "      - slack: '#audit'",
      "      - { file: ./a.jsonl, email: audit@example.org }",
    ]);
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [6, "audit.publish.to[0].slack", "unknown key 'slack' — expected one of: file, webhook, email"],
      [
        7,
        "audit.publish.to[1]",
        expect.stringMatching(
          /^expected one sink per entry, but this one names file and email: write each as an entry of its own/,
        ),
      ],
    ]);

    const noKey = (await validate(["audit:", "  publish:", "    to:", "      - file: ./a.jsonl"])).errors;
    expect(noKey).toEqual([
      expect.objectContaining({
        line: 2,
        path: "audit.publish",
        message: "publishing signs each head: audit.signing.key is needed too",
      }),
    ]);
  });

  it("needs notify.email for an email sink", async () => {
    await writeFile(join(dir, "ledger.pem"), ED25519.privateKeyPem);
    const { errors } = await validate([
      "audit:",
      "  signing: { key: '${file:./ledger.pem}' }",
      "  publish:",
      "    to:",
      "      - email: audit@example.org",
    ]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 5,
        path: "audit.publish.to[0].email",
        message: expect.stringMatching(/needs notify\.email/),
      }),
    ]);
  });
});
