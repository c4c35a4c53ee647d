/**
 * A private PostgreSQL cluster for one test file (docs/architecture.md "Tests"): `initdb` with
 * scram-sha-256 for every connection, `pg_ctl` on a free loopback port, in a temp dir removed by
 * `stop()`. Unlike the development server (trust authentication), it checks passwords, so a test can
 * prove that a password works and that a wrong one is refused.
 *
 * PostgreSQL refuses to run as root: as root, the binaries run as the `postgres` user (`runuser`).
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./net.js";

const execFileAsync = promisify(execFile);

export const POSTGRES_INSTALL = "apt-get install -y postgresql";

export interface PostgresCluster {
  host: string;
  port: number;
  /** The superuser `postgres`'s password. */
  superuserPassword: string;
  /** A URL for the superuser, to the given database (default `postgres`). */
  url(database?: string): string;
  /** The server log so far (what `settings` such as `log_statement` made the server write). */
  serverLog(): Promise<string>;
  stop(): Promise<void>;
}

/** The folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/<v>/bin. */
export async function findPostgresBin(): Promise<string | undefined> {
  const candidates = (process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== "");
  const versions = await fs.readdir("/usr/lib/postgresql").catch(() => [] as string[]);
  versions.sort((a, b) => Number(b) - Number(a));
  candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  for (const dir of candidates) {
    try {
      await fs.access(path.join(dir, "initdb"), fs.constants.X_OK);
      await fs.access(path.join(dir, "pg_ctl"), fs.constants.X_OK);
      return dir;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * Starts a cluster, with extra server settings (`-c name=value`). Throws when PostgreSQL is not installed
 * or does not start.
 */
export async function startPostgresCluster(settings: Record<string, string> = {}): Promise<PostgresCluster> {
  const bin = await findPostgresBin();
  if (bin === undefined) throw new Error(`PostgreSQL is not installed; install it: ${POSTGRES_INSTALL}`);
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: string[]) =>
    asRoot
      ? execFileAsync("runuser", ["-u", "postgres", "--", path.join(bin, program), ...args])
      : execFileAsync(path.join(bin, program), args);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-pg-"));
  const data = path.join(dir, "data");
  const superuserPassword = randomBytes(12).toString("hex");
  const passwordFile = path.join(dir, "superuser-password");
  await fs.writeFile(passwordFile, superuserPassword, { mode: 0o600 });
  if (asRoot) {
    const { stdout } = await execFileAsync("id", ["-u", "postgres"]);
    const uid = Number(stdout.trim());
    await fs.chown(dir, uid, -1);
    await fs.chown(passwordFile, uid, -1);
  }
  const port = await freePort();
  const logFile = path.join(dir, "server.log");
  const extra = Object.entries(settings).map(([name, value]) => ` -c ${name}=${value}`);
  const stop = async () => {
    await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await run("initdb", [
      "-A",
      "scram-sha-256",
      "-N",
      "-U",
      "postgres",
      `--pwfile=${passwordFile}`,
      "-D",
      data,
    ]);
    await run("pg_ctl", [
      "-D",
      data,
      "-w",
      "-l",
      logFile,
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off${extra.join("")}`,
      "start",
    ]);
  } catch (err) {
    const log = await fs.readFile(logFile, "utf8").catch(() => "");
    await stop();
    throw new Error(`PostgreSQL did not start: ${String(err)}\n${log.slice(-2000)}`);
  }
  return {
    host: "127.0.0.1",
    port,
    superuserPassword,
    url: (database = "postgres") =>
      `postgres://postgres:${superuserPassword}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    serverLog: () => fs.readFile(logFile, "utf8"),
    stop,
  };
}

/** Runs one statement as the cluster's superuser, on a connection of its own. */
export async function asSuperuser(cluster: PostgresCluster, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Whether the cluster lets `role` in with `password`: false on 28P01 (password) or 28000 (NOLOGIN). */
export async function pgLogsIn(cluster: PostgresCluster, role: string, password: string): Promise<boolean> {
  const client = new pg.Client({
    host: cluster.host,
    port: cluster.port,
    database: "postgres",
    user: role,
    password,
    connectionTimeoutMillis: 3000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "28P01" || code === "28000") return false;
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
