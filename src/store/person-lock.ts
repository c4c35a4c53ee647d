import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type pg from "pg";
import { type AdmissionGate, createAdmissionGate } from "../shared/admission-gate.js";
import { createKeyedLock, type KeyedLock } from "../shared/keyed-lock.js";
import type { Store } from "./store-types.js";

/**
 * Pushes for one person serialised across every process on a store, pushes for different people side
 * by side: `run(keys, fn)` holds `keys` (a person's source key, a SCIM resource, an identity id) while
 * `fn` runs.
 *
 * In process, a {@link KeyedLock} (call order, waiting costs nothing). On PostgreSQL the holder then
 * also takes a transaction-scoped advisory lock per key (`pg_advisory_xact_lock` on a hash of schema
 * and key) on a connection of a pool of its own, kept in a transaction until `fn` settles — the same
 * person pushed to two `tenure serve` instances waits there. The lock connections are apart from the
 * store's pool because `fn` does its store work on that pool: were the locks held on it, 10 pushes
 * holding all 10 connections would wait forever for an 11th. A process that dies drops its connection
 * and PostgreSQL releases its locks.
 *
 * Nested runs (ingest takes a person's key, then inside it the ids of the identities it plans) take
 * their keys on the connection the outermost run holds, so a push uses one lock connection whatever
 * its depth; those keys are released with the outermost run's transaction. That keeps the levels
 * deadlock-free as in KeyedLock: a holder of an inner key takes no further key. Keys of one level are
 * locked in one sorted order, so two multi-key runs cannot take them crosswise. SQLite has one writer
 * per file, and Tenure one process per SQLite store: the in-process lock is all it takes.
 */
export interface PersonLock {
  run<T>(keys: readonly string[], fn: () => Promise<T>, options?: PersonLockOptions): Promise<T>;
}

/**
 * A push's place in the process's push gate (shared/admission-gate.ts): at most `limit` outermost runs
 * with this option hold keys at once, the others wait — `urgent` ones (a push that takes someone's
 * access away) first, never before an earlier waiter for the same keys. The gate is passed before any
 * key is taken; nested runs are inside their outer run's place and ignore it.
 */
export interface PersonLockOptions {
  /** `limit` absent: {@link DEFAULT_PUSH_CONCURRENCY} of the store's kind. */
  admission?: { limit?: number | undefined; urgent: boolean };
}

/**
 * How many pushes a process works on at once when `server.pushConcurrency` does not say: 32 on both
 * kinds of store. SCIM writes arriving together are pushed as one (api/scim/scim-ingest.ts), so more
 * writes in hand make larger groups rather than more round trips, and a leaver — never grouped, let in
 * first — met its second with room to spare under a burst of 32 clients (bench/leaver-latency.bench.ts
 * --burst 10000: p99 390 ms on PostgreSQL with the burst at 97 pushes/s, 215 ms on SQLite at 206/s).
 * PostgreSQL's was 8 before writes were grouped: each push was then a few dozen round trips to
 * backends sharing the CPU, and more at once only shared it more ways.
 */
export const DEFAULT_PUSH_CONCURRENCY = { postgres: 32, sqlite: 32 } as const;

/** How many pushes of one process may hold PostgreSQL advisory locks at once (one connection each). */
export const LOCK_CONNECTIONS = 16;

interface Held {
  db: object;
  client: pg.PoolClient;
  /** False once the outermost run settled: work it started that outlives it holds nothing. */
  open: boolean;
}

const lockPools = new WeakMap<object, pg.Pool>();
/** Per store, in this process: the keyed lock and the push gate every caller shares. */
const inProcessLocks = new WeakMap<object, { keyed: KeyedLock; gate: AdmissionGate }>();
const holding = new AsyncLocalStorage<Held>();
/** Set inside a run: the runs it nests are inside its place in the gate and its keys' levels. */
const inRun = new AsyncLocalStorage<object>();

/** Gives a PostgreSQL store the pool its advisory locks are taken on (database.ts, when it opens one). */
export function registerLockPool(db: Kysely<never> | object, pool: pg.Pool): void {
  lockPools.set(db, pool);
}

/** The person lock of a store: one per store, shared by every caller in this process. */
export function personLock(store: Pick<Store, "db" | "kind" | "schema">): PersonLock {
  let local = inProcessLocks.get(store.db);
  if (local === undefined) {
    local = { keyed: createKeyedLock(), gate: createAdmissionGate() };
    inProcessLocks.set(store.db, local);
  }
  const { keyed: inProcess, gate: admission } = local;
  const pool = store.kind === "postgres" ? lockPools.get(store.db) : undefined;
  function locked<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    // The place in the in-process queue is taken synchronously, here: call order is kept.
    return inProcess.run(keys, () =>
      inRun.run(store.db, async () => {
        if (pool === undefined || keys.length === 0) return fn();
        const hashes = advisoryKeys(store.schema ?? "", keys);
        const held = holding.getStore();
        if (held?.open === true && held.db === store.db) {
          await lockAll(held.client, hashes);
          return fn();
        }
        return withLockTransaction(pool, store.db, hashes, fn);
      }),
    );
  }
  return {
    run<T>(keys: readonly string[], fn: () => Promise<T>, options?: PersonLockOptions): Promise<T> {
      const gated = options?.admission;
      if (gated === undefined || inRun.getStore() === store.db) return locked(keys, fn);
      // The gate first, with nothing held: the keys are taken once the run is let in, in the order
      // the gate lets runs in — call order for runs sharing a key.
      const limit = gated.limit ?? DEFAULT_PUSH_CONCURRENCY[store.kind];
      return admission.enter(keys, gated.urgent, limit).then(async (leave) => {
        try {
          return await locked(keys, fn);
        } finally {
          leave();
        }
      });
    },
  };
}

async function withLockTransaction<T>(
  pool: pg.Pool,
  db: object,
  hashes: readonly string[],
  fn: () => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  const held: Held = { db, client, open: true };
  let broken: Error | undefined;
  try {
    // One round trip for both: the keys are numbers this module made (advisoryKeys), written inline
    // because a statement with parameters cannot share a round trip with another.
    await client.query(`begin; ${lockStatement(hashes)}`);
    return await holding.run(held, fn);
  } finally {
    held.open = false;
    // Nothing was written on this connection: ending the transaction only releases the locks.
    await client.query("rollback").catch((err: Error) => {
      broken = err;
    });
    client.release(broken);
  }
}

async function lockAll(client: pg.PoolClient, hashes: readonly string[]): Promise<void> {
  // One statement; unnest yields the sorted keys in order, each locked before the next is asked for.
  await client.query("select pg_advisory_xact_lock(k) from unnest($1::int8[]) as k", [hashes]);
}

/** The statement locking `hashes` in order, the keys inline (checked to be decimal integers). */
function lockStatement(hashes: readonly string[]): string {
  for (const h of hashes) if (!/^-?\d{1,19}$/.test(h)) throw new Error(`not an advisory lock key: ${h}`);
  return `select pg_advisory_xact_lock(k) from unnest('{${hashes.join(",")}}'::int8[]) as k`;
}

/** Each key as a signed 64-bit advisory lock key (decimal text), unique and sorted. */
export function advisoryKeys(schema: string, keys: readonly string[]): string[] {
  const hashes = new Set<bigint>();
  for (const key of keys) {
    // The schema is part of the key: stores in other schemas of one database never wait for each other.
    const digest = createHash("sha256").update(`tenure-person\0${schema}\0${key}`).digest();
    hashes.add(digest.readBigInt64BE(0));
  }
  return [...hashes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}
