import { createHash } from "node:crypto";
import type pg from "pg";
import { AdvisorySessionLost, advisorySession } from "./advisory-session.js";
import type { Store } from "./store-types.js";

/**
 * `systems.<name>.concurrency` over every process on one store: `hold(system, limit, fn)` runs `fn`
 * in one of the system's `limit` slots, waiting while all are taken — by this process or another.
 *
 * The claim loop's lanes bound one process (shared/lanes.ts); with N processes applying, a target saw
 * up to N × `concurrency` writes. Bounding the claims instead cost one process most of its throughput
 * (claims ahead keep lanes busy; docs/operations.md, Workers), so the bound is on what executes: on
 * PostgreSQL a slot is a session advisory lock (a hash of schema, system and slot number) taken with
 * `pg_try_advisory_lock` on a connection of its own, kept for the process's life. Claims ahead stay
 * claimed; only the write waits. A process that dies drops its connection and PostgreSQL frees its
 * slots at once.
 *
 * The slot connection is apart from the store's pool and from the person locks' pool: a push holds a
 * person lock while its operations run, so were the slots taken on that pool, pushes holding all its
 * connections would wait forever for the slot connection. Concurrency is a courtesy to the target, not a
 * safety property: should the slot connection fail, `fn` runs without a slot (the lanes still bound
 * this process) rather than fail an operation because of the lock's connection. SQLite has one process
 * per store: the lanes are the bound, and `hold` just runs `fn`.
 */
export interface SystemSlots {
  hold<T>(system: string, limit: number, fn: () => Promise<T>): Promise<T>;
}

interface PgSlots extends SystemSlots {
  /** Gives the slot connection back to its pool (its slots are freed), so the pool can end. */
  close(): Promise<void>;
}

const slotPools = new WeakMap<object, { pool: pg.Pool; schema: string }>();
const slotsOfDb = new WeakMap<object, PgSlots>();

/**
 * Gives a PostgreSQL store the pool (of one connection) its slots are taken on (database.ts); the
 * function returned ends it when the store closes.
 */
export function registerSlotPool(db: object, pool: pg.Pool, schema: string): () => Promise<void> {
  slotPools.set(db, { pool, schema });
  return async () => {
    await slotsOfDb.get(db)?.close();
    await pool.end();
  };
}

const UNBOUNDED: SystemSlots = { hold: (_system, _limit, fn) => fn() };

/** The system slots of a store: one per store, shared by every caller in this process. */
export function systemSlots(store: Pick<Store, "db">): SystemSlots {
  // Only a PostgreSQL store registers a slot pool.
  const registered = slotPools.get(store.db);
  if (registered === undefined) return UNBOUNDED;
  let slots = slotsOfDb.get(store.db);
  if (slots === undefined) {
    slots = pgSlots(registered.pool, registered.schema);
    slotsOfDb.set(store.db, slots);
  }
  return slots;
}

/** Slot `k` of `system` as a signed 64-bit advisory lock key (decimal text). */
export function slotKey(schema: string, system: string, k: number): string {
  // Apart from the person locks' keys by their prefix; the schema keeps stores of one database apart.
  const digest = createHash("sha256").update(`tenure-system-slot\0${schema}\0${system}\0${k}`).digest();
  return String(digest.readBigInt64BE(0));
}

const MAX_WAIT_MS = 50;
/** How long a finished write's slot waits for this process's next write of the system. */
const PARK_MS = 50;
/** How long this process keeps one slot from write to write before giving others a turn. */
const HOLD_MS = 1000;
/** How long a slot given back for others' turn stays free of this process: past MAX_WAIT_MS. */
const REST_MS = 2 * MAX_WAIT_MS;

