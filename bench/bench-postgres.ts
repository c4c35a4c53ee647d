/**
 * For the benchmarks on PostgreSQL: a schema of their own (dropped afterwards, whatever happens), so a
 * run never meets another's tables, and a store opened in it.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore, quotePgIdent, type Store } from "../src/store/database.js";

/** Runs `run` with the URL of a fresh schema `PREFIX_xxxxxxxx` of the database at `adminUrl`, then drops it. */
export async function withPostgresSchema<T>(
  adminUrl: string,
  prefix: string,
  run: (url: string) => Promise<T>,
): Promise<T> {
  const schema = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create schema ${quotePgIdent(schema)}`);
    const url = new URL(adminUrl);
    url.searchParams.set("schema", schema);
    return await run(url.toString());
  } finally {
    await admin.query(`drop schema if exists ${quotePgIdent(schema)} cascade`);
    await admin.end();
  }
}

/** Runs `run` with a store opened in a fresh schema (see {@link withPostgresSchema}), closing it after. */
export function withPostgresStore<T>(
  adminUrl: string,
  prefix: string,
  run: (store: Store) => Promise<T>,
): Promise<T> {
  return withPostgresSchema(adminUrl, prefix, async (url) => {
    const store = await openStore(url);
    try {
      return await run(store);
    } finally {
      await store.close();
    }
  });
}
