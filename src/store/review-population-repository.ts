import { type RawBuilder, sql } from "kysely";
import { usesDollar } from "./bulk-insert.js";
import { sqliteFileOf } from "./database.js";
import { IDENTITY_READ_COLUMNS, fromRow as identityFromRow } from "./identity-repository.js";
import { postgresPage, postgresPageOf } from "./review-population-postgres.js";
import { openArrayRowReader } from "./review-population-reader.js";
import {
  assignmentsJson,
  holdingsOf,
  IDENTITY_SELECT,
  type IdentityColumns,
  type ReviewPopulationRow,
  STILL_HERE,
} from "./review-population-rows.js";
import type { Db } from "./schema-types.js";

/**
 * A review campaign's population read page after page (store/review-population-rows.ts says what a row
 * holds). On SQLite a page is one query with the assignments and accounts aggregated as JSON; on
 * PostgreSQL, store/review-population-postgres.ts.
 */

export interface ReviewPopulationFilter {
  /** Identities with an id after this one (keyset paging, id order). */
  after: string | null;
  limit: number;
  /** Only these identities, and (with `departments`) everyone of these departments. Absent: everyone. */
  identityIds?: readonly string[];
  departments?: readonly string[];
  /** Only identities with an id up to this one (a part of everyone, with `pages`' `from`). */
  through?: string | null;
}

/** The pages' filter: from the first identity after `from` (absent or null: from the first). */
export type PagesFilter = Omit<ReviewPopulationFilter, "after"> & { from?: string | null };

type Raw = IdentityColumns & {
  assignments: string | null;
  accounts: string | null;
};

/** A row of SQLite's page query: its assignments (of the current employment) and accounts as JSON. */
function fromRaw(r: Raw): ReviewPopulationRow {
  const identity = identityFromRow(r);
  return {
    identity,
    assignments: assignmentsJson(r.assignments, r.id, identity.employment),
    accounts: holdingsOf(r.accounts, r.id),
  };
}

/** The columns of SQLite's page query, in select order (a row read as an array is named by them). */
const SQLITE_COLUMNS = [...IDENTITY_READ_COLUMNS, "assignments", "accounts"] as const;

function rawOf(row: readonly unknown[]): Raw {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < SQLITE_COLUMNS.length; i++) out[SQLITE_COLUMNS[i]!] = row[i];
  return out as Raw;
}

/** A campaign's population read page after page (see `reviewPopulationRepository.pages`). */
export interface PopulationPages {
  /** The next page (the one after it is asked for before this returns), or null after the last. */
  next(): Promise<ReviewPopulationRow[] | null>;
  /** Ends what reading started (the worker thread); call it once the last page is read. */
  close(): Promise<void>;
}

/** A page read, and how to read the one after it (null: it was the last). */
interface Page {
  rows: ReviewPopulationRow[];
  following: (() => Promise<Page>) | null;
}

/** Pages by keyset: `read(after)` gives up to `limit` identities after `after`; fewer end the stream. */
function keysetPages(
  read: (after: string | null) => Promise<ReviewPopulationRow[]>,
  limit: number,
  start: string | null,
) {
  const from = async (after: string | null): Promise<Page> => {
    const rows = await read(after);
    const last = rows[rows.length - 1];
    return {
      rows,
      following: rows.length < limit || last === undefined ? null : () => from(last.identity.id),
    };
  };
  return () => from(start);
}

/** Pages of the ids `ids` (in id order), `limit` at a time. */
function idPages(db: Db, ids: () => Promise<string[]>, limit: number) {
  const from = async (all: readonly string[], start: number): Promise<Page> => ({
    rows: await postgresPageOf(db, all.slice(start, start + limit)),
    following: start + limit >= all.length ? null : () => from(all, start + limit),
  });
  return async () => {
    const all = await ids();
    return all.length === 0 ? { rows: [], following: null } : from(all, 0);
  };
}

