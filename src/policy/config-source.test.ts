// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} is a literal reference.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { redactedSource } from "./config-source.js";

const TEXT = `database: "sqlite:./tenure.db"
systems:
  app:
    connector: sql
    config:
      url: "postgres://tenure:hunter2-secret@db.example.test/app"
      users: { table: app_users, id: id, username: login }
  directory:
    connector: ldap
    config:
      url: ldaps://ldap.example.test
      bindDN: cn=tenure,dc=example,dc=test
      bindPassword: |
        multi-line
        s3cr3t-value
      baseDN: dc=example,dc=test
notify:
  webhooks:
    slack: { url: "\${env:SLACK_HOOK}" }
roles:
  staff:
    when: "employmentType == 'employee'"   # every employee
    grants: [{ system: app, entitlements: [readers] }]
`;

describe("the stored form of a configuration", () => {
  const source = redactedSource("/etc/tenure/tenure.yaml", TEXT, parse(TEXT));

  it("never holds a secret written out, nor a password inside a URL", () => {
    expect(source.text).not.toContain("hunter2");
    expect(source.text).not.toContain("s3cr3t-value");
    expect(source.text).toContain('bindPassword: "<redacted>"');
    expect(source.text).toContain('database: "<redacted>"');
  });

  it("keeps references as written: they are names, not values", () => {
    expect(source.text).toContain('slack: { url: "${env:SLACK_HOOK}" }');
  });

  it("keeps every line where it was, so a rule's file:line still points at it", () => {
    const before = TEXT.split("\n");
    const after = source.text.split("\n");
    expect(after).toHaveLength(before.length);
    const rule = before.findIndex((l) => l.includes("when:"));
    expect(after[rule]).toBe(before[rule]);
    expect(after[rule + 1]).toBe(before[rule + 1]);
    // Nothing but the secret values changed.
    const changed = before.map((l, i) => (l === after[i] ? null : i)).filter((i) => i !== null);
    expect(changed.map((i) => before[i!]!.trim().split(":")[0])).toEqual([
      "database",
      "url",
      // A connector URL is a secret field as a whole (an LDAP URL may carry nothing secret, a webhook's does).
      "url",
      "bindPassword",
      "multi-line",
      "s3cr3t-value",
    ]);
  });

  it("is named by the hash of the stored text, the same for the same file", () => {
    expect(source.hash).toBe(createHash("sha256").update(source.text).digest("hex"));
    expect(redactedSource("/elsewhere/tenure.yaml", TEXT, parse(TEXT)).hash).toBe(source.hash);
    const edited = TEXT.replace("every employee", "all employees");
    expect(redactedSource("/etc/tenure/tenure.yaml", edited, parse(edited)).hash).not.toBe(source.hash);
  });

  it("lists the secrets written out — not a path or a URL with no credential in it — at their line", () => {
    expect(source.inlineSecrets).toEqual([
      { path: "systems.app.config.url", line: 6, column: 12 },
      { path: "systems.directory.config.bindPassword", line: 13, column: 21 },
    ]);
    const clean = `database: "sqlite:./tenure.db"\nnotify:\n  webhooks:\n    hook: { url: "\${env:HOOK}", secret: "\${file:./hook.secret}" }\n`;
    expect(redactedSource("/x/tenure.yaml", clean, parse(clean)).inlineSecrets).toEqual([]);
  });
});
