// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} is a literal reference and {attr} a template placeholder.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { CONNECTOR_TYPES } from "../connectors/connector-registry.js";
import { type ConfigIssue, loadConfig, validateConfigFile } from "./config-loader.js";

// Every registered connector type, as the loader lists them: sorted and quoted.
const KNOWN_CONNECTORS = Object.keys(CONNECTOR_TYPES)
  .sort()
  .map((t) => `"${t}"`)
  .join(", ");

import { redactConfig } from "./config-redaction.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-policy-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(lines: readonly string[]): Promise<string> {
  const file = join(dir, "tenure.yaml");
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

async function errorsOf(lines: readonly string[]): Promise<ConfigIssue[]> {
  const { config, errors } = await validateConfigFile(await writeConfig(lines), { env: {} });
  expect(config).toBeUndefined();
  return [...errors];
}

/** Line (1-based) and column of the first `token` on that line, so positions read off the YAML. */
function at(lines: readonly string[], line: number, token: string): { line: number; column: number } {
  const column = (lines[line - 1] ?? "").indexOf(token);
  if (column < 0) throw new Error(`'${token}' is not on line ${line}: ${lines[line - 1]}`);
  return { line, column: column + 1 };
}

const sqlConfig = (url: string) => [
  "    config:",
  `      url: "${url}"`,
  "      users: { table: users, id: id, username: login, enabled: { column: active } }",
  "      memberships: { table: members, user: user_id, group: grp }",
];

/** Two systems, entitlements for both, no roles: a base to add roles and mistakes to. */
const systems = [
  "systems:", // 1
  "  wiki:", // 2
  "    connector: sql", // 3
  "    owner: it@example.test", // 4
  ...sqlConfig("sqlite:./apps/wiki.db"), // 5-8
  "  deploy:", // 9
  "    connector: sql", // 10
  ...sqlConfig("postgres://deploy@db.internal/deploy"), // 11-14
  "entitlements:", // 15
  "  wiki:", // 16
  "    readers: {}", // 17
  "    editors: { displayName: Wiki editors, owner: docs@example.test }", // 18
  "  deploy:", // 19
  "    deployers: { displayName: Deployers }", // 20
  "    admins: { displayName: Deploy admins, privileged: true, risk: critical }", // 21
];

const fullPolicy = [
  "systems:", // 1
  "  wiki:", // 2
  "    connector: sql", // 3
  "    owner: it@example.test", // 4
  "    drift: report", // 5
  "    orphans: report", // 6
  "    account:", // 7
  '      username: "{givenName}.{familyName}"', // 8
  "      collision: suffix", // 9
  '      attributes: { email: "{email}", fullName: "{displayName}" }', // 10
  "    correlation: { account: username, identity: username }", // 11
  ...sqlConfig("sqlite:./apps/wiki.db"), // 12-15
  "  deploy:", // 16
  "    connector: sql", // 17
  "    drift: enforce", // 18
  "    orphans: disable", // 19
  "    account: { username: '{employeeId}', collision: fail }", // 20
  "    correlation: { account: email, identity: email }", // 21
  "    retry: { maxAttempts: 3, baseDelaySeconds: 10, maxDelaySeconds: 60 }", // 22
  ...sqlConfig("postgres://deploy@db.internal/deploy"), // 23-26
  "entitlements:", // 27
  "  wiki:", // 28
  "    readers: {}", // 29
  "    editors: { displayName: Wiki editors, owner: docs@example.test }", // 30
  "  deploy:", // 31
  "    deployers: { displayName: Deployers }", // 32
  "    admins: { displayName: Deploy admins, privileged: true, risk: critical }", // 33
  "roles:", // 34
  "  employee:", // 35
  "    description: Everyone employed", // 36
  `    when: "employmentType == 'employee' || employmentType == 'intern'"`, // 37
  "    grants:", // 38
  "      - system: wiki", // 39
  "        entitlements: [readers]", // 40
  "  engineer:", // 41
  `    when: "department == 'Engineering'"`, // 42
  "    includes: [employee]", // 43
  "    grants:", // 44
  "      - { system: deploy, entitlements: [deployers] }", // 45
  "      - { system: wiki, entitlements: [editors] }", // 46
  "  deploy-admin:", // 47
  "    requestable: true", // 48
  "    grants: [{ system: deploy, entitlements: [admins] }]", // 49
];