function streamOf(first: () => Promise<Page>, close: () => Promise<void>): PopulationPages {
  let pending: Promise<Page> | null = first();
  // A page asked for ahead fails when awaited; nobody awaits it when the caller stops first.
  pending.catch(() => {});
  return {
    async next() {
      if (pending === null) return null;
      const page = await pending;
      pending = page.following?.() ?? null;
      if (pending !== null) {
        pending.catch(() => {});
        // Let the next page's queries out before the caller computes this page: they are sent from
        // promise continuations, which would otherwise wait for the caller's next await.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return page.rows;
    },
    close,
  };
}

/** Identities still here with an id after `after` (null: from the first) up to `through` (null: to the last). */
function stillHereBetween(after: string | null, through: string | null): RawBuilder<unknown>[] {
  const conditions = [STILL_HERE];
  if (after !== null) conditions.push(sql`i.id > ${after}`);
  if (through !== null) conditions.push(sql`i.id <= ${through}`);
  return conditions;
}

/** The page query, and on SQLite the query itself (PostgreSQL's page reads run in `postgresPage`). */
type PageQuery =
  | { kind: "empty" }
  | { kind: "postgres"; rows: () => Promise<ReviewPopulationRow[]> }
  | { kind: "sqlite"; query: RawBuilder<Raw> };

function pageQuery(db: Db, filter: ReviewPopulationFilter): PageQuery {
  if (filter.identityIds?.length === 0 && (filter.departments?.length ?? 0) === 0) return { kind: "empty" };
  const postgres = usesDollar(db);
  const assignments = sql<
    string | null
  >`(select json_group_array(json_array(a.id, a.role, a.system, a.entitlement, a.valid_from,
      a.valid_until, a.reason, a.approved_by, a.revoked_at, a.request_id, a.ended_at) order by a.rowid)
      from assignments a where a.identity_id = i.id and a.employment = i.employment)`;
  const accounts = sql<string | null>`(select json_group_array(json_array(c.system, c.username,
      json(c.entitlements), c.managed_entitlements, c.last_used_at) order by c.rowid)
      from accounts c where c.identity_id = i.id and c.enabled = 1 and c.vanished_at is null)`;
  const conditions = stillHereBetween(filter.after, filter.through ?? null);
  if (filter.identityIds !== undefined) {
    const members = [];
    if (filter.identityIds.length > 0) members.push(sql`i.id in (${sql.join(filter.identityIds)})`);
    if (filter.departments !== undefined && filter.departments.length > 0)
      members.push(sql`i.department in (${sql.join(filter.departments)})`);
    conditions.push(sql`(${sql.join(members, sql` or `)})`);
  }
  if (postgres) return { kind: "postgres", rows: () => postgresPage(db, conditions, filter.limit) };
  // The columns as SQLITE_COLUMNS lists them.
  return {
    kind: "sqlite",
    query: sql<Raw>`select ${IDENTITY_SELECT}, ${assignments} as assignments, ${accounts} as accounts
      from identities i where ${sql.join(conditions, sql` and `)}
      order by i.id limit ${filter.limit}`,
  };
}

export const reviewPopulationRepository = {
  /**
   * The id of the last of the first half of the identities still here, when there are `atLeast` of them
   * (and 2) or more; null otherwise (the half is not looked for then).
   */
  async middle(db: Db, atLeast: number): Promise<string | null> {
    const counted = await sql<{ n: number | string }>`select count(*) as n from identities i
      where ${STILL_HERE}`.execute(db);
    const count = Number(counted.rows[0]?.n ?? 0);
    if (count < Math.max(2, atLeast)) return null;
    const found = await sql<{ id: string }>`select i.id from identities i where ${STILL_HERE}
      order by i.id limit 1 offset ${Math.floor(count / 2) - 1}`.execute(db);
    return found.rows[0]?.id ?? null;
  },

  /**
   * A page of identities still here (not terminated nor deleted), in id order, with their assignments
   * and account holdings. Each list keeps the order the store returns rows in without an `order by`
   * (rowid on SQLite, heap order on PostgreSQL), which is what reading the tables whole gave.
   */
  async page(db: Db, filter: ReviewPopulationFilter): Promise<ReviewPopulationRow[]> {
    const q = pageQuery(db, filter);
    if (q.kind === "empty") return [];
    if (q.kind === "postgres") return q.rows();
    return (await q.query.execute(db)).rows.map(fromRaw);
  },

  /**
   * The pages of `filter` (without `after`: from the first), each next page asked for before the
   * caller gets the current one, so it is read while the caller computes. `parallel`, for a read of
   * many pages: on a SQLite store kept in a file, SQLite answers on a connection of its own in a worker
   * thread (store/review-population-reader.ts), on the other core (worth its start, a few tens of
   * milliseconds, only for many pages); on PostgreSQL everyone's ids are read first, so that each
   * page's query goes out as soon as the page before is handed over. Either sees what is committed as each page is read.
   */
  pages(db: Db, pagesFilter: PagesFilter, options: { parallel: boolean }): PopulationPages {
    const { from = null, ...filter } = pagesFilter;
    const everyone = filter.identityIds === undefined && filter.departments === undefined;
    if (options.parallel && everyone && usesDollar(db)) {
      const range = stillHereBetween(from, filter.through ?? null);
      const ids = async () =>
        (
          await sql<{ id: string }>`select i.id from identities i where ${sql.join(range, sql` and `)}
            order by i.id`.execute(db)
        ).rows.map((r) => r.id);
      return streamOf(idPages(db, ids, filter.limit), async () => {});
    }
    const file = options.parallel && !usesDollar(db) ? sqliteFileOf(db) : null;
    if (file === null) {
      return streamOf(
        keysetPages((after) => reviewPopulationRepository.page(db, { ...filter, after }), filter.limit, from),
        async () => {},
      );
    }
    const reader = openArrayRowReader(file);
    const read = async (after: string | null) => {
      const q = pageQuery(db, { ...filter, after });
      if (q.kind !== "sqlite") return reviewPopulationRepository.page(db, { ...filter, after });
      return (await reader.query(q.query.compile(db))).map((r) => fromRaw(rawOf(r)));
    };
    return streamOf(keysetPages(read, filter.limit, from), () => reader.close());
  },
};
