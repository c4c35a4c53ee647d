import { type Selectable, sql } from "kysely";
import { normaliseText } from "../domain/normalise-text.js";
import { createGroupCommit, type GroupCommit } from "../shared/group-commit.js";
import { type BulkInsertSpec, bulkInsert } from "./bulk-insert.js";
import { chunk } from "./chunk.js";
import { KEYS_PER_STATEMENT, keyedQuery } from "./keyed-lookup.js";
import type { Db, ScimResourcesTable } from "./schema-types.js";

export type ScimResourceType = "User" | "Group";

/** One stored SCIM resource. `body` is the resource as served, without `meta` (made from the columns). */
export interface ScimResourceRecord {
  id: string;
  type: ScimResourceType;
  /** A User's userName or a Group's displayName, as given. */
  name: string;
  externalId: string | null;
  /** A User's key in the push source; null for Groups. */
  personKey: string | null;
  /** Starts at 1, one more on every write: the ETag is made from it. */
  version: number;
  body: Record<string, unknown>;
  created: string;
  lastModified: string;
}

/** The indexed columns an equality filter can use instead of reading every resource. */
export type ScimLookupColumn = "id" | "name" | "externalId";

export interface ScimListQuery {
  /** Only resources whose column equals the value (`name` compares case-insensitively). */
  where?: { column: ScimLookupColumn; value: string };
  /** `name` sorts by the lower-case name, `lastModified` by the instant; default id (creation) order. */
  orderBy?: "id" | "name" | "lastModified";
  descending?: boolean;
  /** 0-based. */
  offset: number;
  limit: number;
}

/** Per transaction, the inserts joined into one statement (insertJoined). */
const joinedInserts = new WeakMap<Db, GroupCommit<ScimResourceRecord, unknown>>();

/** The columns of a resource, named: a `select *` is parsed again on every call (store/pg-prepared.ts). */
const SCIM_COLUMNS = [
  "id",
  "type",
  "name",
  "name_key",
  "external_id",
  "person_key",
  "version",
  "json",
  "created",
  "last_modified",
] as const;

const RESOURCE_INSERT: BulkInsertSpec = { table: "scim_resources", columns: SCIM_COLUMNS };

/** A resource's values in the order of SCIM_COLUMNS. */
function rowValues(record: ScimResourceRecord): unknown[] {
  const row = toRow(record);
  return SCIM_COLUMNS.map((c) => row[c]);
}

function fromRow(r: Selectable<ScimResourcesTable>): ScimResourceRecord {
  return {
    id: r.id,
    type: r.type as ScimResourceType,
    name: r.name,
    externalId: r.external_id,
    personKey: r.person_key,
    version: Number(r.version),
    body: JSON.parse(r.json) as Record<string, unknown>,
    created: r.created,
    lastModified: r.last_modified,
  };
}

function toRow(record: ScimResourceRecord): Selectable<ScimResourcesTable> {
  return {
    id: record.id,
    type: record.type,
    name: record.name,
    name_key: nameKey(record.name),
    external_id: record.externalId,
    person_key: record.personKey,
    version: record.version,
    json: JSON.stringify(record.body),
    created: record.created,
    last_modified: record.lastModified,
  };
}

/**
 * How names are compared: userName and a Group's displayName are case-insensitive in SCIM, and, like
 * every key from a source, compared in Unicode NFC and trimmed, so an NFD spelling or a trailing space
 * is the same name.
 */
export function nameKey(name: string): string {
  return normaliseText(name).toLowerCase();
}

/** `text` for a LIKE pattern with `escape '\\'`: its wildcards and backslashes taken literally. */
function likeText(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}

const COLUMN = { id: "id", name: "name_key", externalId: "external_id" } as const;
const ORDER = { id: "id", name: "name_key", lastModified: "last_modified" } as const;

/**
 * Users and Groups of the SCIM server. Names are unique per type (case-insensitively) and a User's
 * person key is unique, by constraint: a racing writer gets the database's unique violation. Writes
 * are conditional on the version read, so a lost update is impossible. Functions take a db or a
 * transaction.
 */