const person = workerAttributes({ startDate: "2024-01-01" });

describe("systems, entitlements and roles: a valid policy", () => {
  it("compiles every definition with its defaults, its location and resolved connector config", async () => {
    const file = await writeConfig(fullPolicy);
    const { policy } = await loadConfig(file, { env: {} });

    expect(policy.systems.wiki).toEqual({
      name: "wiki",
      connector: "sql",
      connectorConfig: {
        url: `sqlite:${join(dir, "apps", "wiki.db")}`,
        timeoutMs: 10_000,
        users: {
          table: "users",
          id: "id",
          username: "login",
          newId: "database",
          enabled: { column: "active", true: 1, false: 0 },
          attributes: {},
        },
        memberships: { table: "members", user: "user_id", userRef: "id", group: "grp" },
      },
      owner: "it@example.test",
      drift: "report",
      orphans: "report",
      account: {
        username: "{givenName}.{familyName}",
        collision: "suffix",
        attributes: { email: "{email}", fullName: "{displayName}" },
      },
      correlation: { account: "username", identity: "username" },
      retry: { maxAttempts: 5, baseDelaySeconds: 30, maxDelaySeconds: 3600 },
      timeoutSeconds: 30,
      readTimeoutSeconds: 600,
      concurrency: 8,
      createMissingGroups: false,
      location: { file, line: 2, column: 3 },
    });
    expect(policy.systems.deploy).toMatchObject({
      connectorConfig: { url: "postgres://deploy@db.internal/deploy" },
      owner: null,
      drift: "enforce",
      orphans: "disable",
      account: { username: "{employeeId}", collision: "fail", attributes: {} },
      correlation: { account: "email", identity: "email" },
      retry: { maxAttempts: 3, baseDelaySeconds: 10, maxDelaySeconds: 60 },
      location: { file, line: 16, column: 3 },
    });

    expect(policy.entitlements.wiki?.readers).toEqual({
      system: "wiki",
      key: "readers",
      displayName: "readers",
      privileged: false,
      risk: "low",
      owner: "it@example.test",
      requestable: null,
      location: { file, line: 29, column: 5 },
    });
    expect(policy.entitlements.wiki?.editors).toMatchObject({
      displayName: "Wiki editors",
      owner: "docs@example.test",
    });
    expect(policy.entitlements.deploy?.admins).toMatchObject({
      privileged: true,
      risk: "critical",
      owner: null,
    });
    expect(policy.entitlements.deploy?.deployers).toMatchObject({ privileged: false, risk: "low" });

    const { employee, engineer } = policy.roles;
    expect(employee).toMatchObject({
      name: "employee",
      description: "Everyone employed",
      includes: [],
      grants: [{ system: "wiki", entitlements: ["readers"] }],
      requestable: null,
      location: { file, line: 35, column: 3 },
    });
    expect(employee?.when).toMatchObject({
      source: "employmentType == 'employee' || employmentType == 'intern'",
      reads: ["employmentType"],
      location: { file, ...at(fullPolicy, 37, '"') },
    });
    expect(engineer).toMatchObject({
      description: null,
      includes: ["employee"],
      grants: [
        { system: "deploy", entitlements: ["deployers"] },
        { system: "wiki", entitlements: ["editors"] },
      ],
    });
    expect(policy.roles["deploy-admin"]).toMatchObject({
      when: null,
      // `requestable: true`: anyone active may ask, the manager approves, 7 days by default, 30 at most.
      requestable: {
        eligible: null,
        defaultDurationMs: 7 * 86_400_000,
        maxDurationMs: 30 * 86_400_000,
        approval: [{ name: "manager", approvers: { kind: "manager" }, required: 1 }],
        autoApprove: null,
      },
      elevation: false,
      grants: [{ system: "deploy", entitlements: ["admins"] }],
      location: { file, line: 47, column: 3 },
    });
  });

  it("compiles rules that evaluate on identity attributes, a null attribute reading as ''", async () => {
    const { policy } = await loadConfig(await writeConfig(fullPolicy), { env: {} });
    const employee = policy.roles.employee?.when;
    const engineer = policy.roles.engineer?.when;
    expect(employee?.evaluate(person)).toEqual({ value: true });
    expect(employee?.evaluate({ ...person, employmentType: "intern" })).toEqual({ value: true });
    expect(employee?.evaluate({ ...person, employmentType: "contractor" })).toEqual({ value: false });
    expect(engineer?.evaluate(person)).toEqual({ value: true });
    expect(engineer?.evaluate({ ...person, department: "Sales" })).toEqual({ value: false });
    expect(engineer?.evaluate({ ...person, department: null })).toEqual({ value: false });
  });

  it("freezes the policy, rules included", async () => {
    const { policy } = await loadConfig(await writeConfig(fullPolicy), { env: {} });
    for (const part of [
      policy,
      policy.systems,
      policy.systems.wiki,
      policy.systems.wiki?.connectorConfig,
      policy.entitlements.wiki,
      policy.roles.engineer,
      policy.roles.engineer?.grants,
      policy.roles.engineer?.when,
      policy.roles.engineer?.when?.reads,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
  });

  it("gives every configured system an entitlement set, empty when none are declared", async () => {
    const { policy } = await loadConfig(await writeConfig(systems.slice(0, 14)), { env: {} });
    expect(policy.entitlements).toEqual({ wiki: {}, deploy: {} });
    expect(policy.roles).toEqual({});
  });

  it("reads when: true as the rule everyone meets", async () => {
    const { policy } = await loadConfig(
      await writeConfig([
        ...systems,
        "roles:",
        "  everyone:",
        "    when: true",
        "    grants: [{ system: wiki }]",
      ]),
      { env: {} },
    );
    expect(policy.roles.everyone?.when?.source).toBe("true");
    expect(policy.roles.everyone?.when?.evaluate(person).value).toBe(true);
    expect(policy.roles.everyone?.grants).toEqual([{ system: "wiki", entitlements: [] }]);
  });

  it("shows a connector URL without its password in redactConfig", async () => {
    const lines = [
      "systems:",
      "  app:",
      "    connector: sql",
      ...sqlConfig("postgres://app:inline-secret@db/app"),
      "  other:",
      "    connector: sql",
      ...sqlConfig("postgres://app:${env:APP_DB_PASSWORD}@db/app"),
    ];
    const config = await loadConfig(await writeConfig(lines), {
      env: { APP_DB_PASSWORD: "from-env-secret" },
    });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain("inline-secret");
    expect(shown).not.toContain("from-env-secret");
    expect(redactConfig(config).policy.systems.other?.connectorConfig).toMatchObject({
      url: "postgres://app:${env:APP_DB_PASSWORD}@db/app",
    });
  });
});

describe("systems: problems", () => {
  it("suggests the connector type meant, at the value", async () => {
    const lines = ["systems:", "  wiki:", "    connector: sqll", ...sqlConfig("sqlite:./w.db")];
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        ...at(lines, 3, "sqll"),
        path: "systems.wiki.connector",
        message: `expected one of ${KNOWN_CONNECTORS}, found "sqll" — did you mean "sql"?`,
      }),
    ]);
  });

  it("requires a connector, at the system", async () => {
    const lines = ["systems:", "  wiki:", ...sqlConfig("sqlite:./w.db")];
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        line: 3,
        column: 5,
        path: "systems.wiki.connector",
        message: `missing required key 'connector' (one of ${KNOWN_CONNECTORS})`,
      }),
    ]);
  });

  it("checks config: with the connector's own schema, at the nested key path", async () => {
    const lines = [
      "systems:", // 1
      "  wiki:", // 2
      "    connector: sql", // 3
      "    config:", // 4
      '      url: "ldap://x"', // 5
      "      timeoutMs: soon", // 6
      "      users:", // 7
      "        tabel: users", // 8
      "        id: id", // 9
      "        username: login", // 10
      "        enabled: { column: active }", // 11
      "      memberships: { table: members, user: user_id, group: grp, userRef: nme }", // 12
    ];
    const errors = await errorsOf(lines);
    expect(errors).toEqual([
      expect.objectContaining({
        ...at(lines, 5, '"ldap'),
        path: "systems.wiki.config.url",
        message: expect.stringMatching(/^must be sqlite:PATH, .*, found "ldap:\/\/x"$/),
      }),
      expect.objectContaining({
        ...at(lines, 6, "soon"),
        path: "systems.wiki.config.timeoutMs",
        message: 'expected a number, found "soon"',
      }),
      expect.objectContaining({
        ...at(lines, 8, "tabel"),
        path: "systems.wiki.config.users.table",
        message: "missing required key 'table'",
      }),
      expect.objectContaining({
        ...at(lines, 8, "tabel"),
        path: "systems.wiki.config.users.tabel",
        message: "unknown key 'tabel' — did you mean 'table'?",
      }),
      expect.objectContaining({
        ...at(lines, 12, "nme"),
        path: "systems.wiki.config.memberships.userRef",
        message: 'expected one of "id", "username", found "nme"',
      }),
    ]);
  });

  it("never shows a connector URL's password in a message", async () => {
    const lines = [
      "systems:",
      "  wiki:",
      "    connector: sql",
      "    config:",
      '      url: "ftp://u:hunter22@x/db"',
    ];
    const errors = await errorsOf(lines);
    expect(errors.map((e) => e.message).join("\n")).not.toContain("hunter22");
  });

  it("rejects a placeholder that is not an attribute, at the placeholder, with a suggestion", async () => {
    const lines = [
      "systems:",
      "  wiki:",
      "    connector: sql",
      "    account:",
      '      username: "{givenName}.{familyNme}"',
      '      attributes: { email: "{emial}" }',
      ...sqlConfig("sqlite:./w.db"),
    ];
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        ...at(lines, 5, "{familyNme}"),
        path: "systems.wiki.account.username",
        message: "unknown attribute 'familyNme' in template — did you mean 'familyName'?",
      }),
      expect.objectContaining({
        ...at(lines, 6, "{emial}"),
        path: "systems.wiki.account.attributes.email",
        message: "unknown attribute 'emial' in template — did you mean 'email'?",
      }),
    ]);
  });

  it("checks policies, correlation and retry values", async () => {
    const lines = [
      "systems:", // 1
      "  wiki:", // 2
      "    connector: sql", // 3
      "    drift: enforc", // 4
      "    orphans: delete", // 5
      "    correlation: { identity: mail }", // 6
      "    retry: { baseDelaySeconds: 600, maxDelaySeconds: 60 }", // 7
      "    ownr: x", // 8
      ...sqlConfig("sqlite:./w.db"),
    ];
    const errors = await errorsOf(lines);
    expect(errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`)).toEqual([
      `4:${at(lines, 4, "enforc").column} systems.wiki.drift: expected one of "enforce", "report", found "enforc" — did you mean "enforce"?`,
      `5:${at(lines, 5, "delete").column} systems.wiki.orphans: expected one of "report", "disable", found "delete"`,
      `6:${at(lines, 6, "mail").column} systems.wiki.correlation.identity: ${errors[2]?.message}`,
      `7:${at(lines, 7, "60 }").column} systems.wiki.retry.maxDelaySeconds: expected at least baseDelaySeconds, found 60`,
      `8:5 systems.wiki.ownr: unknown key 'ownr' — did you mean 'owner'?`,
    ]);
    expect(errors[2]?.message).toMatch(/found "mail" — did you mean "email"\?$/);
  });

  it("checks the deadlines and the concurrency of a system, where they are written", async () => {
    const lines = [
      "systems:", // 1
      "  wiki:", // 2
      "    connector: sql", // 3
      "    timeoutSeconds: 0", // 4
      "    readTimeoutSeconds: 5000", // 5
      "    concurrency: 2.5", // 6
      ...sqlConfig("sqlite:./w.db"),
    ];
    const errors = await errorsOf(lines);
    expect(errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`)).toEqual([
      `4:21 systems.wiki.timeoutSeconds: expected a number of seconds above 0 and at most 1200, found 0`,
      `5:25 systems.wiki.readTimeoutSeconds: expected a number of seconds above 0 and at most 1200, found 5000`,
      `6:18 systems.wiki.concurrency: expected a whole number of operations run at once, from 1 to 256, found 2.5`,
    ]);
  });

  it("rejects a system name that is not lowercase, at the name", async () => {
    const errors = await errorsOf([
      "systems:",
      "  Wiki:",
      "    connector: sql",
      ...sqlConfig("sqlite:./w.db"),
    ]);
    expect(errors).toEqual([
      expect.objectContaining({ line: 2, column: 3, message: expect.stringMatching(/^invalid name 'Wiki'/) }),
    ]);
  });
});

