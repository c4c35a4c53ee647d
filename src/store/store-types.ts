import type { Kysely } from "kysely";
import type { Database } from "./schema-types.js";

// Apart from database.ts, which opens stores, so that modules it uses (run-lock.ts) can name the type.

export type DatabaseKind = "sqlite" | "postgres";

export interface Store {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** A description safe to print: never includes a password. */
  describe: string;
  /** The PostgreSQL schema the tables live in, when not the default. */
  schema?: string;
  close(): Promise<void>;
}
