import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { POSTGRES_ADMIN_URL, postgresAvailable } from "../helpers/databases.js";
import { tempDir } from "../helpers/workspace.js";

const run = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL("../../examples/basic/", import.meta.url));

/** The URL of another database on the test server: the admin URL with its path replaced. */
function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  url.search = "";
  return url.toString();
}

async function admin(statement: string, database?: string): Promise<void> {
  const client = new pg.Client({ connectionString: database ? databaseUrl(database) : POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * docs/operations.md promises that a PostgreSQL dump restored elsewhere is a working Tenure store whose
 * ledger verifies, and that a restore cannot hide tampering. This runs the documented commands
 * (pg_dump -Fc, pg_restore) on a real database and checks both with `tenure audit verify`.
 */
describe.runIf(await postgresAvailable())("backup and restore of a PostgreSQL store", () => {
  const suffix = randomBytes(4).toString("hex");
  const source = `tenure_backup_${suffix}`;
  const restored = `tenure_restored_${suffix}`;
  let dir: string;
  let dispose: () => Promise<void>;
  let before: Awaited<ReturnType<typeof verify>>;
  let people: unknown;
  const useDatabase = async (name: string) => {
    const file = path.join(dir, "tenure.yaml");
    const text = await readFile(file, "utf8");
    await writeFile(file, text.replace(/^database: .*$/m, `database: "${databaseUrl(name)}"`));
  };
  const cli = (args: string[]) =>
    runCli([...args, "--config", path.join(dir, "tenure.yaml")], {
      cwd: dir,
      env: { TENURE_NOW: "2026-12-04T09:00:00Z" },
    });
  const verify = async () => {
    const result = await cli(["audit", "verify", "--json"]);
    return { code: result.code, answer: JSON.parse(result.stdout), result };
  };

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-backup-"));
    await copyFile(path.join(EXAMPLE, "tenure.yaml"), path.join(dir, "tenure.yaml"));
    await copyFile(path.join(EXAMPLE, "hr.csv"), path.join(dir, "hr.csv"));
    await admin(`create database ${source}`);
    await admin(`create database ${restored}`);
    await useDatabase(source);
    expect((await cli(["init"])).code).toBe(0);
    const sync = await cli(["sync"]);
    expect(sync.code, sync.stderr).toBe(0);
    before = await verify();
    expect(before.code).toBe(0);
    people = JSON.parse((await cli(["identities", "list", "--json"])).stdout);

    const dump = path.join(dir, "tenure.dump");
    await run("pg_dump", ["--format=custom", "--no-owner", `--file=${dump}`, databaseUrl(source)]);
    await run("pg_restore", ["--no-owner", "--exit-on-error", `--dbname=${databaseUrl(restored)}`, dump]);
    await useDatabase(restored);
  }, 120_000);

  afterAll(async () => {
    await admin(`drop database if exists ${source} with (force)`);
    await admin(`drop database if exists ${restored} with (force)`);
    await dispose();
  });

  it("a dump restored into an empty database verifies, holds the same people, and goes on working", async () => {
    expect(before.answer.checked).toBeGreaterThan(10);
    const after = await verify();
    expect(after.code, after.result.stderr).toBe(0);
    expect(after.answer).toMatchObject({ ok: true, chainOk: true, checked: before.answer.checked });
    expect(JSON.parse((await cli(["identities", "list", "--json"])).stdout)).toEqual(people);

    // The restored store is not a read-only copy: a later sync appends to the same chain.
    const csv = path.join(dir, "hr.csv");
    const hr = await readFile(csv, "utf8");
    await writeFile(csv, hr.replace("Senior Software Engineer", "Staff Software Engineer"));
    const sync = await cli(["sync"]);
    expect(sync.code, sync.stderr).toBe(0);
    const later = await verify();
    expect(later.code).toBe(0);
    expect(later.answer.checked).toBeGreaterThan(before.answer.checked);
  }, 120_000);

  it("an event altered in the restored copy fails verification at that event", async () => {
    await admin(
      "update audit_events set details = replace(details, 'Okafor', 'Okafor-Smith') where seq = 2",
      restored,
    );
    const tampered = await verify();
    expect(tampered.code).toBe(1);
    expect(tampered.answer).toMatchObject({ ok: false, chainOk: false, firstBadSeq: 2 });
  }, 60_000);
});
