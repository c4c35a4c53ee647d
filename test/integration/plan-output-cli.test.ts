/**
 * `tenure plan` as a person reads it, through the real binary: a joiner's account created disabled and
 * until when, the fields a mover's update sets, and operations queued by an earlier run instead of
 * "No changes". A failed apply makes `sync` exit 4.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appDatabaseFactories, sqlSystemConfigYaml } from "../helpers/app-databases.js";
import { runCli } from "../helpers/cli.js";
import { freePort } from "../helpers/net.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const NOW = { TENURE_NOW: "2026-11-21T10:00:00Z" };
const [, sqliteApp] = (await appDatabaseFactories())[0]!;

let dir: string;
let dispose: () => Promise<void>;
beforeEach(async () => {
  ({ dir, dispose } = await tempDir("tenure-plan-out-"));
});
afterEach(() => dispose());

async function workspace(systemConfig: string): Promise<void> {
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: "sqlite:./tenure.db"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  app:
    connector: sql
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
${systemConfig}
roles:
  staff:
    when: "true"
    grants: [{ system: app }]
`,
  );
  expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
}

describe("tenure plan output", () => {
  it("shows a joiner's account created disabled until the start date, and the fields an update sets", async () => {
    await workspace(sqlSystemConfigYaml(await sqliteApp()));
    await writeHrCsv(dir, [
      "E1,Ada,Lovelace,ada@example.test,R&D,,,employee,active,2026-01-01,,",
      "E2,Bo,Chen,bo@example.test,R&D,,,employee,active,2026-11-25,,",
    ]);
    expect((await runCli(["sync"], { cwd: dir, env: NOW })).code).toBe(0);
    // The audit log names people by HR key and name, and says what each operation did in words.
    const log = await runCli(["audit", "log", "--identity", "E1"], { cwd: dir, env: NOW });
    const created = log.stdout.split("\n").find((l) => l.includes("operation.succeeded"));
    expect(created).toContain("E1 Ada Lovelace");
    expect(created).toMatch(/create account ada\.lovelace on app: succeeded \(attempt 1\)$/);
    expect(created).not.toContain('{"');
    await writeHrCsv(dir, [
      "E1,Ada,Lovelace,ada.lovelace@example.test,R&D,,,employee,active,2026-01-01,,",
      "E2,Bo,Chen,bo@example.test,R&D,,,employee,active,2026-11-25,,",
      "E3,Cy,Diaz,cy@example.test,R&D,,,employee,active,2026-11-26,,",
    ]);
    // The HR change is not in the store yet: a dry run plans it.
    const dry = await runCli(["sync", "--dry-run"], { cwd: dir, env: NOW });
    expect(dry.stdout).toContain('~ update account ada.lovelace: email → "ada.lovelace@example.test"');
    expect(dry.stdout).toContain("+ create account cy.diaz (disabled until 2026-11-26)");
  });

  it("says what earlier runs queued instead of 'No changes', and a failed apply exits 4", async () => {
    const app = await sqliteApp();
    await workspace(sqlSystemConfigYaml(app));
    await writeHrCsv(dir, ["E1,Ada,Lovelace,ada@example.test,R&D,,,employee,active,2026-01-01,,"]);
    expect((await runCli(["sync"], { cwd: dir, env: NOW })).code).toBe(0);
    // The application goes away (its database is now a port where nothing listens), and a joiner comes.
    const config = path.join(dir, "tenure.yaml");
    const dead = `postgres://tenure:secret-pw@127.0.0.1:${await freePort()}/nothing`;
    await writeFile(config, (await readFile(config, "utf8")).replace(app.url, dead));
    await writeHrCsv(dir, [
      "E1,Ada,Lovelace,ada@example.test,R&D,,,employee,active,2026-01-01,,",
      "E2,Bo,Chen,bo@example.test,R&D,,,employee,active,2026-01-01,,",
    ]);
    const sync = await runCli(["sync"], { cwd: dir, env: NOW });
    expect(sync.stdout).toMatch(/1 failed \(will retry\)/);
    expect(sync.code).toBe(4);
    const plan = await runCli(["plan"], { cwd: dir, env: NOW });
    expect(plan.stdout).not.toContain("No changes: every system matches policy.");
    expect(plan.stdout).toContain(
      "Queued from earlier runs: 0 pending, 0 running, 1 failed and retrying, 0 dead",
    );
    // Hours later the retry is due; the application is still away: apply exits 4 as well.
    const apply = await runCli(["apply"], { cwd: dir, env: { TENURE_NOW: "2026-11-21T16:00:00Z" } });
    expect(apply.stdout).toMatch(/0 succeeded .*1 failed \(will retry\)/);
    expect(apply.code).toBe(4);
  });

  it("operation ids in tables are unambiguous, and operations retry takes any unambiguous start of one", async () => {
    // The application goes away after a first sync, and its operations get one attempt: they go dead.
    const app = await sqliteApp();
    await workspace(sqlSystemConfigYaml(app));
    await writeHrCsv(dir, ["E1,Ada,Lovelace,ada@example.test,R&D,,,employee,active,2026-01-01,,"]);
    expect((await runCli(["sync"], { cwd: dir, env: NOW })).code).toBe(0);
    const config = path.join(dir, "tenure.yaml");
    const dead = `postgres://tenure:secret-pw@127.0.0.1:${await freePort()}/nothing`;
    await writeFile(
      config,
      (await readFile(config, "utf8"))
        .replace(app.url, dead)
        .replace("    connector: sql\n", "    connector: sql\n    retry: { maxAttempts: 1 }\n"),
    );
    await writeHrCsv(dir, [
      "E1,Ada,Lovelace,ada@example.test,R&D,,,employee,active,2026-01-01,,",
      "E2,Bo,Chen,bo@example.test,R&D,,,employee,active,2026-01-01,,",
      "E3,Cy,Diaz,cy@example.test,R&D,,,employee,active,2026-01-01,,",
    ]);
    expect((await runCli(["sync"], { cwd: dir, env: NOW })).code).toBe(1);
    const json = JSON.parse((await runCli(["operations", "list", "--json"], { cwd: dir, env: NOW })).stdout);
    const ids: string[] = json.operations
      .filter((op: { state: string }) => op.state === "dead")
      .map((op: { id: string }) => op.id);
    expect(ids).toHaveLength(2);
    const table = (await runCli(["operations", "list", "--state", "dead"], { cwd: dir, env: NOW })).stdout
      .split("\n")
      .slice(1, 3);
    const shown = table.map((line) => line.split(/\s+/)[0]!);
    // Each shown id is the start of exactly one operation, though both were made in the same run.
    for (const prefix of shown)
      expect(
        ids.filter((id) => id.startsWith(prefix)),
        `${prefix} in ${table.join(" / ")} of ${ids.join(", ")}`,
      ).toHaveLength(1);
    let common = 0;
    while (ids[0]![common] === ids[1]![common]) common++;
    const ambiguous = await runCli(["operations", "retry", ids[0]!.slice(0, common)], { cwd: dir, env: NOW });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain("give more of the id");
    const unknown = await runCli(["operations", "retry", "ffffffff"], { cwd: dir, env: NOW });
    expect(unknown.code).toBe(1);
    const retried = await runCli(["operations", "retry", shown[0]!], { cwd: dir, env: NOW });
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/operation \S+ is pending again/);
  });
});
