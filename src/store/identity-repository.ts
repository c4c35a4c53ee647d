import { type RawBuilder, sql } from "kysely";
import type { Identity, LifecycleState } from "../domain/identity-types.js";
import { jsonOf } from "../shared/json-text.js";
import { type BulkInsertSpec, bulkInsert, usesDollar } from "./bulk-insert.js";
import type { Db, IdentitiesTable } from "./schema-types.js";

const IDENTITY_COLUMNS = [
  "id",
  "kind",
  "source",
  "source_key",
  "email",
  "state",
  "attributes",
  "employment",
  "state_since",
  "created_at",
  "updated_at",
  "last_record_id",
  "previous_attributes",
  "attributes_changed_at",
  "department",
  "search_text",
] as const satisfies readonly (keyof IdentitiesTable)[];

// Values bound in one `in (…)` list: far below every database's bound-parameter limit.
const LOOKUP_CHUNK = 1000;

const IDENTITY_UPSERT: BulkInsertSpec = {
  table: "identities",
  columns: IDENTITY_COLUMNS,
  upsert: {
    conflict: ["id"],
    update: IDENTITY_COLUMNS.filter(
      (c) => c !== "id" && c !== "created_at" && c !== "kind" && c !== "source",
    ),
  },
};

function toRow(i: Identity): IdentitiesTable {
  return {
    id: i.id,
    kind: i.kind,
    source: i.source,
    source_key: i.sourceKey,
    email: i.attributes.email?.toLowerCase() ?? null,
    state: i.state,
    attributes: jsonOf(i.attributes),
    employment: i.employment,
    state_since: i.stateSince,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    last_record_id: i.lastRecordId,
    previous_attributes: i.previousAttributes === null ? null : JSON.stringify(i.previousAttributes),
    attributes_changed_at: i.attributesChangedAt,
    department: i.attributes.department,
    search_text: searchTextOf(i),
  };
}

/** What a listing search matches, lowercased: the key, email, display name and id, one per line. */
function searchTextOf(i: Identity): string {
  return [i.sourceKey, i.attributes.email, i.attributes.displayName, i.id]
    .filter((v): v is string => typeof v === "string")
    .map((v) => v.toLowerCase())
    .join("\n");
}

/** `text` as a LIKE pattern that matches it literally anywhere (`\` escapes %, _ and itself). */
/**
 * Below this many matches a SQLite search reads the matches from the trigram index; from it on, it
 * reads identities in id order until a page is full (a match is then at least one row in N / 5,000).
 */
const SELECTIVE_SEARCH = 5_000;

function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The columns an Identity is made of: listings skip the search text and the copies kept for filters. */
export const IDENTITY_READ_COLUMNS = [
  "id",
  "kind",
  "source",
  "source_key",
  "state",
  "attributes",
  "employment",
  "state_since",
  "created_at",
  "updated_at",
  "last_record_id",
  "previous_attributes",
  "attributes_changed_at",
] as const;

/** An identity from its row (the columns of {@link IDENTITY_READ_COLUMNS}). */
export function fromRow(r: Pick<IdentitiesTable, (typeof IDENTITY_READ_COLUMNS)[number]>): Identity {
  return {
    id: r.id,
    kind: r.kind as Identity["kind"],
    source: r.source,
    sourceKey: r.source_key,
    state: r.state as LifecycleState,
    attributes: JSON.parse(r.attributes),
    employment: Number(r.employment),
    stateSince: r.state_since,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastRecordId: r.last_record_id,
    previousAttributes: r.previous_attributes === null ? null : JSON.parse(r.previous_attributes),
    attributesChangedAt: r.attributes_changed_at,
  };
}

export interface IdentityFilter {
  source?: string;
  state?: LifecycleState;
  department?: string;
  /** Case-insensitive match on key, email or name. */
  search?: string;
  /** Cursor: return identities with an id greater than this. */
  after?: string;
  limit?: number;
}

/** The identities of `source` whose `value` is one of `values`, a bounded `in (…)` list at a time. */
async function listWhereIn(
  db: Db,
  source: string,
  value: RawBuilder<string>,
  values: readonly string[],
): Promise<Identity[]> {
  const unique = [...new Set(values)];
  const out: Identity[] = [];
  for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
    const rows = await db
      .selectFrom("identities")
      .select(IDENTITY_READ_COLUMNS)
      .where("source", "=", source)
      .where(value, "in", unique.slice(i, i + LOOKUP_CHUNK))
      .execute();
    out.push(...rows.map(fromRow));
  }
  return out;
}

