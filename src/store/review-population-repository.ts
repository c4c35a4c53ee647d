import { type RawBuilder, sql } from "kysely";
import type { Assignment } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import type { HeldEntitlements } from "./account-repository.js";
import { usesDollar } from "./bulk-insert.js";
import { sqliteFileOf } from "./database.js";
import { IDENTITY_READ_COLUMNS, fromRow as identityFromRow } from "./identity-repository.js";
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
];
type AccountTuple = [string, string, string[], string, string | null];

function fromRaw(r: Raw): ReviewPopulationRow {
  return fromParts(
    r,
    JSON.parse(r.assignments ?? "[]") as AssignmentTuple[],
    JSON.parse(r.accounts ?? "[]") as AccountTuple[],
  );
}

function fromParts(
  r: Omit<Raw, "assignments" | "accounts">,
  assignmentTuples: readonly AssignmentTuple[],
  accountTuples: readonly AccountTuple[],
): ReviewPopulationRow {
  const identity = identityFromRow(r);
  const { employment } = identity;
  const assignments: Assignment[] = [];
  for (const a of assignmentTuples) {
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
  for (const c of accountTuples) {
    const managed = c[3];
    accounts.push({
      identityId: r.id,
      system: c[0],
      username: c[1],
      entitlements: c[2],
      // As accountRepository.reviewHoldings: who granted an entitlement is looked up in the text when asked.
      isManaged: (key: string) => managed.includes(JSON.stringify(key)),
      lastUsedAt: c[4],
    });
  }
  return { identity, assignments, accounts };
}

type Identities = Omit<Raw, "assignments" | "accounts">;

/**
 * PostgreSQL: the page's identities, then their assignments and accounts as plain rows ordered by
 * identity and heap order, grouped here. Aggregating JSON per identity in a correlated subquery made the
 * server's part of a load about four times the bare read (docs/performance.md, "Access reviews").
 */
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
  const ids = identities.map((i) => i.id);
  const [assignments, accounts] = await Promise.all([
    sql<{ identity_id: string; t: AssignmentTuple }>`select a.identity_id, json_build_array(a.id, a.role,
        a.system, a.entitlement, a.valid_from, a.valid_until, a.reason, a.approved_by, a.revoked_at,
        a.request_id, a.ended_at) as t
      from assignments a join identities i on i.id = a.identity_id and i.employment = a.employment
      where a.identity_id = any(${ids}) order by a.identity_id, a.ctid`.execute(db),
    sql<{ identity_id: string; t: AccountTuple }>`select c.identity_id, json_build_array(c.system, c.username,
        c.entitlements::json, c.managed_entitlements, c.last_used_at) as t
      from accounts c where c.identity_id = any(${ids}) and c.enabled = 1 and c.vanished_at is null
      order by c.identity_id, c.ctid`.execute(db),
  ]);
  const byIdentity = <T>(rows: readonly { identity_id: string; t: T }[]): Map<string, T[]> => {
    const out = new Map<string, T[]>();
    for (const r of rows) {
      const list = out.get(r.identity_id);
      if (list === undefined) out.set(r.identity_id, [r.t]);
      else list.push(r.t);
    }
    return out;
  };
  const assignmentsOf = byIdentity(assignments.rows);
  const accountsOf = byIdentity(accounts.rows);
  return identities.map((i) => fromParts(i, assignmentsOf.get(i.id) ?? [], accountsOf.get(i.id) ?? []));
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
  page(filter: ReviewPopulationFilter): Promise<ReviewPopulationRow[]>;
  /** Ends what reading started (the worker thread); call it once the last page is read. */
  close(): Promise<void>;
}

/** The page query, and on SQLite the query itself (PostgreSQL's page reads run in `pgPage`). */
type PageQuery =
  | { kind: "empty" }
  | { kind: "postgres"; rows: () => Promise<ReviewPopulationRow[]> }
  | { kind: "sqlite"; query: RawBuilder<Raw> };

function pageQuery(db: Db, filter: ReviewPopulationFilter): PageQuery {
  if (filter.identityIds?.length === 0 && (filter.departments?.length ?? 0) === 0) return { kind: "empty" };
  const postgres = usesDollar(db);
  const order = postgres ? sql.raw("ctid") : sql.raw("rowid");
  const assignments = postgres
    ? sql<
        string | null
      >`(select json_agg(json_build_array(a.id, a.role, a.system, a.entitlement, a.valid_from,
          a.valid_until, a.reason, a.approved_by, a.revoked_at, a.request_id, a.ended_at) order by a.${order})::text
          from assignments a where a.identity_id = i.id and a.employment = i.employment)`
    : sql<
        string | null
      >`(select json_group_array(json_array(a.id, a.role, a.system, a.entitlement, a.valid_from,
          a.valid_until, a.reason, a.approved_by, a.revoked_at, a.request_id, a.ended_at) order by a.${order})
          from assignments a where a.identity_id = i.id and a.employment = i.employment)`;
  const accounts = postgres
    ? sql<string | null>`(select json_agg(json_build_array(c.system, c.username, c.entitlements::json,
          c.managed_entitlements, c.last_used_at) order by c.${order})::text
          from accounts c where c.identity_id = i.id and c.enabled = 1 and c.vanished_at is null)`
    : sql<string | null>`(select json_group_array(json_array(c.system, c.username, json(c.entitlements),
          c.managed_entitlements, c.last_used_at) order by c.${order})
          from accounts c where c.identity_id = i.id and c.enabled = 1 and c.vanished_at is null)`;
  const conditions = [sql`i.state not in ('terminated', 'deleted')`];
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
   * Pages as `page` reads them, for a read of many pages. `parallel`: on a SQLite store kept in a file,
   * SQLite answers on a connection of its own in a worker thread (store/review-population-reader.ts),
   * so a page asked for before the last one is computed is read meanwhile on the other core (PostgreSQL
   * does that by itself); that connection sees what is committed. Worth its start (a few tens of
   * milliseconds) only for many pages. Otherwise, and on PostgreSQL, exactly `page`.
   */
  pages(db: Db, options: { parallel: boolean }): PopulationPages {
    const file = options.parallel && !usesDollar(db) ? sqliteFileOf(db) : null;
    if (file === null)
      return { page: (filter) => reviewPopulationRepository.page(db, filter), close: async () => {} };
    const reader = openArrayRowReader(file);
    return {
      async page(filter) {
        const q = pageQuery(db, filter);
        if (q.kind !== "sqlite") return reviewPopulationRepository.page(db, filter);
        const rows = await reader.query(q.query.compile(db));
        return rows.map((r) => fromRaw(rawOf(r)));
      },
      close: () => reader.close(),
    };
  },
};
