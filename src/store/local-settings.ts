import { sql } from "kysely";
import { usesDollar } from "./bulk-insert.js";
import type { Db } from "./schema-types.js";

/**
 * PostgreSQL settings a large read sets for itself: `run` goes in a transaction of its own, with each
 * of `settings` set for that transaction only (`set_config(name, value, true)`, one statement), so the
 * pool's connection is given back as it was. Inside a caller's transaction `run` runs on it as it is:
 * a setting made there would outlast the read and change the caller's later statements. SQLite has
 * none of these settings: `run` runs as it is.
 */
export function withLocalSettings<T>(
  db: Db,
  settings: Readonly<Record<string, string>>,
  run: (db: Db) => Promise<T>,
): Promise<T> {
  if (db.isTransaction || !usesDollar(db)) return run(db);
  const sets = Object.entries(settings).map(([name, value]) => sql`set_config(${name}, ${value}, true)`);
  return db.transaction().execute(async (trx) => {
    await sql`select ${sql.join(sets)}`.execute(trx);
    return run(trx);
  });
}
