import { createHash } from "node:crypto";
import pg from "pg";
import type { Store } from "../store/database.js";

/**
 * Which process runs the scheduled jobs. The design: one scheduler leader, chosen with a PostgreSQL
 * advisory lock, when several processes share one database; on SQLite the single process leads.
 */
export interface SchedulerLeadership {
  /**
   * Whether this process leads now: checks that a lock it holds is still held, and tries to take it
   * when not. Never throws: a database that does not answer means "not the leader" this time.
   */
  ensure(): Promise<boolean>;
  /** Gives the lock up (so another process can lead at once) and closes its connection. */
  release(): Promise<void>;
  /** In words, for logs and `schedule status`. */
  readonly describe: string;
}

/** SQLite: the embedded default is one process, which leads. */
export function soleLeadership(): SchedulerLeadership {
  return {
    describe: "the only process (SQLite)",
    ensure: async () => true,
    release: async () => {},
  };
}

// pg_try_advisory_lock(int4, int4): the first key says "Tenure's scheduler" ('Tenu' in ASCII), the
// second is the store's schema, so installations in different schemas of one database each get a leader.
const LOCK_CLASS = 0x54656e75;

/**
 * The two keys of the scheduler's advisory lock for a schema — in pg_locks, `classid` and `objid` of
 * the row with `locktype = 'advisory'` and `objsubid = 2` — so an operator can see who leads.
 */
export function schedulerLockKeys(schema: string): [number, number] {
  // Non-negative: pg_locks shows the keys as oids, which a negative int4 would not compare equal to.
  return [LOCK_CLASS, createHash("sha256").update(schema).digest().readInt32BE(0) & 0x7fffffff];
}

/**
 * PostgreSQL: the leader is the process holding `pg_try_advisory_lock(LOCK_CLASS, hash(schema))` on a
 * connection of its own, opened here from `databaseUrl` and kept for as long as it leads. The lock is
 * PostgreSQL's: it goes with the session, so a process that dies or loses its connection stops leading
 * at once and another takes over at its next try. A lost connection is seen by `ensure()`, which then
 * reports "not the leader" and tries again on a new connection.
 */
export function advisoryLockLeadership(
  store: Pick<Store, "db" | "schema">,
  databaseUrl: string,
): SchedulerLeadership {
  const url = new URL(databaseUrl);
  // The schema parameter is Tenure's, not libpq's (see openStore): the lock only needs the database.
  url.searchParams.delete("schema");
  let client: pg.Client | null = null;
  let broken = false;
  let held = false;
  let key: number | undefined;

  const close = async () => {
    const c = client;
    client = null;
    held = false;
    broken = false;
    await c?.end().catch(() => {});
  };

  const lockKey = async (): Promise<number> => {
    if (key === undefined) {
      const schema =
        store.schema ??
        (await store.db.selectNoFrom((eb) => eb.fn<string>("current_schema").as("schema")).executeTakeFirst())
          ?.schema ??
        "public";
      key = schedulerLockKeys(schema)[1];
    }
    return key;
  };

  return {
    describe: "the holder of a PostgreSQL advisory lock",
    async ensure() {
      try {
        const k = await lockKey();
        if (client !== null && broken) await close();
        if (client === null) {
          const c = new pg.Client({
            connectionString: url.toString(),
            application_name: "tenure-scheduler",
            connectionTimeoutMillis: 10_000,
          });
          // An idle connection that dies emits "error": without a listener that would end the process.
          c.on("error", () => {
            broken = true;
            held = false;
          });
          await c.connect();
          client = c;
        }
        if (held) {
          const { rows } = await client.query<{ held: boolean }>(
            `select exists (select 1 from pg_locks where locktype = 'advisory' and granted
               and pid = pg_backend_pid() and classid = $1 and objid = $2 and objsubid = 2) as held`,
            [LOCK_CLASS, k],
          );
          held = rows[0]?.held === true;
          if (held) return true;
        }
        const { rows } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [
          LOCK_CLASS,
          k,
        ]);
        held = rows[0]?.ok === true;
        return held;
      } catch {
        await close();
        return false;
      }
    },
    async release() {
      if (client !== null && held && !broken && key !== undefined) {
        await client.query("select pg_advisory_unlock($1, $2)", [LOCK_CLASS, key]).catch(() => {});
      }
      await close();
    },
  };
}

/** The leadership a store calls for: an advisory lock on PostgreSQL, the sole process on SQLite. */
export function leadershipFor(
  store: Pick<Store, "db" | "kind" | "schema">,
  databaseUrl: string,
): SchedulerLeadership {
  return store.kind === "postgres" ? advisoryLockLeadership(store, databaseUrl) : soleLeadership();
}
