import { type ExpressionBuilder, type Selectable, sql } from "kysely";
import { usesDollar } from "./bulk-insert.js";
import type { ClaimOwner } from "./claim-rows.js";
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
}

const CLAIMS = new QueryTemplates();

/**
 * Claimable now: due — pending; failed whose retry time has come; running whose claim expired (its
 * worker crashed or hung) — and at the head of its queue: no earlier open operation (lower seq, ties
 * broken by id so the order is total) of the same identity in the same system. An identity-less
 * operation (an orphan's) queues behind earlier identity-less ones on the same username. Only a head
 * may run; everything behind it waits until it finishes (succeeds or goes dead). Identities need no
 * username queue: a username is allocated to one identity per system once and kept (account_links).
 *
 * Both "earlier" lookups read open operations only, through operations_open_identity_idx (an
 * identity-less lookup is `is null`, which only orphan operations share), so a claim costs one index
 * probe per due operation, however long the identity's history.
 */
function claimable(
  now: string,
  system: string | undefined,
  identityIds?: readonly string[],
  excludeSystems?: readonly string[],
) {
  return (eb: ExpressionBuilder<Database & { o: OperationsTable }, "o">) => {
    // Open exactly while finished_at is null: written so, the probe may use operations_open_identity_idx,
    // which holds only what is still open (a condition on state read every earlier operation, finished
    // ones too, from the table).
    const earlierOpen = () =>
      eb
        .selectFrom("operations as e")
        .select(sql.lit(1).as("one"))
        .whereRef("e.system", "=", "o.system")
        .where("e.finished_at", "is", null)
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
 * The candidates' choice and their claim are one statement — on PostgreSQL the queue's `update … where
 * id in (select … for update skip locked)`, so concurrent claims take disjoint rows without waiting; on
 * SQLite one write statement, atomic — with no transaction of its own: one round trip, and a claim that
 * finds nothing (a push's last look for its next operation) costs one statement rather than a
 * transaction. Built once per shape (query-template.ts).
 *
 * A claim is not bounded by a system's concurrency over every process: that would take away the claims
 * ahead that keep the lanes busy (one process wrote 6,300 instead of 48,000 operations a minute into
 * OpenLDAP with such a bound). What executes is bounded instead (system-slots.ts).
 */
export async function claimOperationRows(
  db: Db,
  options: ClaimOptions,
): Promise<Selectable<OperationsTable>[]> {
  if (options.limit < 1 || options.identityIds?.length === 0) return [];
  const now = options.now.toISOString();
  const expires = new Date(options.now.getTime() + options.leaseSeconds * 1000).toISOString();
  const postgres = usesDollar(db);

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
