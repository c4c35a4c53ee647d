import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type pg from "pg";
import { type AdmissionGate, createAdmissionGate } from "../shared/admission-gate.js";
import { createKeyedLock, type KeyedLock } from "../shared/keyed-lock.js";
import { type AdvisorySession, AdvisorySessionLost, advisorySession } from "./advisory-session.js";
import type { Store } from "./store-types.js";

/**
 * Pushes for one person serialised across every process on a store, pushes for different people side
 * by side: `run(keys, fn)` holds `keys` (a person's source key, a SCIM resource, an identity id) while
 * `fn` runs.
 *
 * In process, a {@link KeyedLock} (call order, waiting costs nothing). On PostgreSQL the holder then
 * also takes an advisory lock per key (a hash of schema and key) — the same person pushed to two
 * `tenure serve` instances waits there. A key no other process holds is taken with
 * `pg_try_advisory_lock` on the one session connection the process keeps for these locks
 * (advisory-session.ts) and given back on it when the outermost run ends: no connection per push.
 * A run that finds a key held elsewhere gives back what it took and waits for its keys with
 * `pg_advisory_xact_lock` in a transaction on a connection of its own (a pool of
 * {@link LOCK_CONNECTIONS}), queued by the server behind the holder. These connections are apart from
 * the store's pool because `fn` does its store work on that pool: were the locks held on it, 10 pushes
 * holding all 10 connections would wait forever for an 11th. A process that dies drops its
 * connections and PostgreSQL releases its locks; so does a session connection that fails (the runs
 * holding keys on it go on, as when any lock connection is lost).
 *
 * Nested runs (ingest takes a person's key, then inside it the ids of the identities it plans) take
 * their keys the same way and hold them until the outermost run ends (on its own connection once it
 * has one). That keeps the levels deadlock-free as in KeyedLock: a holder of an inner key takes no
 * further key. Keys of one level are taken all or none, in one sorted order, so two multi-key runs
 * cannot take them crosswise. SQLite has one writer
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

/** How many runs of one process may wait at once for keys another process holds (one connection each). */
export const LOCK_CONNECTIONS = 16;

interface Held {
  db: object;
  pool: pg.Pool;
  session: AdvisorySession;
  /** Keys taken on the shared session, with the generation they were taken in (given back at the end). */
  sessionKeys: { hashes: string[]; generation: number }[];
  /** A connection of this run's own, in a transaction, once some key was held by another process. */
  client: pg.PoolClient | undefined;
  /** False once the outermost run settled: work it started that outlives it holds nothing. */
  open: boolean;
}

const lockPools = new WeakMap<object, { pool: pg.Pool; session: AdvisorySession }>();
/** Per store, in this process: the keyed lock and the push gate every caller shares. */
const inProcessLocks = new WeakMap<object, { keyed: KeyedLock; gate: AdmissionGate }>();
const holding = new AsyncLocalStorage<Held>();
/** Set inside a run: the runs it nests are inside its place in the gate and its keys' levels. */
const inRun = new AsyncLocalStorage<object>();

/**
 * Gives a PostgreSQL store the pools its advisory locks are taken on (database.ts, when it opens one):
 * `sessionPool` (one connection) for the shared session, `pool` for runs that must wait for a key. The
 * function returned drops the shared session when the store closes.
 */
export function registerLockPool(
  db: Kysely<never> | object,
  pool: pg.Pool,
  sessionPool: pg.Pool,
): () => Promise<void> {
  const session = advisorySession(sessionPool);
  lockPools.set(db, { pool, session });
  return () => session.close();
}

