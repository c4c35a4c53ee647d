import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore, type Store } from "../../src/store/database.js";

export const POSTGRES_ADMIN_URL =
  process.env.TENURE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";

let postgresUp: boolean | undefined;

/** Whether PostgreSQL answers; under CI=true a missing server is a failure, not a skip. */
export async function postgresAvailable(): Promise<boolean> {
  if (postgresUp !== undefined) return postgresUp;
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    postgresUp = true;
  } catch (err) {
    if (process.env.CI === "true") {
      throw new Error(
        `PostgreSQL is required under CI=true but ${POSTGRES_ADMIN_URL} did not answer: ${String(err)}`,
      );
    }
    console.warn(
      `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}; skipping PostgreSQL store tests (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)`,
    );
    postgresUp = false;
  } finally {
    await client.end().catch(() => {});
  }
  return postgresUp;
}

/** A fresh PostgreSQL schema for one test store; dropped by the returned cleanup. */
export async function freshPostgresUrl(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  await client.query(`create schema "${schema}"`);
  await client.end();
  const url = `${POSTGRES_ADMIN_URL}?schema=${schema}`;
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      await c.query(`drop schema "${schema}" cascade`);
      await c.end();
    },
  };
}

export interface TestStore extends Store {
  /** Closes the store and removes its schema or file. */
  dispose(): Promise<void>;
}

export type StoreFactory = () => Promise<TestStore>;

/**
 * The databases every store test runs against, as in Kysely's own tests looping over DIALECTS.
 * PostgreSQL is included when reachable (always under CI=true).
 */
export async function storeFactories(): Promise<Array<[string, StoreFactory]>> {
  const factories: Array<[string, StoreFactory]> = [
    [
      "sqlite",
      async () => {
        const store = await openStore("sqlite::memory:");
        return { ...store, dispose: () => store.close() };
      },
    ],
  ];
  if (await postgresAvailable()) {
    factories.push([
      "postgres",
      async () => {
        const { url, drop } = await freshPostgresUrl();
        const store = await openStore(url);
        return {
          ...store,
          dispose: async () => {
            await store.close();
            await drop();
          },
        };
      },
    ]);
  }
  return factories;
}
