import { type ExpressionBuilder, type Selectable, sql } from "kysely";
import { usesDollar } from "./bulk-insert.js";
import type { ClaimOwner } from "./claim-rows.js";
import { OPEN_STATES } from "./operation-states.js";
import { QueryTemplates } from "./query-template.js";
import type { Database, Db, OperationsTable } from "./schema-types.js";

export interface ClaimOptions {
  now: Date;
  /** At most this many operations. */
  limit: number;
  /** Recorded in `claimed_by`; `markSucceeded` / `markFailed` only act on rows this worker still holds. */
  workerId: string;
  /** How long the claim holds; after it, another worker may claim the operation again. */
  leaseSeconds: number;
  /**
   * The process claiming, recorded with the claim so that its claims can be given back as soon as it is
   * known dead (`claimOwnerRepository.releaseOwner`) rather than when the lease ends.
   */
  owner?: ClaimOwner;
  /** Only operations of this system. */
  system?: string;
  /** No operations of these systems (their lanes are full: see shared/lanes.ts). */
  excludeSystems?: readonly string[];
  /**
   * Only operations of these identities (an event-driven push applies just the people it changed). An
   * operation still waits behind an earlier open one of its identity in its system, as in any claim.
   */
  identityIds?: readonly string[];
  /**
   * The most operations of a system claimed at once by every worker together (tenure.yaml
   * `systems.<name>.concurrency`): a claim takes at most this less the system's live claims, whoever
   * holds them. Absent: no bound.
   */
  capacity?: (system: string) => number;
}

const OPEN: readonly string[] = OPEN_STATES;
const CLAIMS = new QueryTemplates();

/**
 * The first key of the per-system advisory locks a bounded claim takes on PostgreSQL ('TnCc' in
 * ASCII); the second is `hashtext(schema/system)`, so installations in different schemas do not meet.
 */
const CAPACITY_LOCK_CLASS = 0x546e4363;

/**
 * Claimable now: due — pending; failed whose retry time has come; running whose claim expired (its
 * worker crashed or hung) — and at the head of its queue: no earlier open operation (lower seq, ties
 * broken by id so the order is total) of the same identity in the same system. An identity-less
 * operation (an orphan's) queues behind earlier identity-less ones on the same username. Only a head
 * may run; everything behind it waits until it finishes (succeeds or goes dead). Identities need no
 * username queue: a username is allocated to one identity per system once and kept (account_links).
 *
 * Both "earlier" lookups go through the identity_id index (an identity-less lookup is `is null`, which
 * only orphan operations share), so a claim costs one index probe per due operation.
 */
function claimable(
  now: string,
  system: string | undefined,
  identityIds?: readonly string[],
  excludeSystems?: readonly string[],
) {
  return (eb: ExpressionBuilder<Database & { o: OperationsTable }, "o">) => {
    const earlierOpen = () =>
      eb
        .selectFrom("operations as e")
        .select(sql.lit(1).as("one"))
        .whereRef("e.system", "=", "o.system")
        .where("e.state", "in", OPEN)
        .where((inner) =>
          inner.or([
            inner("e.seq", "<", inner.ref("o.seq")),
            inner.and([inner("e.seq", "=", inner.ref("o.seq")), inner("e.id", "<", inner.ref("o.id"))]),
          ]),
        );
    const conditions = [
      // Implies the predicate of operations_open_seq_idx (open ⇔ finished_at is null), so the claim walks
      // it in seq order and stops at `limit`. No condition here may use the state index: SQLite's
      // planner, without statistics, would rather gather every open row through it and sort them all.
      eb("o.finished_at", "is", null),
      // An awaiting operation waits for a person's task, not for a worker.
      eb("o.state", "not in", ["succeeded", "dead", "awaiting"]),
      eb.or([eb("o.state", "!=", "failed"), eb("o.next_attempt_at", "<=", now)]),
      eb.or([eb("o.state", "!=", "running"), eb("o.claim_expires_at", "<", now)]),
      // `=` never matches NULL, so identity-less operations pass this one and meet the next.
      eb.not(eb.exists(earlierOpen().whereRef("e.identity_id", "=", "o.identity_id"))),
      eb.or([
        eb("o.identity_id", "is not", null),
        eb.not(
          eb.exists(
            earlierOpen().where("e.identity_id", "is", null).whereRef("e.username", "=", "o.username"),
          ),
        ),
      ]),
    ];
    if (system !== undefined) conditions.push(eb("o.system", "=", system));
    if (identityIds !== undefined) conditions.push(eb("o.identity_id", "in", identityIds));
    if (excludeSystems !== undefined && excludeSystems.length > 0)
      conditions.push(eb("o.system", "not in", excludeSystems));
    return eb.and(conditions);
  };
}

/**
 * Claims due operations (see `operationRepository.claimDue`) and returns their rows, in no set order.
 *
 * With `capacity`, the claim holds each system to its bound across every process on the store, in the
 * transaction that claims: it counts the system's live claims (`running`, lease not ended) and takes at
 * most the room left. On PostgreSQL the candidates are locked `FOR UPDATE SKIP LOCKED` (concurrent
 * claims take disjoint rows without waiting), then a transaction-scoped advisory lock per system of
 * the candidates serialises the count-and-claim of claims on the same system: a second claim counts
 * after the first committed (each statement of a READ COMMITTED transaction sees what committed
 * before it). When systems at their bound crowded the others out of the candidates, a second pass
 * leaves them out, so one claim still fills its batch from the systems with room. On SQLite the
 * transaction takes the write lock when it begins (sqlite-immediate-dialect.ts), which serialises the
 * whole claim across processes.
 */
