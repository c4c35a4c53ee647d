import type { NhiOrigin, NhiType, NonHumanIdentity } from "../domain/nhi-types.js";
import { bulkInsert } from "./bulk-insert.js";
import type { Db, NonHumanIdentitiesTable } from "./schema-types.js";

function fromRow(r: NonHumanIdentitiesTable): NonHumanIdentity {
  return {
    id: r.identity_id,
    name: r.name,
    type: r.type as NhiType,
    system: r.system,
    purpose: r.purpose,
    ownerKey: r.owner_key,
    ownerId: r.owner_id,
    ownerSince: r.owner_since,
    coOwnerKeys: JSON.parse(r.co_owner_keys),
    createdOn: r.created_on,
    lastRotatedAt: r.last_rotated_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    scopes: JSON.parse(r.scopes),
    scopeLastUsed: JSON.parse(r.scope_last_used),
    ownerAssignment:
      r.owner_assigned_at === null
        ? null
        : {
            at: r.owner_assigned_at,
            by: r.owner_assigned_by ?? "",
            coOwnerKeys: JSON.parse(r.assigned_co_owner_keys ?? "[]"),
          },
    entitlements: JSON.parse(r.entitlements),
    origin: r.origin as NhiOrigin,
    account: r.account,
    pendingOwnerId: r.pending_owner_id,
    pendingSince: r.pending_since,
    pendingDeadline: r.pending_deadline,
    ownerlessReason: r.ownerless_reason,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at,
    removedAt: r.removed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: Number(r.version),
  };
}

function toRow(n: NonHumanIdentity): NonHumanIdentitiesTable {
  return {
    identity_id: n.id,
    name: n.name,
    type: n.type,
    system: n.system,
    purpose: n.purpose,
    owner_key: n.ownerKey,
    owner_id: n.ownerId,
    owner_since: n.ownerSince,
    co_owner_keys: JSON.stringify(n.coOwnerKeys),
    created_on: n.createdOn,
    last_rotated_at: n.lastRotatedAt,
    expires_at: n.expiresAt,
    last_used_at: n.lastUsedAt,
    scopes: JSON.stringify(n.scopes),
    scope_last_used: JSON.stringify(n.scopeLastUsed),
    owner_assigned_at: n.ownerAssignment?.at ?? null,
    owner_assigned_by: n.ownerAssignment?.by ?? null,
    assigned_co_owner_keys: n.ownerAssignment === null ? null : JSON.stringify(n.ownerAssignment.coOwnerKeys),
    entitlements: JSON.stringify(n.entitlements),
    origin: n.origin,
    account: n.account,
    pending_owner_id: n.pendingOwnerId,
    pending_since: n.pendingSince,
    pending_deadline: n.pendingDeadline,
    ownerless_reason: n.ownerlessReason,
    disabled_reason: n.disabledReason,
    disabled_at: n.disabledAt,
    removed_at: n.removedAt,
    created_at: n.createdAt,
    updated_at: n.updatedAt,
    version: n.version,
  };
}

/** Every column of `non_human_identities`, as {@link toRow} writes them. */
const COLUMNS = Object.keys(
  toRow({
    coOwnerKeys: [],
    scopes: [],
    scopeLastUsed: {},
    entitlements: [],
    ownerAssignment: null,
  } as unknown as NonHumanIdentity),
);

/**
 * Non-human identities (`non_human_identities`), one row per NHI beside its `kind: service` identity.
 * Functions take a db or a transaction. Writes are optimistic: {@link nhiRepository.update} succeeds only
 * when the row still has the version that was read, so two processes running succession at once cannot
 * both act on one NHI (the loser sees false and re-reads).
 */
export const nhiRepository = {
  /** Every NHI, by name; removed ones too unless `live`. */
  async list(db: Db, options: { live?: boolean } = {}): Promise<NonHumanIdentity[]> {
    let q = db.selectFrom("non_human_identities").selectAll().orderBy("name");
    if (options.live === true) q = q.where("removed_at", "is", null);
    return (await q.execute()).map(fromRow);
  },

  async findByName(db: Db, name: string): Promise<NonHumanIdentity | undefined> {
    const row = await db
      .selectFrom("non_human_identities")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  async findById(db: Db, id: string): Promise<NonHumanIdentity | undefined> {
    const row = await db
      .selectFrom("non_human_identities")
      .selectAll()
      .where("identity_id", "=", id)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** Inserts a new NHI (version 1 expected). Throws on a duplicate id or name. */
  async insert(db: Db, nhi: NonHumanIdentity): Promise<void> {
    await db.insertInto("non_human_identities").values(toRow(nhi)).execute();
  },

  /**
   * Inserts many new NHIs in a few statements (a first sync of 100,000). An NHI whose name another writer
   * inserted meanwhile is skipped, not an error: returns the ids of those inserted.
   */
  async insertMany(db: Db, nhis: readonly NonHumanIdentity[]): Promise<Set<string>> {
    if (nhis.length === 0) return new Set();
    const rows = nhis.map(toRow);
    const inserted = await bulkInsert<{ identity_id: string }>(
      db,
      {
        table: "non_human_identities",
        columns: COLUMNS,
        ignoreConflicts: ["name"],
        returning: ["identity_id"],
      },
      rows,
    );
    return new Set(inserted.map((r) => r.identity_id));
  },

  /**
   * Writes `nhi` over the row read at version `nhi.version - 1`; false when the row moved on meanwhile
   * (another writer won) or is gone, and then nothing is written.
   */
  async update(db: Db, nhi: NonHumanIdentity): Promise<boolean> {
    const { identity_id, ...rest } = toRow(nhi);
    const result = await db
      .updateTable("non_human_identities")
      .set(rest)
      .where("identity_id", "=", identity_id)
      .where("version", "=", nhi.version - 1)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};