function pgSlots(pool: pg.Pool, schema: string): PgSlots {
  const session = advisorySession(pool);
  /** Per system, the slot numbers this process holds or is trying: never asked for twice at once. */
  const mine = new Map<string, Set<number>>();

  /** A free slot taken (its number and generation), or null when every one is held. */
  const tryTake = async (
    system: string,
    limit: number,
  ): Promise<{ k: number; generation: number } | null> => {
    let taken = mine.get(system);
    if (taken === undefined) {
      taken = new Set();
      mine.set(system, taken);
    }
    // From a random slot, so processes do not all knock on slot 0 first.
    const start = Math.floor(Math.random() * limit);
    for (let i = 0; i < limit; i++) {
      const k = (start + i) % limit;
      // Marked before the query: a session's advisory locks stack, so two lanes of this process asking
      // for one slot would both get it.
      if (taken.has(k) || (resting.get(`${system}\0${k}`) ?? 0) > Date.now()) continue;
      taken.add(k);
      try {
        // With the other writes' takes in hand: one statement for the writes of a group (advisory-session.ts).
        const r = await session.tryLocks([slotKey(schema, system, k)]);
        if (r.ok[0] === true) return { k, generation: r.generation };
        taken.delete(k);
      } catch (err) {
        taken.delete(k);
        throw err;
      }
    }
    return null;
  };

  const give = async (system: string, slot: { k: number; generation: number }): Promise<void> => {
    mine.get(system)?.delete(slot.k);
    // Grouped with other give-backs; nothing for a slot of a dropped connection, freed with it.
    await session.unlock([slotKey(schema, system, slot.k)], slot.generation);
  };

  /**
   * Slots this process finished with, kept a moment for its next write of the system: under a steady
   * flow of operations a slot passes from one write to the next without a round trip. A parked slot is
   * given back after PARK_MS unused, and one held for HOLD_MS is given back at its next park, so other
   * processes get their turn.
   */
  const parked = new Map<string, Slot[]>();
  /**
   * Slots this process gave back after HOLD_MS, by `system\0k`: not taken again before this time. One
   * entry per (system, slot number) at most, overwritten at the next rest: bounded by the configured
   * concurrency, so an ended rest is left in place rather than pruned.
   */
  const resting = new Map<string, number>();
  /** This process's writes waiting for a slot of a system: a slot it finishes with goes to the first. */
  const waiting = new Map<string, Array<(slot: Slot) => void>>();
  const park = (system: string, limit: number, slot: Slot) => {
    if (slot.generation !== session.generation() || slot.k >= limit) {
      void give(system, slot);
      return;
    }
    if (Date.now() - slot.since > HOLD_MS) {
      // Another process's turn: left free longer than a waiter's longest pause, so one that waits finds it.
      resting.set(`${system}\0${slot.k}`, Date.now() + REST_MS);
      void give(system, slot);
      return;
    }
    const next = waiting.get(system)?.shift();
    if (next !== undefined) {
      next(slot);
      return;
    }
    const list = parked.get(system) ?? [];
    parked.set(system, list);
    list.push(slot);
    slot.timer = setTimeout(() => {
      const at = list.indexOf(slot);
      if (at === -1) return;
      list.splice(at, 1);
      void give(system, slot);
    }, PARK_MS);
  };
  const unpark = (system: string, limit: number): Slot | undefined => {
    const list = parked.get(system);
    for (let slot = list?.pop(); slot !== undefined; slot = list?.pop()) {
      clearTimeout(slot.timer);
      if (slot.generation === session.generation() && slot.k < limit) return slot;
      void give(system, slot);
    }
    return undefined;
  };

  const handedOver = (system: string, wait: number) =>
    new Promise<Slot | null>((resolve) => {
      const list = waiting.get(system) ?? [];
      waiting.set(system, list);
      const take = (slot: Slot) => {
        clearTimeout(timer);
        resolve(slot);
      };
      list.push(take);
      const timer = setTimeout(() => {
        const at = list.indexOf(take);
        if (at !== -1) list.splice(at, 1);
        resolve(null);
      }, wait);
    });

  return {
    async close() {
      for (const list of parked.values()) for (const slot of list.splice(0)) clearTimeout(slot.timer);
      await session.close();
    },
    async hold<T>(system: string, limit: number, fn: () => Promise<T>): Promise<T> {
      const bound = Math.max(1, limit);
      let slot = unpark(system, bound) ?? null;
      try {
        for (let wait = 1; slot === null; wait = Math.min(wait * 2, MAX_WAIT_MS)) {
          const taken = await tryTake(system, bound);
          if (taken !== null) slot = { ...taken, since: Date.now() };
          // Every slot is held: one of this process's finishes hands its slot over at once; another
          // process's is looked for again after `wait`.
          else slot = await handedOver(system, wait);
        }
      } catch (err) {
        if (!(err instanceof AdvisorySessionLost)) throw err;
        return fn();
      }
      try {
        return await fn();
      } finally {
        park(system, bound, slot);
      }
    },
  };
}

interface Slot {
  k: number;
  generation: number;
  /** When it was taken from the server. */
  since: number;
  timer?: ReturnType<typeof setTimeout>;
}
