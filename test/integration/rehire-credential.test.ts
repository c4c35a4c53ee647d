import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import mysql from "mysql2/promise";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { openStore, type Store } from "../../src/store/database.js";
import { freshPostgresUrl, postgresAvailable } from "../helpers/databases.js";
import { readSinkFile } from "../helpers/password-sink-file.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

/**
 * Issue 10, point 5: a rehired person does not get their old password back. Their account, kept
 * disabled through the retention, gets a new generated password — delivered to the password sink as a
 * joiner's is — before it is enabled again. Against a real MariaDB (which checks passwords), with the
 * store on SQLite and on PostgreSQL (the store keeps in which employment each password was set).
 */

const ADMIN_URL = process.env.TENURE_TEST_MARIADB ?? "mysql://root@127.0.0.1:3306";
const MARIADB_START = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";
const admin = new URL(ADMIN_URL);

async function adminQuery(text: string, values: unknown[] = []): Promise<unknown> {
  const c = await mysql.createConnection({ uri: ADMIN_URL, connectTimeout: 3000 });
  try {
    return (await c.query(text, values))[0];
  } finally {
    await c.end();
  }
}

async function mariadbUp(): Promise<boolean> {
  try {
    await adminQuery("select 1");
    return true;
  } catch (err) {
    const message = `MariaDB is not reachable (${String(err)}); start it: ${MARIADB_START}`;
    if (process.env.CI === "true") throw new Error(message);
    console.warn(`skipping rehire credential tests: ${message}`);
    return false;
  }
}

/** Whether MariaDB lets `user` in with `password`: false on access denied (1045) or a locked account (4151). */
async function logsIn(user: string, password: string): Promise<boolean> {
  try {
    const c = await mysql.createConnection({
      host: admin.hostname,
      port: admin.port === "" ? 3306 : Number(admin.port),
      user,
      password,
      connectTimeout: 3000,
    });
    await c.query("select 1");
    await c.end();
    return true;
  } catch (err) {
    const errno = (err as { errno?: unknown }).errno;
    if (errno === 1045 || errno === 4151) return false;
    throw err;
  }
}

const run = `t${randomBytes(4).toString("hex")}_`;
const USER = `${run}e1`;

function yaml(database: string): string {
  return `
database: "${database}"
sources:
  hr: { type: csv, path: ./hr.csv }
lifecycle:
  deleteAfterDays: 30
systems:
  appdb:
    connector: mariadb
    account: { username: "${run}{employeeId}" }
    correlation: { account: username, identity: username }
    config:
      url: "${ADMIN_URL}"
      usernamePrefix: "${run}"
      passwordSink: { file: ./passwords.jsonl }
roles:
  staff:
    when: "true"
    grants: [{ system: appdb, entitlements: [] }]
`;
}

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const JOINS = "E1,Ada,Lovelace,ada@example.test,Eng,SRE,,employee,active,2026-01-05,,";
const LEAVES = "E1,Ada,Lovelace,ada@example.test,Eng,SRE,,employee,terminated,2026-01-05,,2026-03-10";
const BACK = "E1,Ada,Lovelace,ada@example.test,Eng,SRE,,employee,active,2026-03-20,,";

type StoreKind = "sqlite" | "postgres";
const up = await mariadbUp();
const kinds: StoreKind[] = !up ? [] : (await postgresAvailable()) ? ["sqlite", "postgres"] : ["sqlite"];

describe.skipIf(!up).each(kinds)("a rehire's credential, with the store on %s", (kind) => {
  let dir: string;
  let disposeDir: () => Promise<void>;
  let dropSchema: (() => Promise<void>) | undefined;
  let config: TenureConfig;
  let store: Store;

  beforeEach(async () => {
    ({ dir, dispose: disposeDir } = await tempDir("tenure-rehire-"));
    let database = "sqlite:./tenure.db";
    if (kind === "postgres") {
      const fresh = await freshPostgresUrl();
      database = fresh.url;
      dropSchema = fresh.drop;
    }
    await writeFile(path.join(dir, "tenure.yaml"), yaml(database));
    config = await loadConfig(path.join(dir, "tenure.yaml"));
    store = await openStore(config.database, { baseDir: dir });
  });
  afterEach(async () => {
    await adminQuery(`DROP USER IF EXISTS ${mysql.escape(USER)}@'%'`);
    await store.close();
    await dropSchema?.();
    dropSchema = undefined;
    await disposeDir();
  });

  async function day(date: string, row: string) {
    await writeHrCsv(dir, [row]);
    const result = await runSync(store, config, { now: new Date(`${date}T09:00:00Z`), actor: "test" });
    expect(result.provisioned?.applied?.summary.dead ?? 0).toBe(0);
    return result;
  }
  const passwords = async () =>
    (await readSinkFile(path.join(dir, "passwords.jsonl")))
      .filter((e) => e.username === USER)
      .map((e) => e.password);

  it("sets a new password, delivered to the sink, before the old account is enabled again", async () => {
    await day("2026-03-01", JOINS);
    const [first] = await passwords();
    expect(await logsIn(USER, first!)).toBe(true);

    await day("2026-03-10", LEAVES);
    expect(await logsIn(USER, first!)).toBe(false);

    const rehire = await day("2026-03-20", BACK);
    expect(rehire.provisioned?.plan.operations.map((o) => `${o.kind} ${o.username}`)).toEqual([
      `rotate ${USER}`,
      `enable ${USER}`,
    ]);
    const all = await passwords();
    expect(all).toHaveLength(2);
    const second = all[1]!;
    expect(second).not.toBe(first);
    // The old password no longer works; the new one, from the sink like a joiner's, does.
    expect(await logsIn(USER, first!)).toBe(false);
    expect(await logsIn(USER, second)).toBe(true);

    // The store knows the password is this employment's: the next run changes nothing.
    const row = await store.db
      .selectFrom("accounts")
      .select("credential_employment")
      .where("username", "=", USER)
      .executeTakeFirstOrThrow();
    expect(Number(row.credential_employment)).toBe(2);
    const again = await day("2026-03-21", BACK);
    expect(again.provisioned?.plan.operations).toEqual([]);

    // No password in the audit ledger.
    const ledger = JSON.stringify(await store.db.selectFrom("audit_events").selectAll().execute());
    expect(ledger).toContain("rotate");
    expect(ledger).not.toContain(first!);
    expect(ledger).not.toContain(second);
  });
});
