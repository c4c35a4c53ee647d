import type pg from "pg";

/**
 * One PostgreSQL connection kept for the process's life, for session-level advisory locks: taken and
 * given back by statements on it, held by the server until given back or until the connection ends —
 * so a process that dies frees them. Systems' concurrency slots (system-slots.ts) and pushes' person
 * locks (person-lock.ts) each keep one.
 *
 * Statements run one at a time, in call order (node-postgres refuses a query sent while one runs). A
 * connection that fails (an error on it, a statement that fails) is dropped — destroyed, never given
 * back to the pool, so the server frees every lock taken on it — and the next statement opens another.
 * `generation` counts the drops: a lock taken in an older generation was freed with its connection.
 */
export interface AdvisorySession {
  /**
   * Runs one statement on the kept connection; resolves with its rows and the generation it ran in.
   * @throws AdvisorySessionLost when there is no connection or the statement failed (it was dropped).
   */
  query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; generation: number }>;
  /** The generation now. */
  generation(): number;
  /** Drops the connection (its locks are freed): the pool can then end. */
  close(): Promise<void>;
}

export class AdvisorySessionLost extends Error {
  constructor(cause?: unknown) {
    super("the advisory lock connection was lost", cause === undefined ? undefined : { cause });
  }
}

export function advisorySession(pool: pg.Pool): AdvisorySession {
  let connection: Promise<pg.PoolClient> | undefined;
  let current: pg.PoolClient | undefined;
  let generation = 0;
  const dropped = new WeakSet<pg.PoolClient>();
  let queue: Promise<unknown> = Promise.resolve();

  const drop = (client: pg.PoolClient, err?: Error) => {
    if (dropped.has(client)) return;
    dropped.add(client);
    if (current === client) {
      current = undefined;
      connection = undefined;
      generation++;
    }
    // Destroyed, not kept: the server frees the session's advisory locks with it.
    client.release(err ?? true);
  };
  const connect = (): Promise<pg.PoolClient> => {
    connection ??= pool.connect().then(
      (client) => {
        current = client;
        client.on("error", (err) => drop(client, err));
        return client;
      },
      (err: unknown) => {
        connection = undefined;
        throw err;
      },
    );
    return connection;
  };

  return {
    query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      const run = queue.then(async () => {
        const client = await connect().catch((err: unknown) => {
          throw new AdvisorySessionLost(err);
        });
        const at = generation;
        try {
          const result = await client.query<R>(text, values);
          return { rows: result.rows, generation: at };
        } catch (err) {
          drop(client, err instanceof Error ? err : undefined);
          throw new AdvisorySessionLost(err);
        }
      });
      queue = run.catch(() => {});
      return run;
    },
    generation: () => generation,
    async close() {
      const client = await connection?.catch(() => undefined);
      if (client !== undefined) drop(client);
    },
  };
}
