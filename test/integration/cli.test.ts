import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

const NOW = { TENURE_NOW: "2026-11-21T10:00:00Z" };

describe("tenure CLI on a fresh workspace", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-cli-"));
  });
  afterAll(() => dispose());

  it("init writes a config that validates and creates its database; again, it keeps the config", async () => {
    const init = await runCli(["init", dir]);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain("tenure.yaml");
    expect(init.stdout).toContain(`sqlite:${path.join(dir, "tenure.db")} holds Tenure's schema`);
    const validate = await runCli(["validate"], { cwd: dir });
    expect(validate.stdout).toContain("valid");
    expect(validate.code).toBe(0);
    const before = await readFile(path.join(dir, "tenure.yaml"), "utf8");
    await writeFile(path.join(dir, "tenure.yaml"), `${before}# edited\n`);
    const again = await runCli(["init", dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already exists");
    expect(await readFile(path.join(dir, "tenure.yaml"), "utf8")).toBe(`${before}# edited\n`);
  });

  it("sync --dry-run changes nothing; sync creates the sample organisation and audits it", async () => {
    const dry = await runCli(["sync", "--dry-run", "--json"], { cwd: dir, env: NOW });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain("pinned by TENURE_NOW");
    const plan = JSON.parse(dry.stdout).results[0];
    expect(plan.dryRun).toBe(true);
    expect(plan.created).toBeGreaterThan(5);
    const none = await runCli(["identities", "list", "--json"], { cwd: dir, env: NOW });
    expect(JSON.parse(none.stdout).identities).toEqual([]);

    const sync = await runCli(["sync"], { cwd: dir, env: NOW });
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain(`${plan.created} created`);
    const list = JSON.parse((await runCli(["identities", "list", "--json"], { cwd: dir, env: NOW })).stdout);
    expect(list.identities).toHaveLength(plan.created);
    const zoe = list.identities.find(
      (i: { attributes: { givenName: string } }) => i.attributes.givenName === "Zoë",
    );
    expect(zoe.attributes.familyName).toBe("O'Brien-Łukasik");

    const show = await runCli(["identities", "show", zoe.sourceKey], { cwd: dir, env: NOW });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("identity.created");
    const log = await runCli(["audit", "log", "--identity", zoe.sourceKey, "--json"], { cwd: dir, env: NOW });
    expect(JSON.parse(log.stdout).events.map((e: { action: string }) => e.action)).toEqual([
      "identity.created",
    ]);
    const verify = await runCli(["audit", "verify", "--json"], { cwd: dir });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });

  it("audit verify fails with exit 1 and names the first edited event", async () => {
    const db = new BetterSqlite3(path.join(dir, "tenure.db"));
    db.prepare("update audit_events set actor = 'mallory' where seq = 3").run();
    db.close();
    const verify = await runCli(["audit", "verify"], { cwd: dir });
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/event 3\b/);
  });

  it("a truncated export with missingMeans: terminate exits 3 and changes nothing", async () => {
    const config = await readFile(path.join(dir, "tenure.yaml"), "utf8");
    await writeFile(
      path.join(dir, "tenure.yaml"),
      config.replace("missingMeans: ignore", "missingMeans: terminate"),
    );
    const csv = (await readFile(path.join(dir, "hr.csv"), "utf8")).split("\n");
    await writeFile(path.join(dir, "hr.csv"), `${csv.slice(0, 3).join("\n")}\n`);
    const before = (
      await runCli(["identities", "list", "--state", "active", "--json"], { cwd: dir, env: NOW })
    ).stdout;
    const sync = await runCli(["sync"], { cwd: dir, env: NOW });
    expect(sync.code).toBe(3);
    const planHash = /Plan hash ([0-9a-f]{64})/.exec(sync.stderr)?.[1];
    expect(sync.stderr).toContain(`tenure sync --confirm-mass-change ${planHash}`);
    // --json prints the stop, with its plan hash, on stdout.
    const json = await runCli(["sync", "--json"], { cwd: dir, env: NOW });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "mass_change", planHash });
    // A confirmation needs the hash; another plan's hash is refused (exit 1) and changes nothing.
    expect((await runCli(["sync", "--confirm-mass-change"], { cwd: dir, env: NOW })).code).toBe(2);
    expect((await runCli(["sync", "--confirm-mass-change", "yes"], { cwd: dir, env: NOW })).code).toBe(2);
    const stale = await runCli(["sync", "--confirm-mass-change", "0".repeat(64)], { cwd: dir, env: NOW });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`the plan computed now is ${planHash}`);
    const after = (
      await runCli(["identities", "list", "--state", "active", "--json"], { cwd: dir, env: NOW })
    ).stdout;
    expect(after).toBe(before);
    // Nine CLI runs, each a fresh tsx process.
  }, 240_000);
});

describe("tenure CLI errors", () => {
  it("validate reports every error with file:line:column and exits 1", async () => {
    const { dir, dispose } = await tempDir("tenure-cli-bad-");
    try {
      await writeFile(
        path.join(dir, "tenure.yaml"),
        "database: sqlite:./t.db\nsources:\n  hr:\n    type: csv\n    path: ./hr.csv\n    timeZone: Mars/Olympus\n    missingMean: terminate\n",
      );
      const r = await runCli(["validate"], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("tenure.yaml:6:");
      expect(r.stderr).toContain("tenure.yaml:7:");
      expect(r.stderr).toContain("missingMeans");
      expect(r.stderr).toMatch(/2 errors/);
    } finally {
      await dispose();
    }
  });

  it("a missing config names the path and suggests init", async () => {
    const { dir, dispose } = await tempDir("tenure-cli-none-");
    try {
      const r = await runCli(["sync"], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(path.join(dir, "tenure.yaml"));
      expect(r.stderr).toContain("tenure init");
    } finally {
      await dispose();
    }
  });

  it("usage errors exit 2", async () => {
    expect((await runCli(["frobnicate"])).code).toBe(2);
    expect((await runCli(["identities", "list", "--state", "retired"], { cwd: "/" })).code).toBe(2);
  });
});