/** The person lock of a store: one per store, shared by every caller in this process. */
export function personLock(store: Pick<Store, "db" | "kind" | "schema">): PersonLock {
  let local = inProcessLocks.get(store.db);
  if (local === undefined) {
    local = { keyed: createKeyedLock(), gate: createAdmissionGate() };
    inProcessLocks.set(store.db, local);
  }
  const { keyed: inProcess, gate: admission } = local;
  const pg = store.kind === "postgres" ? lockPools.get(store.db) : undefined;
  function locked<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    // The place in the in-process queue is taken synchronously, here: call order is kept.
    return inProcess.run(keys, () =>
      inRun.run(store.db, async () => {
        if (pg === undefined || keys.length === 0) return fn();
        const hashes = advisoryKeys(store.schema ?? "", keys);
        const held = holding.getStore();
        if (held?.open === true && held.db === store.db) {
          await take(held, hashes);
          return fn();
        }
        return outermost(pg.pool, pg.session, store.db, hashes, fn);
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

/**
 * An outermost run on PostgreSQL: its keys (and those of the runs it nests) are taken, then `fn` runs,
 * then every key is given back.
 *
 * Most pushes are for people no other process is pushing at that moment: their keys are taken with
 * `pg_try_advisory_lock` on the one session connection the process keeps for them, and given back on it
 * — two statements a push, no connection of its own (a connection per push in hand capped how many
 * pushes a process could group: 16). When another process holds a key, the run gives back what it took
 * and waits for all of them as before, in a transaction on a connection of its own: the server queues
 * it behind the holder. Keys of one run are taken all or none, in one sorted order, so waiting runs
 * cannot hold keys crosswise.
 */
async function outermost<T>(
  pool: pg.Pool,
  session: AdvisorySession,
  db: object,
  hashes: readonly string[],
  fn: () => Promise<T>,
): Promise<T> {
  const held: Held = { db, pool, session, sessionKeys: [], client: undefined, open: true };
  try {
    await take(held, hashes);
    return await holding.run(held, fn);
  } finally {
    held.open = false;
    await giveBack(held);
  }
}

/** Takes `hashes` for the run `held`: on the shared session when free, else waiting on its own connection. */
async function take(held: Held, hashes: readonly string[]): Promise<void> {
  if (held.client === undefined) {
    const taken = await trySession(held.session, hashes);
    if (taken !== null) {
      held.sessionKeys.push({ hashes: [...hashes], generation: taken });
      return;
    }
    const client = await held.pool.connect();
    held.client = client;
    // One round trip for both: the keys are numbers this module made (advisoryKeys), written inline
    // because a statement with parameters cannot share a round trip with another.
    await client.query(`begin; ${lockStatement(hashes)}`);
    return;
  }
  await held.client.query(lockStatement(hashes));
}

/**
 * Tries to take every key on the shared session (with the other runs' in hand, in one statement:
 * advisory-session.ts): the generation they were taken in, or null when some key is held elsewhere
 * (what was taken is given back) or the session is lost.
 */
async function trySession(session: AdvisorySession, hashes: readonly string[]): Promise<number | null> {
  try {
    const { ok, generation } = await session.tryLocks(hashes);
    if (ok.every(Boolean)) return generation;
    const taken = hashes.filter((_, i) => ok[i]);
    if (taken.length > 0) await session.unlock(taken, generation);
    return null;
  } catch (err) {
    if (err instanceof AdvisorySessionLost) return null;
    throw err;
  }
}

/** Gives back every key of a run: its session keys (with other runs' in one statement), then its own connection's transaction. */
async function giveBack(held: Held): Promise<void> {
  const byGeneration = new Map<number, string[]>();
  for (const { hashes, generation } of held.sessionKeys) {
    byGeneration.set(generation, [...(byGeneration.get(generation) ?? []), ...hashes]);
  }
  for (const [generation, hashes] of byGeneration) await held.session.unlock(hashes, generation);
  const client = held.client;
  if (client === undefined) return;
  let broken: Error | undefined;
  // Nothing was written on this connection: ending the transaction only releases the locks.
  await client.query("rollback").catch((err: Error) => {
    broken = err;
  });
  client.release(broken);
}

/** The statement locking `hashes` in order, waiting for each. */
function lockStatement(hashes: readonly string[]): string {
  return `select pg_advisory_xact_lock(k) from unnest('{${keysInline(hashes)}}'::int8[]) as k`;
}

/** Keys for an array literal: checked to be decimal integers, as advisoryKeys makes them. */
function keysInline(hashes: readonly string[]): string {
  for (const h of hashes) if (!/^-?\d{1,19}$/.test(h)) throw new Error(`not an advisory lock key: ${h}`);
  return hashes.join(",");
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