export const scimResourceRepository = {
  /** @throws the database's unique violation when the name or person key is taken. */
  async insert(db: Db, record: ScimResourceRecord): Promise<void> {
    await db.insertInto("scim_resources").values(toRow(record)).execute();
  },

  /**
   * {@link insert} in a transaction other inserts of it may join: the resources inserted in one turn
   * of the event loop on one transaction go as one statement (a grouped push's new Users: one insert,
   * not one each). A failed statement fails every insert that joined it, as the transaction does.
   */
  async insertJoined(trx: Db, record: ScimResourceRecord): Promise<void> {
    let joined = joinedInserts.get(trx);
    if (joined === undefined) {
      joined = createGroupCommit<ScimResourceRecord, unknown>({
        maxBatch: 1000,
        maxInFlight: 1,
        // A failure is every joiner's answer, never a reason to insert them one by one: on SQLite the
        // others would then be written after the transaction that failed had rolled back.
        run: async (_, records) => {
          try {
            await bulkInsert(trx, RESOURCE_INSERT, records.map(rowValues));
            return records.map(() => undefined);
          } catch (err) {
            return records.map(() => err ?? new Error("the insert failed"));
          }
        },
        alone: async (_, r) => {
          await scimResourceRepository.insert(trx, r);
          return undefined;
        },
      });
      joinedInserts.set(trx, joined);
    }
    const failed = await joined.submit("", record);
    if (failed !== undefined) throw failed;
  },

  /**
   * Replaces a resource if it is still at `expectedVersion`; false when it changed or went meanwhile.
   * @throws the database's unique violation when the new name or person key is taken.
   */
  async replace(db: Db, record: ScimResourceRecord, expectedVersion: number): Promise<boolean> {
    const { id, type, created: _created, ...rest } = toRow(record);
    const result = await db
      .updateTable("scim_resources")
      .set(rest)
      .where("id", "=", id)
      .where("type", "=", type)
      .where("version", "=", expectedVersion)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async remove(db: Db, type: ScimResourceType, id: string): Promise<boolean> {
    const result = await db
      .deleteFrom("scim_resources")
      .where("id", "=", id)
      .where("type", "=", type)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  },

  async findById(db: Db, type: ScimResourceType, id: string): Promise<ScimResourceRecord | undefined> {
    const row = await db
      .selectFrom("scim_resources")
      .selectAll()
      .where("id", "=", id)
      .where("type", "=", type)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** The resource of `type` holding `name`, compared case-insensitively. */
  async findByName(db: Db, type: ScimResourceType, name: string): Promise<ScimResourceRecord | undefined> {
    const row = await db
      .selectFrom("scim_resources")
      .selectAll()
      .where("type", "=", type)
      .where("name_key", "=", nameKey(name))
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /**
   * The Users holding a userName (case-insensitively) and a person key, in one read: what a User write
   * checks before it is admitted.
   */
  async findUserHolders(
    db: Db,
    name: string,
    personKey: string,
  ): Promise<{ byName: ScimResourceRecord | undefined; byPersonKey: ScimResourceRecord | undefined }> {
    return (await this.findUsersHolders(db, [{ name, personKey }]))[0]!;
  },

  /**
   * {@link findUserHolders} of several Users (the SCIM writes in hand at once): a lookup of each unique
   * index, each key through the index (keyed-lookup.ts), the two in one statement.
   */
  async findUsersHolders(
    db: Db,
    users: readonly { name: string; personKey: string }[],
  ): Promise<{ byName: ScimResourceRecord | undefined; byPersonKey: ScimResourceRecord | undefined }[]> {
    const ofUsers = { table: "scim_resources", columns: SCIM_COLUMNS, fixed: { type: "User" } };
    const asked = users.map((u) => ({ nameKey: nameKey(u.name), personKey: u.personKey }));
    const byName = new Map<string, Selectable<ScimResourcesTable>>();
    const byPersonKey = new Map<string, Selectable<ScimResourcesTable>>();
    for (const part of chunk(asked, KEYS_PER_STATEMENT)) {
      const names = [...new Set(part.map((u) => u.nameKey))];
      const personKeys = [...new Set(part.map((u) => u.personKey))];
      const named = keyedQuery(db, { ...ofUsers, key: "name_key" }, names);
      const keyed = keyedQuery(db, { ...ofUsers, key: "person_key" }, personKeys);
      const { rows } = await sql<Selectable<ScimResourcesTable>>`${named} union all ${keyed}`.execute(db);
      // Names and person keys are each unique among Users, so a row is filed under both: a key asked
      // for finds its one holder whichever lookup returned it.
      for (const r of rows) {
        byName.set(r.name_key, r);
        if (r.person_key !== null) byPersonKey.set(r.person_key, r);
      }
    }
    return asked.map((u) => {
      const name = byName.get(u.nameKey);
      const person = byPersonKey.get(u.personKey);
      return {
        byName: name === undefined ? undefined : fromRow(name),
        byPersonKey: person === undefined ? undefined : fromRow(person),
      };
    });
  },

  async findByPersonKey(db: Db, key: string): Promise<ScimResourceRecord | undefined> {
    const row = await db
      .selectFrom("scim_resources")
      .selectAll()
      .where("type", "=", "User")
      .where("person_key", "=", key)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** A page of one type, and how many match in all. */
  async list(
    db: Db,
    type: ScimResourceType,
    query: ScimListQuery,
  ): Promise<{ total: number; records: ScimResourceRecord[] }> {
    let base = db.selectFrom("scim_resources").where("type", "=", type);
    if (query.where !== undefined) {
      const value = query.where.column === "name" ? nameKey(query.where.value) : query.where.value;
      base = base.where(COLUMN[query.where.column], "=", value);
    }
    const counted = await base.select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirst();
    const total = Number(counted?.n ?? 0);
    if (query.limit <= 0 || query.offset >= total) return { total, records: [] };
    const direction = query.descending === true ? "desc" : "asc";
    const rows = await base
      .selectAll()
      .orderBy(ORDER[query.orderBy ?? "id"], direction)
      .orderBy("id", direction)
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    return { total, records: rows.map(fromRow) };
  },

  async count(db: Db, type: ScimResourceType): Promise<number> {
    const row = await db
      .selectFrom("scim_resources")
      .where("type", "=", type)
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  /** Every resource of a type, in id order: for filters no index serves. */
  async all(db: Db, type: ScimResourceType): Promise<ScimResourceRecord[]> {
    const rows = await db
      .selectFrom("scim_resources")
      .selectAll()
      .where("type", "=", type)
      .orderBy("id")
      .execute();
    return rows.map(fromRow);
  },

  /**
   * The Groups whose stored text mentions `memberId` (as JSON writes it) — a superset of those listing
   * it as a member, which the caller narrows by reading `members`.
   */
  async groupsMentioning(db: Db, memberId: string): Promise<ScimResourceRecord[]> {
    const rows = await db
      .selectFrom("scim_resources")
      .selectAll()
      .where("type", "=", "Group")
      .where(sql<boolean>`json like ${`%${likeText(JSON.stringify(memberId).slice(1, -1))}%`} escape '\\'`)
      .execute();
    return rows.map(fromRow);
  },
};
