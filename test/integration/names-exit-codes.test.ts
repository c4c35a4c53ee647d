/**
 * Names from every script get accounts, and `tenure sync` says so in its exit code when an identity
 * gets none: the real binary against a real `sql` application on SQLite.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AppDatabase, appDatabaseFactories, sqlSystemConfigYaml } from "../helpers/app-databases.js";
import { runCli } from "../helpers/cli.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const NOW = { TENURE_NOW: "2026-11-21T10:00:00Z" };
const [, sqliteApp] = (await appDatabaseFactories())[0]!;

let dir: string;
let dispose: () => Promise<void>;
let app: AppDatabase;

beforeEach(async () => {
  ({ dir, dispose } = await tempDir("tenure-names-"));
  app = await sqliteApp();
});
afterEach(async () => {
  await dispose();
});

async function workspace(account: string): Promise<void> {
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: "sqlite:./tenure.db"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  app:
    connector: sql
    account: ${account}
    config:
${sqlSystemConfigYaml(app)}
roles:
  staff:
    when: "true"
    grants: [{ system: app }]
`,
  );
  expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
}

describe("names from every script", () => {
  it("Cyrillic, CJK and Greek names get transliterated usernames in the application, exit 0", async () => {
    await workspace('{ username: "{givenName}.{familyName}" }');
    await writeHrCsv(dir, [
      "E1,Анна,Иванова,anna@example.test,Sales,,,employee,active,2026-01-01,,",
      "E2,芳,王,fang@example.test,Sales,,,employee,active,2026-01-01,,",
      "E3,Γιώργος,Παπαδόπουλος,g@example.test,Sales,,,employee,active,2026-01-01,,",
    ]);
    const sync = await runCli(["sync"], { cwd: dir, env: NOW });
    expect(sync.stderr).not.toMatch(/error|no account/);
    expect(sync.code).toBe(0);
    const logins = (await app.query<{ login: string }>("select login from app_users order by login")).map(
      (r) => r.login,
    );
    expect(logins).toEqual(["anna.ivanova", "fang.wang", "giorgos.papadopoylos"]);
  });

  it("a name that renders nothing gets its fallback; without one, sync names the person and exits 4", async () => {
    await workspace('{ username: "{givenName}.{familyName}", usernameFallback: "e{employeeId}" }');
    await writeHrCsv(dir, ["E7,!!,??,x@example.test,Sales,,,employee,active,2026-01-01,,"]);
    expect((await runCli(["sync"], { cwd: dir, env: NOW })).code).toBe(0);
    expect((await app.query<{ login: string }>("select login from app_users")).map((r) => r.login)).toEqual([
      "ee7",
    ]);

    // The fallback removed, a new person whose name renders nothing gets no account: named, exit 4.
    await writeFile(
      path.join(dir, "tenure.yaml"),
      (await readFile(path.join(dir, "tenure.yaml"), "utf8")).replace(
        ', usernameFallback: "e{employeeId}"',
        "",
      ),
    );
    await writeHrCsv(dir, [
      "E7,!!,??,x@example.test,Sales,,,employee,active,2026-01-01,,",
      "E9,--,..,y@example.test,Sales,,,employee,active,2026-01-01,,",
      "E8,Zoë,Ng,z@example.test,Sales,,,employee,active,2026-01-01,,",
    ]);
    const sync = await runCli(["sync"], { cwd: dir, env: NOW });
    expect(sync.code).toBe(4);
    expect(sync.stdout).toMatch(
      /! app: no account for identity \S+ \(E9\): the username template renders empty/,
    );
    // status names them until the next run, by HR key; --json carries the same.
    const status = await runCli(["status"], { cwd: dir, env: NOW });
    expect(status.stdout).toContain("without an account (last provisioning run): 1");
    expect(status.stdout).toMatch(/^ {2}E9 in app: app: no account for identity/m);
    const json = JSON.parse((await runCli(["status", "--json"], { cwd: dir, env: NOW })).stdout);
    expect(json.unprovisioned).toEqual([
      expect.objectContaining({ sourceKey: "E9", system: "app", kind: "username-empty" }),
    ]);
    expect(
      (await app.query<{ login: string }>("select login from app_users order by login")).map((r) => r.login),
    ).toEqual(["ee7", "zoe.ng"]);
  });
});
