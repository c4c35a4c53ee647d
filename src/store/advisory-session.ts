import type pg from "pg";
import { createGroupCommit } from "../shared/group-commit.js";

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
  /**
   * `pg_try_advisory_lock` of each key, in order, in one statement with the keys of the other callers
   * in hand (grouped: shared/group-commit.ts) — under a burst, one round trip for the takes of every
   * write that asked while the last one ran, not one each. The same as a statement per key: a key this
   * session holds is taken again (locks stack), so callers in hand at once must not ask for one key.
   * @throws AdvisorySessionLost as `query`.
   */
  tryLocks(keys: readonly string[]): Promise<{ ok: boolean[]; generation: number }>;
  /**
   * `pg_advisory_unlock` of each key taken in `generation`, grouped as {@link tryLocks}; nothing when
   * the connection was dropped since (which freed them) or fails now (which drops it). Never throws.
   */
  unlock(keys: readonly string[], generation: number): Promise<void>;
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

/** The most callers whose keys one statement takes or gives back. */
const SESSION_BATCH = 64;

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

  function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
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
  }

  /** Keys of several callers, each caller's in order: one statement's rows answer them in turn. */
  const tryMany = async (batches: readonly (readonly string[])[]) => {
    const { rows, generation: at } = await query<{ ok: boolean }>(
      "select pg_try_advisory_lock(k) as ok from unnest($1::int8[]) with ordinality as t(k, n) order by n",
      [batches.flat()],
    );
    let next = 0;
    return batches.map((keys) => ({ ok: keys.map(() => rows[next++]?.ok === true), generation: at }));
  };
  const takes = createGroupCommit<readonly string[], { ok: boolean[]; generation: number }>({
    maxBatch: SESSION_BATCH,
    maxInFlight: 1,
    run: (_, batches) => tryMany(batches),
    alone: async (_, keys) => (await tryMany([keys]))[0]!,
  });
  const unlockMany = async (batches: readonly { keys: readonly string[]; generation: number }[]) => {
    const keys = batches.filter((b) => b.generation === generation).flatMap((b) => b.keys);
    if (keys.length === 0) return;
    // A failure drops the connection, which frees every key on it.
    await query("select pg_advisory_unlock(k) from unnest($1::int8[]) as k", [keys]).catch(() => {});
  };
  const gives = createGroupCommit<{ keys: readonly string[]; generation: number }, void>({
    maxBatch: SESSION_BATCH,
    maxInFlight: 1,
    run: async (_, batches) => {
      await unlockMany(batches);
      return batches.map(() => undefined);
    },
    alone: (_, batch) => unlockMany([batch]),
  });

  return {
    query,
    tryLocks: (keys) => takes.submit("", keys),
    unlock: (keys, at) => gives.submit("", { keys, generation: at }),
    generation: () => generation,
    async close() {
      const client = await connection?.catch(() => undefined);
      if (client !== undefined) drop(client);
    },
  };
}
