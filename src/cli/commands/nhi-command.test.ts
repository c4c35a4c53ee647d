import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { testPerson } from "../../../test/helpers/test-person.js";
import { tempDir } from "../../../test/helpers/workspace.js";
import type { Identity } from "../../domain/identity-types.js";
import { loadConfig } from "../../policy/config-loader.js";
import { openStore } from "../../store/database.js";
import { identityRepository } from "../../store/identity-repository.js";
import { run } from "../program.js";

const YAML = `database: sqlite:./t.db
sources:
  hr: { type: push, key: employeeId }
nhi:
  policy:
    allowedScopes: { oauth_app: [read:user] }
  inventory:
    - { name: billing-export, type: service_account, owner: E1, purpose: "nightly billing export" }
    - { name: gh-app, type: oauth_app, owner: E1, scopes: [read:user, admin:org] }
`;

const person = (key: string, manager: string | null, state: Identity["state"]) =>
  testPerson(key, { manager, state });

/** `tenure …` in process, stdout and stderr captured, with the exit code. */
async function tenure(file: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, "write").mockImplementation((c) => out.push(String(c)) > 0);
  const e = vi.spyOn(process.stderr, "write").mockImplementation((c) => err.push(String(c)) > 0);
  try {
    const code = await run(["--config", file, ...args]);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe("tenure nhi", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let file: string;
  const setPeople = async (people: Identity[]) => {
    const config = await loadConfig(file, { env: {} });
    const store = await openStore(config.database, { baseDir: dir.dir });
    await identityRepository.upsertMany(store.db, people);
    await store.close();
  };
  beforeAll(async () => {
    dir = await tempDir("tenure-nhi-cli-");
    file = path.join(dir.dir, "tenure.yaml");
    await writeFile(file, YAML);
    await setPeople([
      person("E1", "E2", "active"),
      person("E2", null, "active"),
      person("E3", null, "active"),
    ]);
  });
  afterAll(() => dir.dispose());

  it("syncs the inventory and lists it with its findings", async () => {
    const sync = await tenure(file, "nhi", "sync");
    expect(sync).toMatchObject({ code: 0, out: expect.stringMatching(/^2 created, 0 updated, 0 removed/) });
    const list = await tenure(file, "nhi", "list", "--findings");
    expect(list.out).toMatch(/^NAME\s+TYPE\s+SYSTEM\s+OWNER\s+STATUS/);
    expect(list.out).toMatch(/billing-export\s+service_account\s+-\s+E1\s+active/);
    expect(list.out).toMatch(/high +scope_disallowed +gh-app: scope admin:org is not allowed for oauth_app/);
    const shown = JSON.parse((await tenure(file, "--json", "nhi", "show", "billing-export")).out);
    expect(shown).toMatchObject({
      name: "billing-export",
      owner: "E1",
      purpose: "nightly billing export",
      findings: [],
    });
    expect((await tenure(file, "nhi", "show", "nope")).code).toBe(1);
  });

  it("passes ownership on when the owner leaves; only the pending owner may confirm", async () => {
    await setPeople([person("E1", "E2", "terminated")]);
    const sync = await tenure(file, "nhi", "sync");
    expect(sync.out).toContain("billing-export: ownership pending to identity id-E2");
    const refused = await tenure(file, "nhi", "confirm", "billing-export", "--as", "E3");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("only the pending owner may confirm ownership");
    const confirmed = await tenure(file, "nhi", "confirm", "billing-export", "--as", "E2");
    expect(confirmed).toMatchObject({ code: 0, out: "E2 now owns billing-export\n" });
    const json = JSON.parse((await tenure(file, "--json", "nhi", "list")).out) as {
      nhis: { name: string; owner: string; status: string }[];
    };
    expect(json.nhis.map((n) => [n.name, n.owner, n.status])).toEqual([
      ["billing-export", "E2", "active"],
      ["gh-app", "E1", "pending"],
    ]);
  });

  it("assign-owner makes an active person the owner; an unknown or terminated one is refused", async () => {
    const unknown = await tenure(file, "nhi", "assign-owner", "gh-app", "--owner", "E77");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("owner E77 is not an identity Tenure knows; nothing was changed");
    const gone = await tenure(file, "nhi", "assign-owner", "gh-app", "--owner", "E1");
    expect(gone.code).toBe(1);
    expect(gone.err).toContain("is terminated: an owner must be an active person");
    const done = await tenure(
      file,
      "--json",
      "nhi",
      "assign-owner",
      "gh-app",
      "--owner",
      "E3",
      "--co-owner",
      "E2",
    );
    expect(done.code, done.err).toBe(0);
    expect(JSON.parse(done.out)).toEqual({
      name: "gh-app",
      owner: "E3",
      coOwners: ["E2"],
      previousOwner: "E1",
      previousCoOwners: [],
      changed: true,
      accounts: [],
    });
    const again = await tenure(file, "nhi", "assign-owner", "gh-app", "--owner", "E3", "--co-owner", "E2");
    expect(again.out).toBe("E3 already owns gh-app (co-owners E2): nothing changed\n");
    const shown = await tenure(file, "nhi", "show", "gh-app");
    expect(shown.out).toMatch(
      /owner: +E3 \(assigned by cli:\S+ on \d{4}-\d{2}-\d{2}; the inventory names E1\)/,
    );
    expect(shown.out).toMatch(/co-owners: +E2/);
    expect(shown.out).toMatch(/status: +active/);
    expect((await tenure(file, "nhi", "assign-owner", "gh-app")).code).toBe(2);
  });
});

