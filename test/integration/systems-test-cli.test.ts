/**
 * `tenure systems test` and `tenure validate --connect` through the real binary, against real servers:
 * an application on SQLite that answers, a PostgreSQL address where nothing listens, MariaDB with a
 * wrong password, and a manual system. Each is reported in words at the step that failed, and nothing
 * is written anywhere.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppDatabase, appDatabaseFactories, sqlSystemYaml } from "../helpers/app-databases.js";
import { runCli } from "../helpers/cli.js";
import { freePort } from "../helpers/net.js";
import { tempDir } from "../helpers/workspace.js";

const WRONG = "not-the-password-42";
const [, sqliteApp] = (await appDatabaseFactories())[0]!;
const tables = "users: { table: app_users, id: id, username: login, enabled: { column: active } }";
const memberships = "memberships: { table: app_user_groups, user: user_id, group: group_name }";

let dir: string;
let dispose: () => Promise<void>;
let app: AppDatabase;

beforeAll(async () => {
  ({ dir, dispose } = await tempDir("tenure-systems-test-"));
  app = await sqliteApp();
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: "sqlite:./tenure.db"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
${sqlSystemYaml("app", app)}  down:
    connector: sql
    config:
      url: "postgres://tenure:${WRONG}@127.0.0.1:${await freePort()}/nothing"
      ${tables}
      ${memberships}
  crm:
    connector: sql
    config:
      url: "mysql://root:${WRONG}@127.0.0.1:3306/test"
      ${tables}
      ${memberships}
  desk:
    connector: manual
    config: { fulfiller: it@example.test }
`,
  );
  await writeFile(path.join(dir, "hr.csv"), "employeeId,givenName,familyName\n");
  expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
});
afterAll(() => dispose());

interface Checked {
  system: string;
  result: string;
  failedAt?: string;
  detail: string;
}
const byName = (systems: Checked[]): Record<string, Checked> =>
  Object.fromEntries(systems.map((s) => [s.system, s]));

describe("tenure systems test", () => {
  it("reports each system at the step that failed, in words, without the password, and exits 1", async () => {
    const before = await app.query("select * from app_users");
    const r = await runCli(["systems", "test", "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    const s = byName(JSON.parse(r.stdout).systems);
    expect(s.app).toMatchObject({ result: "ok" });
    expect(s.app!.detail).toMatch(/^reachable, authenticated, and allowed to read its groups/);
    expect(s.down).toMatchObject({ result: "failed", failedAt: "connect" });
    expect(s.down!.detail).toMatch(/^not reachable: down: .*ECONNREFUSED/);
    expect(s.crm).toMatchObject({ result: "failed", failedAt: "authenticate" });
    expect(s.crm!.detail).toMatch(/^reachable, but the credentials were refused: crm: .*Access denied/);
    expect(s.desk).toMatchObject({ result: "skipped" });
    expect(r.stdout + r.stderr).not.toContain(WRONG);
    // Nothing was written to the application.
    expect(await app.query("select * from app_users")).toEqual(before);
    // The text form is a table a person reads.
    const text = await runCli(["systems", "test"], { cwd: dir });
    expect(text.stdout).toMatch(/^app\s+sql\s+ok\s+reachable/m);
    expect(text.stdout).toMatch(/^down\s+sql\s+failed\s+not reachable/m);
  });

  it("tests one system by name, and proposes the nearest name for a typo", async () => {
    expect((await runCli(["systems", "test", "app"], { cwd: dir })).code).toBe(0);
    const typo = await runCli(["systems", "test", "ap"], { cwd: dir });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('no system named "ap" — did you mean "app"?');
  });

  it("validate --connect runs the same checks after a valid file", async () => {
    const r = await runCli(["validate", "--connect", "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(true);
    expect(byName(out.systems).down).toMatchObject({ result: "failed", failedAt: "connect" });
  });
});
