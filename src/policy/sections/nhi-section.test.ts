import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfigText } from "../config-loader.js";

const HEAD = [
  "systems:", // 1
  "  directory:", // 2
  "    connector: manual", // 3
  "    owner: it@example.test", // 4
  '    account: { username: "{employeeId}" }', // 5
  "    config: { fulfiller: it@example.test }", // 6
  "entitlements:", // 7
  "  directory:", // 8
  "    billing-readers: { displayName: Billing readers }", // 9
];

describe("nhi section", () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tenure-nhi-section-"));
    file = path.join(dir, "tenure.yaml");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const validate = (lines: string[]) =>
    validateConfigText([...HEAD, ...lines].join("\n"), { path: file, env: {} });

  it("compiles the policy with its defaults, the inventory and the discovery rules", async () => {
    await writeFile(
      path.join(dir, "inventory.yaml"),
      "- { name: from-file, type: oauth_app, owner: E1002, scopes: [read:user] }\n",
    );
    const { config, errors } = await validate([
      "nhi:", // 10
      "  policy:", // 11
      "    maxCredentialAge: { agent: 7d, api_key: off }", // 12
      "    onOwnerLeave: { passTo: fallback, fallback: E9000, confirmWithin: 3d }", // 13
      "  inventory:", // 14
      "    - name: billing-export", // 15
      "      type: service_account", // 16
      "      system: directory", // 17
      "      owner: E1001", // 18
      "      created: 2026-01-10", // 19
      "      expires: 2027-01-10", // 20
      '      entitlements: ["directory:billing-readers"]', // 21
      "  inventoryFiles: [./inventory.yaml]", // 22
      "  discover:", // 23
      '    - { system: directory, dnUnder: "ou=services,dc=example,dc=org" }', // 24
    ]);
    expect(errors).toEqual([]);
    const nhi = config!.nhi!;
    expect(nhi.policy.maxCredentialAgeMs).toEqual({
      service_account: 90 * 86_400_000,
      oauth_app: 365 * 86_400_000,
      certificate: 398 * 86_400_000,
      agent: 7 * 86_400_000,
    });
    expect(nhi.policy.expiryWarningsMs).toEqual([30, 7, 1].map((d) => d * 86_400_000));
    expect(nhi.policy.onOwnerLeave).toEqual({
      passTo: "fallback",
      fallback: "E9000",
      confirmWithinMs: 3 * 86_400_000,
      onMove: false,
      otherwise: "disable",
    });
    expect(nhi.inventory.map((d) => [d.name, d.origin, d.location.line])).toEqual([
      ["billing-export", "config", 15],
      ["from-file", "file", 1],
    ]);
    expect(nhi.inventory[1]?.location.file).toBe(path.join(dir, "inventory.yaml"));
    expect(nhi.discover).toEqual([
      expect.objectContaining({ system: "directory", type: "service_account", usernameLike: null }),
    ]);
    expect(nhi.schedule).toBe("0 * * * *");
  });

  it("reports unknown systems and entitlements, a bad type and expiry before creation at file:line", async () => {
    const { errors } = await validate([
      "nhi:", // 10
      "  inventory:", // 11
      "    - { name: a, type: robot }", // 12
      "    - name: b", // 13
      "      type: api_key", // 14
      "      system: directori", // 15
      '      entitlements: ["directory:billing-writers", "erp:x"]', // 16
      "      created: 2026-05-01", // 17
      "      expires: 2026-04-01", // 18
      "  discover:", // 19
      "    - { system: nowhere, usernameLike: svc_% }", // 20
      "  policy: { onOwnerLeave: { passTo: fallback } }", // 21
    ]);
    const brief = errors.map((e) => [e.line, e.path, e.message]);
    expect(brief).toEqual([
      [12, "nhi.inventory[0].type", expect.stringMatching(/^expected a type: service_account, api_key/)],
    ]);
    // Schema problems stop the load before cross-checks; the rest once the type is right.
    const second = await validate([
      "nhi:", // 10
      "  inventory:", // 11
      "    - { name: a, type: agent }", // 12
      "    - name: b", // 13
      "      type: api_key", // 14
      "      system: directori", // 15
      '      entitlements: ["directory:billing-writers", "erp:x"]', // 16
      "      created: 2026-05-01", // 17
      "      expires: 2026-04-01", // 18
      "  discover:", // 19
      "    - { system: nowhere, usernameLike: svc_% }", // 20
      "  policy: { onOwnerLeave: { passTo: fallback } }", // 21
    ]);
    expect(second.errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [15, "nhi.inventory[1].system", "unknown system 'directori' — did you mean 'directory'?"],
      [
        16,
        "nhi.inventory[1].entitlements[0]",
        expect.stringMatching(/^unknown entitlement 'billing-writers'/),
      ],
      [16, "nhi.inventory[1].entitlements[1]", expect.stringMatching(/^unknown system 'erp'/)],
      [18, "nhi.inventory[1].expires", "expires (2026-04-01) is before created (2026-05-01)"],
      [20, "nhi.discover[0].system", expect.stringMatching(/^unknown system 'nowhere'/)],
      [21, "nhi.policy.onOwnerLeave.passTo", expect.stringMatching(/needs a fallback/)],
    ]);
  });

  it("compiles unusedAfter per type and last use per NHI and scope; reports a bad one at file:line", async () => {
    const { config, errors } = await validate([
      "nhi:", // 10
      "  policy:", // 11
      "    unusedAfter: { oauth_app: 45d, agent: off }", // 12
      "  inventory:", // 13
      "    - name: gh-app", // 14
      "      type: oauth_app", // 15
      "      lastUsed: 2026-05-01", // 16
      "      scopes: [read:user, repo]", // 17
      '      scopeLastUsed: { read:user: "2026-05-01T10:00:00Z" }', // 18
    ]);
    expect(errors).toEqual([]);
    const nhi = config!.nhi!;
    expect(nhi.policy.unusedAfterMs).toEqual({
      service_account: 90 * 86_400_000,
      api_key: 90 * 86_400_000,
      oauth_app: 45 * 86_400_000,
    });
    expect(nhi.inventory[0]).toMatchObject({
      lastUsed: "2026-05-01",
      scopeLastUsed: { "read:user": "2026-05-01T10:00:00Z" },
    });
    const bad = await validate([
      "nhi:", // 10
      "  inventory:", // 11
      "    - name: gh-app", // 12
      "      type: oauth_app", // 13
      "      created: 2026-05-01", // 14
      "      lastUsed: 2026-04-01", // 15
      "      scopes: [read:user]", // 16
      "      scopeLastUsed: { admin:org: 2026-05-02 }", // 17
    ]);
    expect(bad.errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [15, "nhi.inventory[0].lastUsed", "lastUsed (2026-04-01) is before created (2026-05-01)"],
      [
        17,
        `nhi.inventory[0].scopeLastUsed["admin:org"]`,
        "scope admin:org has a last use but is not in scopes (read:user)",
      ],
    ]);
    const notADate = await validate([
      "nhi:", // 10
      "  inventory:", // 11
      "    - { name: x, type: agent, lastUsed: yesterday }", // 12
    ]);
    expect(notADate.errors.map((e) => [e.line, e.path])).toEqual([[12, "nhi.inventory[0].lastUsed"]]);
  });

  it("reports problems in an inventory file at that file's line, and a name declared twice", async () => {
    const inventory = path.join(dir, "bad.yaml");
    await writeFile(
      inventory,
      [
        "- name: ok-one", // 1
        "  type: agent", // 2
        "- name: billing-export", // 3
        "  type: api_key", // 4
        "  system: directori", // 5
      ].join("\n"),
    );
    const { errors } = await validate([
      "nhi:", // 10
      "  inventory:", // 11
      "    - { name: billing-export, type: service_account }", // 12
      "  inventoryFiles: [./bad.yaml, ./missing.yaml]", // 13
    ]);
    expect(errors.map((e) => [path.basename(e.file), e.line, e.path, e.message])).toEqual([
      [
        "bad.yaml",
        3,
        "[1].name",
        expect.stringMatching(/^NHI 'billing-export' is declared twice: first at .*:12$/),
      ],
      ["bad.yaml", 5, "[1].system", expect.stringMatching(/^unknown system 'directori'/)],
      [
        "tenure.yaml",
        13,
        "nhi.inventoryFiles[1]",
        expect.stringMatching(/^inventory file not found: .*missing\.yaml$/),
      ],
    ]);

    await writeFile(inventory, "- { name: x, type: agent, ownr: E1 }\n- [not, an, entry]\n");
    const schema = await validate(["nhi:", "  inventoryFiles: [./bad.yaml]"]);
    expect(schema.errors.map((e) => [path.basename(e.file), e.line, e.column, e.message])).toEqual([
      ["bad.yaml", 1, 27, expect.stringMatching(/^unknown key 'ownr' — did you mean 'owner'\?/)],
      ["bad.yaml", 2, 3, expect.stringMatching(/^expected a mapping/)],
    ]);
  });

  it("reads a JSON inventory file the fast way, every entry and problem still at its file:line", async () => {
    const json = path.join(dir, "inventory.json");
    await writeFile(
      json,
      [
        "[", // 1
        '  { "name": "one", "type": "agent" },', // 2
        '  {"name": "two", "type": "api_key", "system": "directory",', // 3
        '   "entitlements": ["directory:billing-readers"]}, { "name": "three", "type": "oauth_app",', // 4
        '   "purpose": "a \\"quoted\\" [purpose], {with} brackets" }', // 5
        "]", // 6
      ].join("\n"),
    );
    const ok = await validate(["nhi:", "  inventoryFiles: [./inventory.json]"]);
    expect(ok.errors).toEqual([]);
    expect(ok.config!.nhi!.inventory.map((d) => [d.name, d.location.line, d.location.column])).toEqual([
      ["one", 2, 3],
      ["two", 3, 3],
      ["three", 4, 52],
    ]);
    expect(ok.config!.nhi!.inventory[2]?.purpose).toBe('a "quoted" [purpose], {with} brackets');

    // A problem the section finds inside an entry: located in the file's text.
    await writeFile(
      json,
      '[\n  { "name": "one", "type": "agent" },\n  { "name": "two", "type": "agent",\n    "system": "nowhere" }\n]\n',
    );
    const section = await validate(["nhi:", "  inventoryFiles: [./inventory.json]"]);
    expect(section.errors.map((e) => [path.basename(e.file), e.line, e.path, e.message])).toEqual([
      ["inventory.json", 4, "[1].system", expect.stringMatching(/^unknown system 'nowhere'/)],
    ]);

    // An invalid entry and a syntax error: read again with positions.
    await writeFile(
      json,
      '[\n  { "name": "one", "type": "agent" },\n  { "name": "two", "type": "robot" }\n]\n',
    );
    const schema = await validate(["nhi:", "  inventoryFiles: [./inventory.json]"]);
    expect(schema.errors.map((e) => [path.basename(e.file), e.line, e.path, e.message])).toEqual([
      ["inventory.json", 3, "[1].type", expect.stringMatching(/^expected a type/)],
    ]);
    await writeFile(
      json,
      '[\n  { "name": "one", "type": "agent" },\n  { "name": "two" "type": "agent" }\n]\n',
    );
    const syntax = await validate(["nhi:", "  inventoryFiles: [./inventory.json]"]);
    expect(syntax.errors[0]).toMatchObject({ line: 3, message: expect.stringMatching(/syntax error/) });
    expect(path.basename(syntax.errors[0]!.file)).toBe("inventory.json");
    // A key written twice: JSON.parse would keep the last silently; it is an error at its line.
    await writeFile(
      json,
      '[\n  { "name": "one", "type": "agent" },\n  { "name": "two", "type": "agent",\n    "name": "three" }\n]\n',
    );
    const twice = await validate(["nhi:", "  inventoryFiles: [./inventory.json]"]);
    expect(twice.errors[0]).toMatchObject({ line: 4, message: expect.stringMatching(/unique/) });
  });

  it("accepts certificates and rotation under nhi", async () => {
    const { config, errors } = await validate([
      "nhi:",
      "  certificates: { paths: [./certs] }",
      "  rotation: { sink: { file: ./secrets.jsonl } }",
    ]);
    expect(errors).toEqual([]);
    expect(config!.nhi!.certificates?.paths).toEqual([path.join(dir, "certs")]);
    expect(config!.nhi!.rotation?.schedule).toBe("off");
  });
});