/** Identities, one repository for the aggregate. Functions take a db or a transaction. */
export const identityRepository = {
  async listBySource(db: Db, source: string): Promise<Identity[]> {
    const rows = await db
      .selectFrom("identities")
      .select(IDENTITY_READ_COLUMNS)
      .where("source", "=", source)
      .execute();
    return rows.map(fromRow);
  },

  /**
   * The identities of `source` with one of `keys` as their source key or one of `emails` (lower case)
   * as their email: what a push of a few records can touch. Indexed lookups only (the unique source
   * key, the email index), so a push never reads the whole source.
   */
  async listBySourceKeysOrEmails(
    db: Db,
    source: string,
    keys: readonly string[],
    emails: readonly string[],
  ): Promise<Identity[]> {
    const found = new Map<string, Identity>();
    for (const i of await listWhereIn(db, source, sql.ref<string>("source_key"), keys)) found.set(i.id, i);
    for (const i of await listWhereIn(db, source, sql.ref<string>("email"), emails)) found.set(i.id, i);
    return [...found.values()];
  },

  /**
   * The identities of `source` whose `managerId` is one of `managerKeys`: their direct reports. The
   * manager is a field of the attributes JSON, which no index covers, so the database scans the
   * source's rows — but only matching identities are read out of it.
   */
  async listReports(db: Db, source: string, managerKeys: readonly string[]): Promise<Identity[]> {
    const manager = usesDollar(db)
      ? sql<string>`(attributes::json ->> 'managerId')`
      : sql<string>`json_extract(attributes, '$.managerId')`;
    return listWhereIn(db, source, manager, managerKeys);
  },

  /** How many identities of `source` are not gone (terminated or deleted): the population of mass-change protection. */
  async countLive(db: Db, source: string): Promise<number> {
    const row = await db
      .selectFrom("identities")
      .select(db.fn.countAll<number>().as("n"))
      .where("source", "=", source)
      .where("state", "not in", ["terminated", "deleted"])
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  /**
   * Identities in id order, filtered and paged in SQL: `after` is the cursor, `limit` the page size.
   * Each filter has an index ending in `id`, so a page costs the same at the start and deep in a
   * large store.
   */
  async list(db: Db, filter: IdentityFilter = {}): Promise<Identity[]> {
    let q = db.selectFrom("identities").select(IDENTITY_READ_COLUMNS);
    if (filter.source !== undefined) q = q.where("source", "=", filter.source);
    if (filter.state !== undefined) q = q.where("state", "=", filter.state);
    if (filter.department !== undefined) q = q.where("department", "=", filter.department);
    if (filter.search !== undefined) {
      // A search for a line break cannot match across the fields that search_text joins with one.
      if (filter.search.includes("\n")) return [];
      const term = filter.search.toLowerCase();
      q = q.where(sql<boolean>`search_text like ${containsPattern(term)} escape '\\'`);
      // PostgreSQL's pg_trgm index serves the like itself (migration 2026-12-04T00-00). On SQLite the
      // trigram index finds the rows first when they are few (a phrase of three or more characters is a
      // substring query there); when they are many, reading in id order fills a page sooner than
      // gathering every match would.
      if (!usesDollar(db) && [...term].length >= 3) {
        const phrase = `"${term.replaceAll('"', '""')}"`;
        const probe = await sql<{ n: number }>`select count(*) as n from (select 1 from identities_search
          where identities_search match ${phrase} limit ${SELECTIVE_SEARCH})`.execute(db);
        if (Number(probe.rows[0]?.n ?? 0) < SELECTIVE_SEARCH) {
          q = q.where(
            sql<boolean>`identities.rowid in (select rowid from identities_search where identities_search match ${phrase})`,
          );
        }
      }
    }
    if (filter.after !== undefined) q = q.where("id", ">", filter.after);
    q = q.orderBy("id");
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    const rows = await q.execute();
    return rows.map(fromRow);
  },

  /** The identities of these ids that exist, by id: a bounded `in (…)` list at a time. */
  async findByIds(db: Db, ids: readonly string[]): Promise<Map<string, Identity>> {
    const found = new Map<string, Identity>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
      const rows = await db
        .selectFrom("identities")
        .select(IDENTITY_READ_COLUMNS)
        .where("id", "in", unique.slice(i, i + LOOKUP_CHUNK))
        .execute();
      for (const row of rows) found.set(row.id, fromRow(row));
    }
    return found;
  },

  /**
   * Serialises writes about one identity (grants checked against what it holds): on PostgreSQL a row
   * lock held to the end of the transaction `db` must be, so a second writer waits and then sees the
   * first; SQLite runs one write transaction at a time already.
   */
  async lockRow(db: Db, id: string): Promise<void> {
    if (usesDollar(db)) await sql`select id from identities where id = ${id} for update`.execute(db);
  },

  /** Identities whose attributes changed at or after `since` (movers), oldest change first. */
  async attributesChangedSince(db: Db, since: string, limit = 10_000): Promise<Identity[]> {
    const rows = await db
      .selectFrom("identities")
      .select(IDENTITY_READ_COLUMNS)
      .where("attributes_changed_at", ">=", since)
      .where("previous_attributes", "is not", null)
      .orderBy("attributes_changed_at")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  },

  async findById(db: Db, id: string): Promise<Identity | undefined> {
    const row = await db
      .selectFrom("identities")
      .select(IDENTITY_READ_COLUMNS)
      .where("id", "=", id)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /**
   * The identities whose email (case-insensitively), HR key (in any source) or id is `value`: who a
   * single sign-on claim names. Indexed lookups; a rehire or two sources may give more than one.
   */
  async findByMatch(db: Db, attribute: "email" | "employeeId" | "id", value: string): Promise<Identity[]> {
    const query = db.selectFrom("identities").select(IDENTITY_READ_COLUMNS);
    const rows =
      attribute === "email"
        ? await query.where("email", "=", value.toLowerCase()).execute()
        : attribute === "employeeId"
          ? await query.where("source_key", "=", value).execute()
          : await query.where("id", "=", value).execute();
    return rows.map(fromRow);
  },

  /** Finds by id, by source key (in any source) or by email, in that order. */
  async resolve(db: Db, ref: string): Promise<Identity | undefined> {
    const byId = await this.findById(db, ref);
    if (byId !== undefined) return byId;
    const byKey = await db
      .selectFrom("identities")
      .select(IDENTITY_READ_COLUMNS)
      .where("source_key", "=", ref)
      .execute();
    if (byKey.length === 1 && byKey[0] !== undefined) return fromRow(byKey[0]);
    const byEmail = await db
      .selectFrom("identities")
      .select(IDENTITY_READ_COLUMNS)
      .where("email", "=", ref.toLowerCase())
      .execute();
    if (byEmail.length === 1 && byEmail[0] !== undefined) return fromRow(byEmail[0]);
    return undefined;
  },

  /**
   * {@link resolve} of many references at once, with the same answer for each (by id, else a unique source
   * key in any source, else a unique email), in a few chunked `in` queries instead of up to three per
   * reference. A reference that names nobody, or more than one, is absent from the map.
   */
  async resolveMany(db: Db, refs: readonly string[]): Promise<Map<string, Identity>> {
    const out = await this.findByIds(db, refs);
    const matches = async (column: "source_key" | "email", wanted: readonly string[]) => {
      const found = new Map<string, Identity[]>();
      for (let i = 0; i < wanted.length; i += LOOKUP_CHUNK) {
        const rows = await db
          .selectFrom("identities")
          .select([...IDENTITY_READ_COLUMNS, "email"])
          .where(column, "in", wanted.slice(i, i + LOOKUP_CHUNK))
          .execute();
        for (const row of rows) {
          const key = row[column] as string;
          found.set(key, [...(found.get(key) ?? []), fromRow(row)]);
        }
      }
      return found;
    };
    const byKey = await matches("source_key", [...new Set(refs.filter((r) => !out.has(r)))]);
    for (const [key, found] of byKey) if (found.length === 1) out.set(key, found[0]!);
    const rest = [...new Set(refs.filter((r) => !out.has(r)))];
    const byEmail = await matches("email", [...new Set(rest.map((r) => r.toLowerCase()))]);
    for (const ref of rest) {
      const found = byEmail.get(ref.toLowerCase());
      if (found?.length === 1) out.set(ref, found[0]!);
    }
    return out;
  },

  async countByState(db: Db): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom("identities")
      .select(["state", db.fn.countAll<number>().as("n")])
      .groupBy("state")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  },

  /** The `updated_at` of each of these identities that exists, by id. */
  async updatedAtOf(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 2000) {
      const rows = await db
        .selectFrom("identities")
        .select(["id", "updated_at"])
        .where("id", "in", ids.slice(i, i + 2000))
        .execute();
      for (const row of rows) found.set(row.id, row.updated_at);
    }
    return found;
  },

  /** Inserts new identities and overwrites existing ones (by id), in chunks. */
  async upsertMany(db: Db, identities: readonly Identity[]): Promise<void> {
    await bulkInsert(
      db,
      IDENTITY_UPSERT,
      identities.map((i) => {
        const r = toRow(i);
        return IDENTITY_COLUMNS.map((c) => r[c]);
      }),
    );
  },
};
