import { type QueryResult, type RawBuilder, sql } from "kysely";
import type { Assignment } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { usesDollar } from "./bulk-insert.js";
import { sqliteFileOf } from "./database.js";
import { type HeldEntitlements, StoredHoldings } from "./held-account.js";
import { IDENTITY_READ_COLUMNS, fromRow as identityFromRow } from "./identity-repository.js";
import { withLocalSettings } from "./local-settings.js";
import { openArrayRowReader } from "./review-population-reader.js";
import type { Db, IdentitiesTable } from "./schema-types.js";

/**
 * What a review campaign reads of each identity, one row per identity: the identity itself, its
 * assignments of the current employment and what its enabled, present accounts hold, aggregated as JSON
 * in SQL. Reading 1,000,000 assignments as row objects, then as `Assignment`s, was most of a campaign's
 * load (docs/performance.md, "Access reviews"); one JSON text per identity is a tenth of the objects.
 */

/** One identity with everything desired state and the review's candidates read of it. */
export interface ReviewPopulationRow {
  identity: Identity;
  /** Its assignments of the current employment (other employments never count), in stored order. */
  assignments: Assignment[];
  /** Its enabled, present accounts, in stored order, with their last use. */
  accounts: Array<HeldEntitlements & { lastUsedAt: string | null }>;
}

export interface ReviewPopulationFilter {
  /** Identities with an id after this one (keyset paging, id order). */
  after: string | null;
  limit: number;
  /** Only these identities, and (with `departments`) everyone of these departments. Absent: everyone. */
  identityIds?: readonly string[];
  departments?: readonly string[];
}

type Raw = Pick<IdentitiesTable, (typeof IDENTITY_READ_COLUMNS)[number]> & {
  assignments: string | null;
  accounts: string | null;
};

/** The identity's columns of a page query, as `i.column` in IDENTITY_READ_COLUMNS' order. */
const IDENTITY_SELECT = sql.join(IDENTITY_READ_COLUMNS.map((c) => sql.ref(`i.${c}`)));

type AssignmentTuple = [
  string,
  string | null,
  string | null,
  string | null,
  string,
  string | null,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  // Its employment: PostgreSQL's page reads every employment's assignments (pgHoldings); SQLite's
  // query reads only the current one's and leaves it out.
  number?,
];
type AccountTuple = [string, string, string[], string, string | null];

function fromRaw(r: Raw): ReviewPopulationRow {
  const identity = identityFromRow(r);
  const { employment } = identity;
  const assignments: Assignment[] = [];
  for (const a of JSON.parse(r.assignments ?? "[]") as AssignmentTuple[]) {
    // Another employment's assignments never count.
    if (a[11] !== undefined && a[11] !== employment) continue;
    assignments.push({
      id: a[0],
      identityId: r.id,
      target: a[1] !== null ? { role: a[1] } : { system: a[2] ?? "", entitlement: a[3] ?? "" },
      employment,
      validFrom: a[4],
      validUntil: a[5],
      reason: a[6],
      approvedBy: a[7],
      revokedAt: a[8],
      requestId: a[9] ?? null,
      endedAt: a[10] ?? null,
    });
  }
  const accounts: ReviewPopulationRow["accounts"] = [];
  for (const c of JSON.parse(r.accounts ?? "[]") as AccountTuple[]) {
    accounts.push(
      new StoredHoldings({
        identityId: r.id,
        system: c[0],
        username: c[1],
        entitlements: c[2],
        managedText: c[3],
        lastUsedAt: c[4],
      }),
    );
  }
  return { identity, assignments, accounts };
}

type Identities = Omit<Raw, "assignments" | "accounts">;

/** Whether an identity is still here (a campaign looks at nobody terminated or deleted). */
const STILL_HERE = sql`i.state not in ('terminated', 'deleted')`;

/**
 * PostgreSQL: the assignments and accounts of the identities `ids`, each identity's as one JSON text
 * aggregated by the server (one JSON.parse an identity here, where a row object and a parse per
 * assignment made garbage collection a quarter of the load). An assignment carries its employment, and
 * those of another employment are left out when read (`fromRaw`): joining `identities` in SQL made the
 * server hash the whole table for every page.
 */
function pgHoldings(db: Db, ids: readonly string[]) {
  return Promise.all([
    pgRead(
      db,
      sql<{ identity_id: string; t: string }>`select a.identity_id, json_agg(json_build_array(a.id,
        a.role, a.system, a.entitlement, a.valid_from, a.valid_until, a.reason, a.approved_by, a.revoked_at,
        a.request_id, a.ended_at, a.employment) order by a.ctid)::text as t
      from assignments a where a.identity_id = any(${ids}) group by a.identity_id`,
    ),
    pgRead(
      db,
      sql<{ identity_id: string; t: string }>`select c.identity_id, json_agg(json_build_array(c.system,
        c.username, c.entitlements::json, c.managed_entitlements, c.last_used_at) order by c.ctid)::text as t
      from accounts c where c.identity_id = any(${ids}) and c.enabled = 1 and c.vanished_at is null
      group by c.identity_id`,
    ),
  ]);
}

const PAGE_SETTINGS = { max_parallel_workers_per_gather: "0", work_mem: "32MB" };

