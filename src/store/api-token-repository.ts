import type { Selectable } from "kysely";
import type { ApiTokensTable, Db } from "./schema-types.js";

/** One API token as the rest of Tenure sees it: never the token, never its hash. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  role: string;
  /** The first characters of the token, so a person can tell tokens apart. */
  prefix: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** The identity the token stands for (`--identity`); null for a machine's token. */
  identityId: string | null;
}

/** A token found by its hash: the record and the stored hash, for the caller's constant-time compare. */
export interface ApiTokenMatch {
  record: ApiTokenRecord;
  tokenHash: string;
}

function fromRow(r: Selectable<ApiTokensTable>): ApiTokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    prefix: r.prefix,
    createdAt: r.created_at,
    createdBy: r.created_by,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
    identityId: r.identity_id,
  };
}

/**
 * API bearer tokens. Only the SHA-256 hash of a token is stored (unique), so the table alone cannot
 * authenticate anyone. A name is unique among tokens not revoked (a partial unique index decides
 * between concurrent creators). Functions take a db or a transaction.
 */
export const apiTokenRepository = {
  /** @throws the database's unique violation when the hash, or the name among live tokens, is taken. */
  async insert(db: Db, record: ApiTokenRecord, tokenHash: string): Promise<void> {
    await db
      .insertInto("api_tokens")
      .values({
        id: record.id,
        name: record.name,
        role: record.role,
        token_hash: tokenHash,
        prefix: record.prefix,
        created_at: record.createdAt,
        created_by: record.createdBy,
        expires_at: record.expiresAt,
        revoked_at: record.revokedAt,
        last_used_at: record.lastUsedAt,
        identity_id: record.identityId,
      })
      .execute();
  },

  async findByHash(db: Db, tokenHash: string): Promise<ApiTokenMatch | undefined> {
    const row = await db
      .selectFrom("api_tokens")
      .selectAll()
      .where("token_hash", "=", tokenHash)
      .executeTakeFirst();
    return row === undefined ? undefined : { record: fromRow(row), tokenHash: row.token_hash };
  },

  async findById(db: Db, id: string): Promise<ApiTokenRecord | undefined> {
    const row = await db.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** The token holding `name` that is not revoked, if any. */
  async findLiveByName(db: Db, name: string): Promise<ApiTokenRecord | undefined> {
    const row = await db
      .selectFrom("api_tokens")
      .selectAll()
      .where("name", "=", name)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** The identities holding a live token (not revoked, not expired at `now`) of `role`: an approval step's people. */
  async identitiesWithRole(db: Db, role: string, now: string): Promise<string[]> {
    const rows = await db
      .selectFrom("api_tokens")
      .select("identity_id")
      .distinct()
      .where("role", "=", role)
      .where("identity_id", "is not", null)
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
      .execute();
    return rows.flatMap((r) => (r.identity_id === null ? [] : [r.identity_id]));
  },

  /** Every token, revoked ones too, oldest first. */
  async list(db: Db): Promise<ApiTokenRecord[]> {
    const rows = await db.selectFrom("api_tokens").selectAll().orderBy("created_at").orderBy("id").execute();
    return rows.map(fromRow);
  },

  /** Marks a live token revoked; false when it was revoked already (or does not exist). */
  async revoke(db: Db, id: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable("api_tokens")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Records a use, unless one was recorded after `notAfter`: a busy token costs one write a minute,
   * not one per request. The condition is in the statement, so concurrent requests write once.
   */
  async touch(db: Db, id: string, at: string, notAfter: string): Promise<void> {
    await db
      .updateTable("api_tokens")
      .set({ last_used_at: at })
      .where("id", "=", id)
      .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", notAfter)]))
      .execute();
  },
};

export type ApiTokenRepository = typeof apiTokenRepository;
