import { sql } from "kysely";
import type { LifecycleState } from "../domain/identity-types.js";
import { nhiInventoryDigest } from "../domain/nhi-digest.js";
import type { NhiFindingFacts } from "../domain/nhi-findings.js";
import type { NhiOrigin, NhiType, NonHumanIdentity } from "../domain/nhi-types.js";
import { bulkInsert, usesDollar } from "./bulk-insert.js";
import { nhiJsonRows } from "./nhi-json-pages.js";
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
    // Written with every write, whoever writes: the sync compares it with its declaration's.
    inventory_digest: nhiInventoryDigest(n),
  };
}

/** Every column of `non_human_identities`, as {@link toRow} writes them. */
const COLUMNS = Object.keys(
  toRow({
    ...Object.fromEntries(
      ["type", "system", "purpose", "ownerKey", "createdOn", "lastRotatedAt", "expiresAt", "lastUsedAt"].map(
        (k) => [k, null],
      ),
    ),
    coOwnerKeys: [],
    scopes: [],
    scopeLastUsed: {},
    entitlements: [],
    ownerAssignment: null,
    origin: "file",
  } as unknown as NonHumanIdentity),
);

/**
 * A live NHI as the risk report reads it: the facts its findings are made of, what the report shows of
 * it, and its owner's source key and state (undefined: no owner id, or it names nobody).
 */
export interface NhiRiskRow extends NhiFindingFacts {
  system: string | null;
  entitlements: readonly string[];
  owner: { sourceKey: string; state: LifecycleState } | undefined;
}

/** What the inventory sync needs of every stored NHI to tell which it must read whole. */
export interface NhiSyncEntry {
  digest: string | null;
  origin: NhiOrigin;
  /** Not removed from the inventory. */
  live: boolean;
  /**
   * No owner in force, none pending, no reason recorded and not disabled: an owner declared before the
   * person was known, taken up by the sync once they are.
   */
  awaitingOwner: boolean;
}

/**
 * Non-human identities (`non_human_identities`), one row per NHI beside its `kind: service` identity.
 * Functions take a db or a transaction. Writes are optimistic: {@link nhiRepository.update} succeeds only
 * when the row still has the version that was read, so two processes running succession at once cannot
 * both act on one NHI (the loser sees false and re-reads).
 */
export const nhiRepository = {
  /** Every NHI, by name; removed ones too unless `live`; only those of `system` when given. */
  async list(db: Db, options: { live?: boolean; system?: string } = {}): Promise<NonHumanIdentity[]> {
    let q = db.selectFrom("non_human_identities").selectAll().orderBy("name");
    if (options.live === true) q = q.where("removed_at", "is", null);
    if (options.system !== undefined) q = q.where("system", "=", options.system);
    return (await q.execute()).map(fromRow);
  },

  /**
   * Every live NHI by name, only the columns its findings and the risk report need, with its owner's
   * source key and state: the report over 100,000 NHIs spent most of its time reading whole rows (and the
   * owners' whole identities). Empty lists and maps come back as null from the database (no text made
   * and parsed for them).
   */
  async riskRows(db: Db): Promise<NhiRiskRow[]> {
    const rows = await nhiJsonRows(
      db,
      [
        "name",
        "type",
        "system",
        "owner_key",
        "owner_id",
        "pending_owner_id",
        "ownerless_reason",
        "disabled_at",
        "created_on",
        "last_rotated_at",
        "expires_at",
        "last_used_at",
        "json(scopes)",
        "json(scope_last_used)",
        "json(entitlements)",
      ],
      "removed_at is null",
      true,
    );
    const owners = new Map<string, { sourceKey: string; state: LifecycleState }>();
    const ownerRows = await db
      .selectFrom("identities")
      .select(["id", "source_key", "state"])
      .where("id", "in", (eb) =>
        eb
          .selectFrom("non_human_identities")
          .select("owner_id")
          .where("removed_at", "is", null)
          .where("owner_id", "is not", null),
      )
      .execute();
    for (const o of ownerRows)
      owners.set(o.id, { sourceKey: o.source_key, state: o.state as LifecycleState });
    return rows.map((r) => {
      const ownerId = r[4] as string | null;
      return {
        name: r[0] as string,
        type: r[1] as NhiType,
        system: r[2] as string | null,
        ownerKey: r[3] as string | null,
        ownerId,
        pendingOwnerId: r[5] as string | null,
        ownerlessReason: r[6] as string | null,
        disabledAt: r[7] as string | null,
        removedAt: null,
        createdOn: r[8] as string | null,
        lastRotatedAt: r[9] as string | null,
        expiresAt: r[10] as string | null,
        lastUsedAt: r[11] as string | null,
        scopes: r[12] as string[],
        scopeLastUsed: r[13] as Record<string, string>,
        entitlements: r[14] as string[],
        owner: ownerId === null ? undefined : owners.get(ownerId),
      };
    });
  },

  /** How many NHIs are live (not removed). */
  async countLive(db: Db): Promise<number> {
    const row = await db
      .selectFrom("non_human_identities")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("removed_at", "is", null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /**
   * Every NHI's name with its stored inventory digest and the two facts the sync decides on — a few short
   * columns per NHI instead of the whole row (the hourly sync of 100,000 NHIs read every row whole).
   */
  async syncIndex(db: Db): Promise<Map<string, NhiSyncEntry>> {
    const rows = await nhiJsonRows(
      db,
      [
        "name",
        "inventory_digest",
        "origin",
        // One small number for both flags: 1 removed, 2 awaiting its declared owner.
        "case when removed_at is null then 0 else 1 end + case when owner_id is null and pending_owner_id is null and ownerless_reason is null and disabled_at is null then 2 else 0 end",
      ],
      null,
      false,
    );
    const out = new Map<string, NhiSyncEntry>();
    for (const r of rows) {
      const flags = r[3] as number;
      out.set(r[0] as string, {
        digest: r[1] as string | null,
        origin: r[2] as NhiOrigin,
        live: (flags & 1) === 0,
        awaitingOwner: (flags & 2) !== 0,
      });
    }
    return out;
  },

  /**
   * The NHIs named `names` that exist, whole, by name (in the store's order, as {@link list} gives them):
   * the names go as one JSON parameter, so any number of them is one query.
   */
  async findByNames(db: Db, names: readonly string[]): Promise<NonHumanIdentity[]> {
    if (names.length === 0) return [];
    const wanted = usesDollar(db)
      ? sql`select json_array_elements_text(${JSON.stringify(names)}::json)`
      : sql`select value from json_each(${JSON.stringify(names)})`;
    const rows = await db
      .selectFrom("non_human_identities")
      .selectAll()
      .where(sql<boolean>`name in (${wanted})`)
      .orderBy("name")
      .execute();
    return rows.map(fromRow);
  },

  /**
   * Records the inventory digest of NHIs whose stored one is missing or stale (rows written before digests
   * were kept) — only the digest, over the version read; the NHI itself does not change.
   */
  async storeDigests(db: Db, nhis: readonly NonHumanIdentity[]): Promise<void> {
    for (const n of nhis) {
      await db
        .updateTable("non_human_identities")
        .set({ inventory_digest: nhiInventoryDigest(n) })
        .where("identity_id", "=", n.id)
        .where("version", "=", n.version)
        .execute();
    }
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