describe("entitlements: problems", () => {
  it("requires each system named under entitlements: to be configured, with a suggestion", async () => {
    const lines = [...systems, "  wikki:", "    owners: {}", "  payroll:", "    admins: {}"];
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        line: 22,
        column: 3,
        path: "entitlements.wikki",
        message: "unknown system 'wikki' — did you mean 'wiki'?",
      }),
      expect.objectContaining({
        line: 24,
        column: 3,
        path: "entitlements.payroll",
        message: "unknown system 'payroll': the systems configured under systems: are wiki, deploy",
      }),
    ]);
  });

  it("checks the fields of an entitlement", async () => {
    const lines = [...systems, "  deploy:", "    ops: { privileged: yes, risk: severe, label: x }"].filter(
      (_, i) => i !== 18, // the first `deploy:` under entitlements, so the key is not duplicated
    );
    const errors = await errorsOf(lines);
    expect(errors.map((e) => e.path)).toEqual([
      "entitlements.deploy.ops.privileged",
      "entitlements.deploy.ops.risk",
      "entitlements.deploy.ops.label",
    ]);
    expect(errors[0]?.message).toBe('expected true or false, found "yes"');
  });
});

describe("roles: problems", () => {
  const withRoles = (...roles: string[]) => [...systems, "roles:", ...roles];

  it("requires granted systems and entitlements to exist, each with a suggestion", async () => {
    const lines = withRoles(
      "  engineer:", // 23
      "    grants:", // 24
      "      - { system: deploi, entitlements: [deployers] }", // 25
      "      - { system: deploy, entitlements: [deployer, admins, root] }", // 26
      "      - { system: payroll }", // 27
    );
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        ...at(lines, 25, "deploi"),
        path: "roles.engineer.grants[0].system",
        message: "unknown system 'deploi' — did you mean 'deploy'?",
      }),
      expect.objectContaining({
        ...at(lines, 26, "deployer,"),
        path: "roles.engineer.grants[1].entitlements[0]",
        message: "unknown entitlement 'deployer' of system 'deploy' — did you mean 'deployers'?",
      }),
      expect.objectContaining({
        ...at(lines, 26, "root"),
        path: "roles.engineer.grants[1].entitlements[2]",
        message:
          "unknown entitlement 'root' of system 'deploy': entitlements.deploy declares deployers, admins",
      }),
      expect.objectContaining({
        ...at(lines, 27, "payroll"),
        path: "roles.engineer.grants[2].system",
        message: "unknown system 'payroll': the systems configured under systems: are wiki, deploy",
      }),
    ]);
  });

  it("says when a granted system declares no entitlements at all", async () => {
    const lines = [
      ...systems.slice(0, 14),
      "roles:",
      "  r:",
      "    grants: [{ system: wiki, entitlements: [readers] }]",
    ];
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        ...at(lines, 17, "readers"),
        message:
          "unknown entitlement 'readers': system 'wiki' declares no entitlements (add them under entitlements.wiki)",
      }),
    ]);
  });

  it("requires included roles to exist", async () => {
    const lines = withRoles("  employee: {}", "  engineer:", "    includes: [employe, contractor]");
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        ...at(lines, 25, "employe"),
        path: "roles.engineer.includes[0]",
        message: "unknown role 'employe' — did you mean 'employee'?",
      }),
      expect.objectContaining({
        ...at(lines, 25, "contractor"),
        path: "roles.engineer.includes[1]",
        message: "unknown role 'contractor': no role of that name is defined under roles:",
      }),
    ]);
  });

  it("reports each include cycle once, at the role of the cycle written first", async () => {
    const lines = withRoles(
      "  base: {}", // 23
      "  a:", // 24
      "    includes: [base, b]", // 25
      "  b:", // 26
      "    includes: [c]", // 27
      "  c:", // 28
      "    includes: [a]", // 29
      "  selfish:", // 30
      "    includes: [selfish]", // 31
    );
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({ line: 24, column: 3, path: "roles.a", message: "role cycle: a → b → c → a" }),
      expect.objectContaining({
        line: 30,
        column: 3,
        path: "roles.selfish",
        message: "role cycle: selfish → selfish",
      }),
    ]);
  });

  it("places a rule's problem at the offending token of a quoted, plain or block value", async () => {
    const lines = withRoles(
      "  a:", // 23
      `    when: "employmentType == 'employee' || departmnet == 'Sales'"`, // 24
      "  b:", // 25
      "    when: department = 'Sales'", // 26
      "  c:", // 27
      "    when: |", // 28
      "      department == 'Sales' &&", // 29
      "        title.startsWith(1)", // 30
      "  d:", // 31
      "    when: department", // 32
    );
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        ...at(lines, 24, "departmnet"),
        path: "roles.a.when",
        message: "unknown attribute 'departmnet' — did you mean 'department'?",
      }),
      expect.objectContaining({
        ...at(lines, 26, "= "),
        path: "roles.b.when",
        message: "syntax error: Unexpected character: = (compare with ==)",
      }),
      expect.objectContaining({
        line: 30,
        path: "roles.c.when",
        message: expect.stringMatching(
          /^type error: found no matching overload for 'string.startsWith\(int\)'/,
        ),
      }),
      expect.objectContaining({
        ...at(lines, 32, "department"),
        path: "roles.d.when",
        message: "a rule must be true or false, but this one gives a string",
      }),
    ]);
  });

  it("refuses at file:line a pattern RE2 cannot match in linear time, and literal loops over the budget", async () => {
    const big = `[${Array.from({ length: 101 }, (_, i) => `'v${i}'`).join(", ")}]`;
    const lines = withRoles(
      "  a:", // 23
      "    when: title.matches('^E(?=n)')", // 24
      "  b:", // 25
      `    when: "${big}.exists(x, ${big}.exists(y, x + y == title))"`, // 26
    );
    expect(await errorsOf(lines)).toEqual([
      expect.objectContaining({
        ...at(lines, 24, "'^"),
        path: "roles.a.when",
        message: expect.stringMatching(/^matches\(\): '.*' is not a pattern Tenure runs \(RE2 syntax/),
      }),
      expect.objectContaining({
        ...at(lines, 26, "['v0'"),
        path: "roles.b.when",
        message: expect.stringMatching(/^this rule iterates over 10,302 list elements .* budget of 10,000$/),
      }),
    ]);
  });

  it("reports rule problems together with schema problems elsewhere in the file", async () => {
    const lines = withRoles("  a:", "    when: titel == 'x'", "    requestable: maybe");
    const errors = await errorsOf(lines);
    expect(errors.map((e) => e.path)).toEqual(["roles.a.when", "roles.a.requestable"]);
  });

  it("rejects unknown keys in a role and in a grant", async () => {
    const lines = withRoles("  a:", "    include: [b]", "    grants: [{ sytem: wiki }]");
    const errors = await errorsOf(lines);
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      "roles.a.include: unknown key 'include' — did you mean 'includes'?",
      "roles.a.grants[0].system: missing required key 'system'",
      "roles.a.grants[0].sytem: unknown key 'sytem' — did you mean 'system'?",
    ]);
  });
});
