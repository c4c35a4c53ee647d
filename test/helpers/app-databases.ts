import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import mysql from "mysql2/promise";
import pg from "pg";
import { POSTGRES_ADMIN_URL, postgresAvailable } from "./databases.js";

export const MARIADB_ADMIN_URL = process.env.TENURE_TEST_MARIADB ?? "mysql://root@127.0.0.1:3306/test";

/** An application's own database, made for one test: the tables a `sql` system manages. */
export interface AppDatabase {
  kind: "sqlite" | "postgres" | "mariadb";
  /** The connector `url` (and `schema`) that reach it. */
  url: string;
  schema?: string;
  /** Runs SQL written for this database and returns the rows. */
  query<T = Record<string, unknown>>(text: string): Promise<T[]>;
  drop(): Promise<void>;
}

const rand = () => randomBytes(5).toString("hex");

const TABLES = (serial: string) => [
  `create table app_users (id ${serial}, login varchar(200) not null unique, mail varchar(200), active integer not null)`,
  "create table app_user_groups (user_id integer not null, group_name varchar(200) not null, primary key (user_id, group_name))",
];

async function sqliteApp(): Promise<AppDatabase> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-app-"));
  const file = path.join(dir, "app.db");
  const db = new BetterSqlite3(file);
  for (const t of TABLES("integer primary key autoincrement")) db.exec(t);
  db.close();
  return {
    kind: "sqlite",
    url: `sqlite:${file}`,
    async query(text) {
      const c = new BetterSqlite3(file, { readonly: true });
      try {
        return c.prepare(text).all() as never[];
      } finally {
        c.close();
      }
    },
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

async function postgresApp(): Promise<AppDatabase> {
  const schema = `app_${rand()}`;
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.query(`set search_path = ${schema}`);
  for (const t of TABLES("serial primary key")) await client.query(t);
  return {
    kind: "postgres",
    url: POSTGRES_ADMIN_URL,
    schema,
    async query(text) {
      return (await client.query(text)).rows;
    },
    async drop() {
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}

async function mariadbApp(): Promise<AppDatabase> {
  const database = `app_${rand()}`;
  const admin = await mysql.createConnection(MARIADB_ADMIN_URL);
  await admin.query(`create database ${database} character set utf8mb4`);
  await admin.query(`use ${database}`);
  for (const t of TABLES("integer primary key auto_increment")) await admin.query(t);
  const url = new URL(MARIADB_ADMIN_URL);
  url.pathname = `/${database}`;
  return {
    kind: "mariadb",
    url: url.toString(),
    async query(text) {
      const [rows] = await admin.query(text);
      return rows as never[];
    },
    async drop() {
      await admin.query(`drop database ${database}`);
      await admin.end();
    },
  };
}

async function mariadbAvailable(): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ uri: MARIADB_ADMIN_URL, connectTimeout: 3000 });
    await c.end();
    return true;
  } catch (err) {
    if (process.env.CI === "true") {
      throw new Error(
        `MariaDB is required under CI=true but ${MARIADB_ADMIN_URL} did not answer: ${String(err)}`,
      );
    }
    console.warn(
      "MariaDB not reachable; skipping MariaDB application tests (start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)",
    );
    return false;
  }
}

/** The application databases a test can run against here: SQLite always, the servers when they answer. */
export async function appDatabaseFactories(): Promise<Array<[string, () => Promise<AppDatabase>]>> {
  const out: Array<[string, () => Promise<AppDatabase>]> = [["sqlite", sqliteApp]];
  if (await postgresAvailable()) out.push(["postgres", postgresApp]);
  if (await mariadbAvailable()) out.push(["mariadb", mariadbApp]);
  return out;
}

/** A `sql` system called `name` managing this database's tables, as YAML lines under `systems:`. */
export function sqlSystemYaml(name: string, app: Pick<AppDatabase, "url" | "schema">): string {
  return `  ${name}:\n    connector: sql\n    config:\n${sqlSystemConfigYaml(app)}\n`;
}

/**
 * The `config:` of a `sql` system managing this database's `app_users` and `app_user_groups`, as YAML
 * lines indented to stand under `systems.NAME.config:` (six spaces).
 */
export function sqlSystemConfigYaml(app: Pick<AppDatabase, "url" | "schema">): string {
  const lines = [
    `url: "${app.url}"`,
    ...(app.schema ? [`schema: ${app.schema}`] : []),
    "users: { table: app_users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }",
    "memberships: { table: app_user_groups, user: user_id, group: group_name }",
  ];
  return lines.map((line) => `      ${line}`).join("\n");
}
