import { describe, expect, it } from "vitest";
import { validateConfigText } from "./config-loader.js";

/** The problems `tenure validate` reports for one system with the given connector and config lines. */
async function problemsOf(connector: string, config: string[]): Promise<string[]> {
  const text = [
    "systems:",
    "  app:",
    `    connector: ${connector}`,
    "    config:",
    ...config.map((l) => `      ${l}`),
  ];
  const { errors } = await validateConfigText(`${text.join("\n")}\n`, {
    path: "/nowhere/tenure.yaml",
    env: {},
  });
  // What was found is the URL's scheme and server at most; the checks here are about what was expected.
  return errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message.split(", found ")[0]}`);
}

const ldap = (url: string) => [
  `url: "${url}"`,
  "bindDn: cn=admin,dc=example,dc=test",
  "bindPassword: pw",
  "users: { base: 'ou=people,dc=example,dc=test' }",
  "groups: { base: 'ou=groups,dc=example,dc=test' }",
];
const sink = "passwordSink: { file: ./passwords.jsonl }";
const sqlTables = [
  "users: { table: users, id: id, username: login, enabled: { column: active } }",
  "memberships: { table: members, user: user_id, group: grp }",
];

// Each of these passed validation and failed only when the first operation ran (or when the connector
// was built), with an error from the driver instead of a file:line.
describe("connector URLs are checked when the file is validated", () => {
  it("ldap: a port that is not a number from 1 to 65535, credentials, a path or query", async () => {
    expect(await problemsOf("ldap", ldap("ldap://127.0.0.1:99999"))).toEqual([
      "5:12 systems.app.config.url: is not a valid URL",
    ]);
    expect(await problemsOf("ldap", ldap("ldap://127.0.0.1:abc"))).toEqual([
      "5:12 systems.app.config.url: is not a valid URL",
    ]);
    expect(await problemsOf("ldap", ldap("ldaps://admin:pw@dc.example.test"))).toEqual([
      "5:12 systems.app.config.url: must not contain credentials (user:password@); use bindDn and bindPassword",
    ]);
    expect(await problemsOf("ldap", ldap("ldap://dc.example.test/dc=example?cn"))).toEqual([
      "5:12 systems.app.config.url: must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]",
    ]);
    expect(await problemsOf("ldap", ldap("ldaps://dc.example.test:636/"))).toEqual([]);
  });

  it("mariadb and sql: a user, password or database that is not valid percent-encoding", async () => {
    expect(await problemsOf("mariadb", ["url: mysql://tenure:50%off@db.internal:3306", sink])).toEqual([
      "5:12 systems.app.config.url: the password is not valid percent-encoding (write % as %25)",
    ]);
    expect(await problemsOf("sql", ["url: mysql://ten%ZZure@db.internal/app", ...sqlTables])).toEqual([
      "5:12 systems.app.config.url: the user name is not valid percent-encoding (write % as %25)",
    ]);
    expect(await problemsOf("sql", ["url: mariadb://tenure@db.internal/app/more", ...sqlTables])).toEqual([
      "5:12 systems.app.config.url: the path must name one database (/DB)",
    ]);
    expect(await problemsOf("mariadb", ["url: mysql://tenure:50%25off@db.internal:3306", sink])).toEqual([]);
  });

  it("postgres and sql: an sslmode node-postgres does not know", async () => {
    const problem =
      "5:12 systems.app.config.url: sslmode must be one of disable, prefer, require, no-verify, verify-ca, verify-full";
    expect(await problemsOf("postgres", ["url: postgres://tenure@db/app?sslmode=requir", sink])).toEqual([
      problem,
    ]);
    expect(await problemsOf("sql", ["url: postgresql://tenure@db/app?sslmode=on", ...sqlTables])).toEqual([
      problem,
    ]);
    expect(await problemsOf("postgres", ["url: postgres://tenure@db/app?sslmode=verify-full", sink])).toEqual(
      [],
    );
  });
});

describe("a secret field written out", () => {
  it("shows nothing of its value in a message but, for a URL, its scheme and server", async () => {
    const text = [
      "database: postgres://tenure:inline-pass@db.internal:99999/tenure",
      "systems:",
      "  hook:",
      "    connector: webhook",
      "    config:",
      "      url: https://hooks.example.test/services/T0KEN-in-the-path",
      "      secret: too-short-key",
    ].join("\n");
    const { errors } = await validateConfigText(text, { path: "/nowhere/tenure.yaml", env: {} });
    expect(errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`)).toEqual([
      `1:11 database: expected sqlite:PATH, sqlite::memory: or a postgres://USER@HOST/DB URL, found "postgres://***@db.internal:99999/…"`,
      "7:15 systems.hook.config.secret: must be at least 16 characters, found a value that is not shown (the field is a secret)",
    ]);
  });
});
