import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { type ConfigIssue, loadConfig, validateConfigFile } from "./config-loader.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-sod-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(lines: readonly string[]): Promise<string> {
  const file = join(dir, "tenure.yaml");
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

async function errorsOf(lines: readonly string[]): Promise<string[]> {
  const { config, errors } = await validateConfigFile(await write(lines), { env: {} });
  expect(config).toBeUndefined();
  return errors.map((e: ConfigIssue) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
}

const base = [
  "systems:", // 1
  "  erp:", // 2
  "    connector: sql", // 3
  "    owner: erp-owner@example.test", // 4
  "    config:", // 5
  '      url: "sqlite:./erp.db"', // 6
  "      users: { table: users, id: id, username: login, enabled: { column: active } }", // 7
  "      memberships: { table: members, user: user_id, group: grp }", // 8
  "entitlements:", // 9
  "  erp:", // 10
  "    vendor-create: {}", // 11
  "    payment-approve: {}", // 12
  "    report: {}", // 13
  "roles:", // 14
  "  ap-clerk:", // 15
  "    grants: [{ system: erp, entitlements: [vendor-create] }]", // 16
  "  ap-approver:", // 17
  "    grants: [{ system: erp, entitlements: [payment-approve] }]", // 18
  "  db-admin: {}", // 19
  "  net-admin: {}", // 20
  "  cloud-admin: {}", // 21
];

describe("sod: in tenure.yaml", () => {
  it("compiles a pair rule and an atMost rule with their items, severity, owner, scope and mitigations", async () => {
    const file = await write([
      ...base,
      "sod:", // 22
      "  onBirthrightConflict: withhold", // 23
      "  rules:", // 24
      "    vendor-payment:", // 25
      "      description: Can create a vendor and approve its payment", // 26
      "      severity: high", // 27
      "      owner: cfo@example.test", // 28
      "      scope: 'employmentType != \"contractor\"'", // 29
      "      sideA:", // 30
      "        roles: [ap-clerk]", // 31
      "        entitlements: [erp:vendor-create]", // 32
      "      sideB:", // 33
      "        entitlements: [erp:payment-approve]", // 34
      "      mitigations:", // 35
      "        - control: Monthly review of vendor master changes", // 36
      "          owner: controller@example.test", // 37
      "        - control: Dual control on payment runs", // 38
      "    admin-sprawl:", // 39
      "      description: One person administering too many production systems", // 40
      "      severity: medium", // 41
      "      atMost: 2", // 42
      "      of:", // 43
      "        roles: [db-admin, net-admin, cloud-admin]", // 44
    ]);
    const config = await loadConfig(file, { env: {} });
    const sod = config.policy.sod;
    expect(sod?.onBirthrightConflict).toBe("withhold");
    expect(Object.keys(sod?.rules ?? {})).toEqual(["vendor-payment", "admin-sprawl"]);
    const pair = sod?.rules["vendor-payment"];
    expect(pair).toMatchObject({
      name: "vendor-payment",
      description: "Can create a vendor and approve its payment",
      severity: "high",
      owner: "cfo@example.test",
      condition: {
        kind: "pair",
        sideA: [
          { kind: "role", role: "ap-clerk" },
          { kind: "entitlement", system: "erp", entitlement: "vendor-create" },
        ],
        sideB: [{ kind: "entitlement", system: "erp", entitlement: "payment-approve" }],
      },
      mitigations: [
        { control: "Monthly review of vendor master changes", owner: "controller@example.test" },
        { control: "Dual control on payment runs", owner: null },
      ],
      location: { file, line: 25, column: 5 },
    });
    expect(pair?.scope).toMatchObject({
      source: 'employmentType != "contractor"',
      location: { line: 29, column: 14 },
    });
    expect(pair?.scope?.evaluate(workerAttributes()).value).toBe(true);
    expect(pair?.scope?.evaluate(workerAttributes({ employmentType: "contractor" })).value).toBe(false);
    expect(sod?.rules["admin-sprawl"]).toMatchObject({
      severity: "medium",
      owner: null,
      scope: null,
      mitigations: [],
      condition: {
        kind: "atMost",
        max: 2,
        items: [
          { kind: "role", role: "db-admin" },
          { kind: "role", role: "net-admin" },
          { kind: "role", role: "cloud-admin" },
        ],
      },
      location: { line: 39 },
    });
  });

  it("reports by default, and has no sod at all when the section is absent", async () => {
    const withSection = await loadConfig(await write([...base, "sod: {}"]), { env: {} });
    expect(withSection.policy.sod).toEqual({ onBirthrightConflict: "report", rules: {} });
    const without = await loadConfig(await write(base), { env: {} });
    expect(without.policy.sod).toBeUndefined();
    expect(Object.hasOwn(without.policy, "sod")).toBe(false);
  });

  it("reports each unknown role, system and entitlement where it is written, with the nearest name", async () => {
    const errors = await errorsOf([
      ...base,
      "sod:", // 22
      "  rules:", // 23
      "    vendor-payment:", // 24
      "      description: Can create a vendor and approve its payment", // 25
      "      severity: high", // 26
      "      sideA:", // 27
      "        roles: [ap-clerc, ap-approver]", // 28
      "        entitlements: [erp:vendor-creat, epr:vendor-create]", // 29
      "      sideB:", // 30
      "        roles: [nobody-like-this]", // 31
      "        entitlements: [erp:zzz]", // 32
    ]);
    expect(errors).toEqual([
      "28:17 sod.rules.vendor-payment.sideA.roles[0]: unknown role 'ap-clerc' — did you mean 'ap-clerk'?",
      "29:24 sod.rules.vendor-payment.sideA.entitlements[0]: unknown entitlement 'vendor-creat' of system 'erp' — did you mean 'vendor-create'?",
      "29:42 sod.rules.vendor-payment.sideA.entitlements[1]: unknown system 'epr' — did you mean 'erp'?",
      "31:17 sod.rules.vendor-payment.sideB.roles[0]: unknown role 'nobody-like-this': no role of that name is defined under roles:",
      "32:24 sod.rules.vendor-payment.sideB.entitlements[0]: unknown entitlement 'zzz' of system 'erp': entitlements.erp declares vendor-create, payment-approve, report",
    ]);
  });

  it("reports a rule with both forms, neither, or half of one, and an atMost nobody could exceed", async () => {
    // A rule's name, description and severity: three lines.
    const rule = (name: string, ...body: string[]) => [
      `    ${name}:`,
      "      description: d",
      "      severity: low",
      ...body,
    ];
    const errors = await errorsOf([
      ...base,
      "sod:", // 22
      "  rules:", // 23
      ...rule("both", "      sideA: { roles: [ap-clerk] }", "      sideB: { roles: [ap-approver] }"), // 24-28
      "      atMost: 1", // 29
      "      of: { roles: [db-admin, net-admin] }", // 30
      ...rule("neither"), // 31-33
      ...rule("half", "      sideA: { roles: [ap-clerk] }"), // 34-37
      ...rule("no-set", "      atMost: 1"), // 38-41
      ...rule("too-many", "      atMost: 2", "      of: { roles: [db-admin, net-admin] }"), // 42-46
    ]);
    expect(errors).toEqual([
      "29:7 sod.rules.both.atMost: a rule has one form: sideA and sideB (any of one with any of the other), or atMost and of (at most N of a set) — not both",
      "31:5 sod.rules.neither: expected sideA and sideB (any of one with any of the other), or atMost and of (at most N of a set)",
      "37:7 sod.rules.half.sideA: expected sideB too: the rule is any item of sideA held with any item of sideB",
      "41:7 sod.rules.no-set.atMost: expected of too: the set of which at most this many may be held",
      "45:15 sod.rules.too-many.atMost: expected fewer than the 2 items of 'of': with atMost 2 nobody could ever break the rule",
    ]);
  });

  it("reports an item on both sides of a pair rule, at its place on side B", async () => {
    const errors = await errorsOf([
      ...base,
      "sod:", // 22
      "  rules:", // 23
      "    vendor-payment:", // 24
      "      description: d", // 25
      "      severity: high", // 26
      "      sideA: { roles: [ap-clerk], entitlements: [erp:report] }", // 27
      "      sideB: { roles: [ap-approver], entitlements: [erp:report] }", // 28
    ]);
    expect(errors).toEqual([
      "28:53 sod.rules.vendor-payment.sideB.entitlements[0]: erp:report is on both sides of this rule: whoever holds it would break the rule with nothing else",
    ]);
  });

  it("points a scope that does not compile at the offending character", async () => {
    const errors = await errorsOf([
      ...base,
      "sod:", // 22
      "  rules:", // 23
      "    vendor-payment:", // 24
      "      description: d", // 25
      "      severity: high", // 26
      "      scope: \"employmentType != 'contractor' && departmnt == 'Finance'\"", // 27
      "      sideA: { roles: [ap-clerk] }", // 28
      "      sideB: { roles: [ap-approver] }", // 29
    ]);
    expect(errors).toEqual([
      "27:49 sod.rules.vendor-payment.scope: unknown attribute 'departmnt' — did you mean 'department'?",
    ]);
  });

  it("checks the shape of each rule: names, keys, severity, SYSTEM:KEY, sets, counts", async () => {
    const errors = await errorsOf([
      ...base,
      "sod:", // 22
      "  onBirthrightConflict: block", // 23
      "  rules:", // 24
      "    vendor-payment:", // 25
      "      description: d", // 26
      "      severity: hihg", // 27
      "      sideA: { roles: [ap-clerk, ap-clerk], entitlements: [vendor-create] }", // 28
      "      sideB: {}", // 29
      "      mitigation: []", // 30
      "    sprawl:", // 31
      "      description: ' '", // 32
      "      severity: low", // 33
      "      atMost: 0", // 34
      "      of: { roles: [db-admin], groups: [x] }", // 35
      "    Bad_Name: { description: d, severity: low }", // 36
    ]);
    expect(errors).toEqual([
      '23:25 sod.onBirthrightConflict: expected report or withhold, found "block"',
      '27:17 sod.rules.vendor-payment.severity: expected high, medium, low, found "hihg" — did you mean "high"?',
      '28:34 sod.rules.vendor-payment.sideA.roles[1]: listed twice in this set, found "ap-clerk"',
      '28:60 sod.rules.vendor-payment.sideA.entitlements[0]: expected SYSTEM:KEY, e.g. erp:payment-approve, found "vendor-create"',
      "29:14 sod.rules.vendor-payment.sideB: expected at least one item in roles or entitlements, found a mapping",
      "30:7 sod.rules.vendor-payment.mitigation: unknown key 'mitigation' — did you mean 'mitigations'?",
      '32:20 sod.rules.sprawl.description: expected the risk in words, 1 to 500 characters, found " "',
      "34:15 sod.rules.sprawl.atMost: expected how many items of 'of' one person may hold (1 or more), found 0",
      "35:32 sod.rules.sprawl.of.groups: unknown key 'groups' — expected one of: roles, entitlements",
      "36:5 sod.rules.Bad_Name: invalid name 'Bad_Name': a rule name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
    ]);
  });

  it("refuses more than 1,000 rules, and more than 500 items in one set", async () => {
    const many = Array.from({ length: 1001 }, (_, i) => `    r${i}: { description: d, severity: low }`);
    expect(await errorsOf([...base, "sod:", "  rules:", ...many])).toEqual([
      "24:5 sod.rules: expected at most 1,000 rules, found a mapping",
    ]);
    const items = Array.from({ length: 501 }, (_, i) => `erp:e${i}`).join(", ");
    const big = await errorsOf([
      ...base,
      "sod:", // 22
      "  rules:", // 23
      "    big:", // 24
      "      description: d", // 25
      "      severity: low", // 26
      "      atMost: 1", // 27
      `      of: { entitlements: [${items}] }`, // 28
    ]);
    expect(big).toEqual([
      "28:11 sod.rules.big.of: expected at most 500 roles and entitlements in one set (it lists 501), found a mapping",
    ]);
  });

  it("reports a role that breaks a rule by its own definition at the role, naming the rule and where it is written", async () => {
    const errors = await errorsOf([
      ...base,
      "  ap-lead:", // 22
      "    includes: [ap-clerk]", // 23
      "    grants: [{ system: erp, entitlements: [payment-approve] }]", // 24
      "  ops:", // 25
      "    includes: [db-admin, net-admin, cloud-admin]", // 26
      "  maker-checker:", // 27
      "    grants: [{ system: erp, entitlements: [vendor-create, payment-approve] }]", // 28
      "sod:", // 29
      "  rules:", // 30
      "    vendor-payment:", // 31
      "      description: Can create a vendor and approve its payment", // 32
      "      severity: high", // 33
      "      scope: \"department == 'Finance'\"", // 34
      "      sideA: { entitlements: [erp:vendor-create] }", // 35
      "      sideB: { roles: [ap-approver], entitlements: [erp:payment-approve] }", // 36
      "    admin-sprawl:", // 37
      "      description: One person administering too many production systems", // 38
      "      severity: medium", // 39
      "      atMost: 2", // 40
      "      of: { roles: [db-admin, net-admin, cloud-admin] }", // 41
    ]);
    const file = join(dir, "tenure.yaml");
    expect(errors).toEqual([
      `22:3 roles.ap-lead: role 'ap-lead' breaks separation-of-duties rule 'vendor-payment' (${file}:31) by itself: it holds erp:vendor-create (through role ap-clerk) of side A and erp:payment-approve of side B — for everyone in the rule's scope`,
      `25:3 roles.ops: role 'ops' breaks separation-of-duties rule 'admin-sprawl' (${file}:37) by itself: it holds role db-admin, role net-admin and role cloud-admin, more than the 2 the rule allows`,
      `27:3 roles.maker-checker: role 'maker-checker' breaks separation-of-duties rule 'vendor-payment' (${file}:31) by itself: it holds erp:vendor-create of side A and erp:payment-approve of side B — for everyone in the rule's scope`,
    ]);
  });

  it("loads the example of docs/configuration.md as written", async () => {
    const doc = await readFile(
      fileURLToPath(new URL("../../docs/configuration.md", import.meta.url)),
      "utf8",
    );
    const section = doc.slice(doc.indexOf("## `sod`"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(yaml.startsWith("sod:")).toBe(true);
    const config = await loadConfig(await write([...base, ...yaml.trimEnd().split("\n")]), { env: {} });
    expect(Object.keys(config.policy.sod?.rules ?? {})).toEqual(["vendor-payment", "admin-sprawl"]);
    expect(config.policy.sod?.onBirthrightConflict).toBe("report");
  });
});
