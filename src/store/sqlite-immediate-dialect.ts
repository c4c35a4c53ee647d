import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from "kysely";

/**
 * Kysely's SQLite driver opens transactions with a plain `BEGIN` (deferred): the transaction reads
 * without the write lock and asks for it at its first write. When another process (`tenure serve`'s
 * jobs, its apply loop) is writing at that moment, or wrote since the transaction's first read, SQLite
 * cannot let the transaction write on its stale snapshot and answers SQLITE_BUSY at once — the busy
 * timeout is never waited for, since SQLite invokes the busy handler only for a connection that holds
 * no read transaction. Every Tenure transaction that reads before it writes (`tenure token create`
 * checks the name is free, then inserts) then failed at once while the server wrote.
 *
 * `BEGIN IMMEDIATE` takes the write lock when the transaction starts, waiting for it under the busy
 * timeout like any single write, so a CLI write next to a running server waits for the server's short
 * transaction instead of failing. Readers are never blocked (WAL); a read-only transaction now queues
 * behind writers, which is why transactions are kept for writes.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/** SqliteDialect whose transactions begin IMMEDIATE (see {@link ImmediateSqliteDriver}). */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