describe("tenure nhi: a disabled NHI's account in sync and show", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let file: string;
  beforeAll(async () => {
    dir = await tempDir("tenure-nhi-cli-hold-");
    file = path.join(dir.dir, "tenure.yaml");
    await writeFile(
      file,
      `database: sqlite:./t.db
sources:
  hr: { type: push, key: employeeId }
nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
    - { name: stray-key, type: api_key, owner: E5, purpose: "a key nobody can switch off from here" }
    - { name: other-key, type: api_key, owner: E6 }
`,
    );
    const config = await loadConfig(file, { env: {} });
    const store = await openStore(config.database, { baseDir: dir.dir });
    await identityRepository.upsertMany(store.db, [
      person("E5", null, "active"),
      person("E6", null, "active"),
    ]);
    await store.close();
    expect((await tenure(file, "nhi", "sync")).code).toBe(0);
    // E5 leaves; nobody to pass to: stray-key is disabled, and it names no system.
    const again = await openStore(config.database, { baseDir: dir.dir });
    await identityRepository.upsertMany(again.db, [person("E5", null, "terminated")]);
    await again.close();
  });
  afterAll(() => dir.dispose());

  it("prints each account result of the sync in text, as in JSON", async () => {
    const sync = await tenure(file, "nhi", "sync");
    expect(sync.code, sync.err).toBe(0);
    expect(sync.out).toContain("  stray-key: disabled (nobody took ownership)\n");
    expect(sync.out).toContain(
      "  stray-key: account no system: CANNOT BE DISABLED by Tenure: it names no system: Tenure knows no account to disable",
    );
    // Settled once: the next sync has nothing to say of it.
    const json = JSON.parse((await tenure(file, "--json", "nhi", "sync")).out);
    expect(json.succession.accounts).toEqual([]);
  });

  it("shows the hold and the cannot-be-disabled finding in text and JSON", async () => {
    const text = await tenure(file, "nhi", "show", "stray-key");
    expect(text.out).toMatch(/status: +disabled/);
    expect(text.out).toMatch(
      /account: +no system: cannot be disabled by Tenure \(since \d{4}-\d{2}-\d{2}\): it names no system/,
    );
    expect(text.out).toMatch(/high +disable_unenforced +disabled, but Tenure cannot disable its credential/);
    const json = JSON.parse((await tenure(file, "--json", "nhi", "show", "stray-key")).out);
    expect(json.accountHold).toMatchObject({ state: "unenforced", system: null, username: null });
    expect(json.findings).toContainEqual(
      expect.objectContaining({ code: "disable_unenforced", severity: "high" }),
    );
    const other = JSON.parse((await tenure(file, "--json", "nhi", "show", "other-key")).out);
    expect(other).toMatchObject({ accountHold: null, findings: [] });
    // The list counts it too.
    const list = await tenure(file, "nhi", "list", "--findings");
    expect(list.out).toMatch(/high +disable_unenforced +disabled, but Tenure cannot/);
  });
});