export async function claimOperationRows(
  db: Db,
  options: ClaimOptions,
): Promise<Selectable<OperationsTable>[]> {
  if (options.limit < 1 || options.identityIds?.length === 0) return [];
  const now = options.now.toISOString();
  const expires = new Date(options.now.getTime() + options.leaseSeconds * 1000).toISOString();
  const postgres = usesDollar(db);
  const { capacity } = options;

  const select = (trx: Db, exclude: readonly string[], taken: readonly string[], limit: number) => {
    let q = trx
      .selectFrom("operations as o")
      .select(["o.id", "o.system"])
      .where(claimable(now, options.system, options.identityIds, exclude))
      // Queue order, oldest first: the walk stops at the first `limit` claimable operations.
      .orderBy("o.seq")
      .orderBy("o.id")
      .limit(limit);
    if (taken.length > 0) q = q.where("o.id", "not in", taken);
    return postgres ? q.forUpdate().skipLocked().execute() : q.execute();
  };

  const claim = (trx: Db, ids: readonly string[]) =>
    trx
      .updateTable("operations")
      .set((eb) => ({
        state: "running",
        attempts: eb("attempts", "+", 1),
        claimed_by: options.workerId,
        claim_expires_at: expires,
        claim_host: options.owner?.host ?? null,
        claim_pid: options.owner?.pid ?? null,
        updated_at: now,
      }))
      .where("id", "in", ids)
      .returningAll()
      .execute();

  if (capacity === undefined) {
    // No bound to count: the candidates' choice and their claim are one statement — on PostgreSQL the
    // queue's `update … where id in (select … for update skip locked)`, on SQLite one write statement,
    // atomic — with no transaction of its own: one round trip, and a claim that finds nothing (a push's
    // last look for its next operation) costs one statement rather than a transaction. Built once per
    // shape (query-template.ts).
    const ids = options.identityIds;
    const exclude = options.excludeSystems ?? [];
    const key = `${postgres}|${options.system !== undefined}|${ids?.length ?? "all"}|${exclude.length}`;
    const query = CLAIMS.compile(
      key,
      (value) => {
        const named = (list: readonly string[] | undefined, prefix: string) =>
          list?.map((_, i) => value(`${prefix}${i}`));
        let candidates = db
          .selectFrom("operations as o")
          .select("o.id")
          .where(
            claimable(
              value("now"),
              options.system === undefined ? undefined : value("system"),
              named(ids, "id"),
              named(exclude, "exclude"),
            ),
          )
          .orderBy("o.seq")
          .orderBy("o.id")
          .limit(value("limit") as unknown as number);
        if (postgres) candidates = candidates.forUpdate().skipLocked();
        return db
          .updateTable("operations")
          .set((eb) => ({
            state: "running",
            attempts: eb("attempts", "+", 1),
            claimed_by: value("workerId"),
            claim_expires_at: value("expires"),
            claim_host: value("host"),
            claim_pid: value("pid") as unknown as number,
            updated_at: value("now"),
          }))
          .where("id", "in", candidates)
          .returningAll();
      },
      {
        now,
        expires,
        limit: options.limit,
        workerId: options.workerId,
        host: options.owner?.host ?? null,
        pid: options.owner?.pid ?? null,
        system: options.system,
        ...Object.fromEntries((ids ?? []).map((id, i) => [`id${i}`, id])),
        ...Object.fromEntries(exclude.map((s, i) => [`exclude${i}`, s])),
      },
    );
    return (await db.executeQuery<Selectable<OperationsTable>>(query)).rows;
  }

  const run = async (trx: Db) => {
    let exclude = options.excludeSystems ?? [];
    const ids: string[] = [];
    /** Per system counted so far: the claims it may still take. */
    const room = new Map<string, number>();
    // A second pass only when systems found at their bound crowded the others out of the first.
    for (let pass = 0; pass < 2 && ids.length < options.limit; pass++) {
      const found = await select(trx, exclude, ids, options.limit - ids.length);
      if (capacity === undefined) {
        ids.push(...found.map((r) => r.id));
        break;
      }
      const fresh = [...new Set(found.map((r) => r.system))].filter((s) => !room.has(s));
      if (fresh.length > 0) {
        if (postgres) {
          // Sorted by key, so two claims never wait on each other's locks in opposite orders.
          await sql`select count(pg_advisory_xact_lock(${sql.lit(CAPACITY_LOCK_CLASS)}, k)) as n from (
              select distinct hashtext(current_schema() || '/' || s) as k
              from unnest(${fresh}::text[]) as s order by k) as keys`.execute(trx);
        }
        // Counted under the locks, in a statement of its own: it sees every claim committed before.
        const busy = await liveClaims(trx, now, fresh);
        for (const s of fresh) room.set(s, capacity(s) - (busy.get(s) ?? 0));
      }
      let crowded = false;
      for (const r of found) {
        const left = room.get(r.system) ?? 0;
        if (left > 0) {
          ids.push(r.id);
          room.set(r.system, left - 1);
        } else crowded = true;
      }
      if (!crowded) break;
      exclude = [...exclude, ...[...room].filter(([, left]) => left <= 0).map(([s]) => s)];
    }
    if (ids.length === 0) return [];
    return claim(trx, ids);
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

/** Live claims by system: operations `running` whose lease has not ended (an ended one is claimable). */
async function liveClaims(db: Db, now: string, systems?: readonly string[]): Promise<Map<string, number>> {
  let q = db
    .selectFrom("operations")
    .select((eb) => ["system", eb.fn.countAll().as("n")])
    .where("state", "=", "running")
    .where("claim_expires_at", ">=", now)
    .groupBy("system");
  if (systems !== undefined) q = q.where("system", "in", systems);
  return new Map((await q.execute()).map((r) => [r.system, Number(r.n)]));
}