/**
 * PostgreSQL: runs a page's query without parallel workers and with room to sort in memory
 * (store/local-settings.ts). A page is tens of thousands of
 * rows: two workers started for each of a load's sixty queries doubled the server's CPU time (17.5
 * against 9 s of it for 100,000 identities), which on a machine of few cores is taken from the campaign
 * computing beside it; and 4 MB of work_mem sorted a page's assignments on disk.
 */
function pgRead<R>(db: Db, query: RawBuilder<R>): Promise<QueryResult<R>> {
  return withLocalSettings(db, PAGE_SETTINGS, (on) => query.execute(on));
}

/** The identities with what `pgHoldings` read of them, in the identities' order. */
function pgRows(
  identities: readonly Identities[],
  [assignments, accounts]: Awaited<ReturnType<typeof pgHoldings>>,
): ReviewPopulationRow[] {
  const textOf = (rows: readonly { identity_id: string; t: string }[]) =>
    new Map(rows.map((r) => [r.identity_id, r.t]));
  const assignmentsOf = textOf(assignments.rows);
  const accountsOf = textOf(accounts.rows);
  return identities.map((i) =>
    fromRaw({ ...i, assignments: assignmentsOf.get(i.id) ?? null, accounts: accountsOf.get(i.id) ?? null }),
  );
}

/** PostgreSQL, a page by its conditions: the page's identities, then their holdings. */
async function pgPage(
  db: Db,
  conditions: RawBuilder<unknown>[],
  limit: number,
): Promise<ReviewPopulationRow[]> {
  const identities = (
    await sql<Identities>`select ${IDENTITY_SELECT}
      from identities i where ${sql.join(conditions, sql` and `)}
      order by i.id limit ${limit}`.execute(db)
  ).rows;
  if (identities.length === 0) return [];
  return pgRows(
    identities,
    await pgHoldings(
      db,
      identities.map((i) => i.id),
    ),
  );
}

/**
 * PostgreSQL, a page of identities known by id (everyone's ids are read first): its three queries are
 * sent at once, so the server answers all of them while the page before is computed, where a page by
 * its conditions can ask for the holdings only once its identities are in (after that computation).
 */
async function pgPageOf(db: Db, ids: readonly string[]): Promise<ReviewPopulationRow[]> {
  const [identities, holdings] = await Promise.all([
    pgRead(
      db,
      sql<Identities>`select ${IDENTITY_SELECT} from identities i
        where i.id = any(${ids}) and ${STILL_HERE} order by i.id`,
    ),
    pgHoldings(db, ids),
  ]);
  return pgRows(identities.rows, holdings);
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
function keysetPages(read: (after: string | null) => Promise<ReviewPopulationRow[]>, limit: number) {
  const from = async (after: string | null): Promise<Page> => {
    const rows = await read(after);
    const last = rows[rows.length - 1];
    return {
      rows,
      following: rows.length < limit || last === undefined ? null : () => from(last.identity.id),
    };
  };
  return () => from(null);
}

/** Pages of the ids `ids` (in id order), `limit` at a time. */
function idPages(db: Db, ids: () => Promise<string[]>, limit: number) {
  const from = async (all: readonly string[], start: number): Promise<Page> => ({
    rows: await pgPageOf(db, all.slice(start, start + limit)),
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

/** The page query, and on SQLite the query itself (PostgreSQL's page reads run in `pgPage`). */
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
  const conditions = [STILL_HERE];
  if (filter.after !== null) conditions.push(sql`i.id > ${filter.after}`);
  if (filter.identityIds !== undefined) {
    const members = [];
    if (filter.identityIds.length > 0) members.push(sql`i.id in (${sql.join(filter.identityIds)})`);
    if (filter.departments !== undefined && filter.departments.length > 0)
      members.push(sql`i.department in (${sql.join(filter.departments)})`);
    conditions.push(sql`(${sql.join(members, sql` or `)})`);
  }
  if (postgres) return { kind: "postgres", rows: () => pgPage(db, conditions, filter.limit) };
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
   * page's three queries go out at once. Either sees what is committed as each page is read.
   */
  pages(
    db: Db,
    filter: Omit<ReviewPopulationFilter, "after">,
    options: { parallel: boolean },
  ): PopulationPages {
    const everyone = filter.identityIds === undefined && filter.departments === undefined;
    if (options.parallel && everyone && usesDollar(db)) {
      const ids = async () =>
        (
          await sql<{ id: string }>`select i.id from identities i where ${STILL_HERE} order by i.id`.execute(
            db,
          )
        ).rows.map((r) => r.id);
      return streamOf(idPages(db, ids, filter.limit), async () => {});
    }
    const file = options.parallel && !usesDollar(db) ? sqliteFileOf(db) : null;
    if (file === null) {
      return streamOf(
        keysetPages((after) => reviewPopulationRepository.page(db, { ...filter, after }), filter.limit),
        async () => {},
      );
    }
    const reader = openArrayRowReader(file);
    const read = async (after: string | null) => {
      const q = pageQuery(db, { ...filter, after });
      if (q.kind !== "sqlite") return reviewPopulationRepository.page(db, { ...filter, after });
      return (await reader.query(q.query.compile(db))).map((r) => fromRaw(rawOf(r)));
    };
    return streamOf(keysetPages(read, filter.limit), () => reader.close());
  },
};