describe("tenure nhi sync and mass-change protection", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let file: string;
  beforeAll(async () => {
    dir = await tempDir("tenure-nhi-cli-mass-");
    file = path.join(dir.dir, "tenure.yaml");
    await writeFile(
      file,
      `database: sqlite:./t.db
sources:
  hr: { type: push, key: employeeId }
lifecycle:
  massChangeThreshold: { percent: 10, minimum: 1 }
nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
    - { name: k1, type: api_key, owner: E7 }
    - { name: k2, type: api_key, owner: E7 }
    - { name: k3, type: api_key, owner: E7 }
    - { name: k4, type: api_key, owner: E8 }
`,
    );
    const config = await loadConfig(file, { env: {} });
    const store = await openStore(config.database, { baseDir: dir.dir });
    await identityRepository.upsertMany(store.db, [
      person("E7", null, "active"),
      person("E8", null, "active"),
    ]);
    await store.close();
    expect((await tenure(file, "nhi", "sync")).code).toBe(0);
    const again = await openStore(config.database, { baseDir: dir.dir });
    await identityRepository.upsertMany(again.db, [person("E7", null, "terminated")]);
    await again.close();
  });
  afterAll(() => dir.dispose());

  it("holds three disables of four NHIs (exit 3) until an admin confirms exactly that plan", async () => {
    const held = await tenure(file, "nhi", "sync");
    expect(held.code).toBe(3);
    const hash = /tenure nhi sync --confirm-mass-change ([0-9a-f]{64})/.exec(held.err)?.[1];
    expect(hash, held.err).toBeDefined();
    expect(held.out).not.toContain("disabled (nobody took ownership)");
    const done = await tenure(file, "nhi", "sync", "--confirm-mass-change", hash!);
    expect(done.code, done.err).toBe(0);
    for (const k of ["k1", "k2", "k3"])
      expect(done.out).toContain(`  ${k}: disabled (nobody took ownership)`);
  });
});

describe("tenure nhi sync: removals from the inventory under mass-change protection", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let file: string;
  const yaml = (keys: readonly string[]) => `database: sqlite:./t.db
sources:
  hr: { type: push, key: employeeId }
lifecycle:
  massChangeThreshold: { percent: 20, minimum: 2 }
nhi:
  inventory:
${keys.map((k) => `    - { name: ${k}, type: api_key, owner: E7 }`).join("\n")}
`;
  const FIVE = ["r1", "r2", "r3", "r4", "r5"];
  beforeAll(async () => {
    dir = await tempDir("tenure-nhi-cli-removed-");
    file = path.join(dir.dir, "tenure.yaml");
    await writeFile(file, yaml(FIVE));
    // The store made (and migrated) as a first `tenure` run would.
    const store = await openStore((await loadConfig(file, { env: {} })).database, { baseDir: dir.dir });
    await store.close();
    const first = await tenure(file, "nhi", "sync");
    expect(first.code, first.err).toBe(0);
  });
  afterAll(() => dir.dispose());

  it("holds the removals of an emptied inventory (exit 3), refuses a stale hash, lets the confirmed plan through", async () => {
    await writeFile(file, yaml(["r9"]));
    const held = await tenure(file, "nhi", "sync");
    expect(held.code).toBe(3);
    expect(held.out).toContain("1 created, 0 updated, 0 removed");
    const hash = /tenure nhi sync --confirm-mass-change ([0-9a-f]{64})/.exec(held.err)?.[1];
    expect(hash, held.err).toBeDefined();
    const stale = await tenure(file, "nhi", "sync", "--confirm-mass-change", "a".repeat(64));
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("nothing was changed");
    const done = await tenure(file, "--json", "nhi", "sync", "--confirm-mass-change", hash!);
    expect(done.code, done.err).toBe(0);
    expect(JSON.parse(done.out).sync.removed.sort()).toEqual(FIVE);
  });
});
