import type { Selectable } from "kysely";
import type { ConsoleSessionsTable, Db } from "./schema-types.js";

/** How a person signed in to the console. */
export type SignInMethod = "token" | "oidc" | "link";

/** One console session as the rest of Tenure sees it: never its secret, never its hash. */
export interface ConsoleSessionRecord {
  id: string;
  csrfToken: string;
  name: string;
  role: string;
  identityId: string | null;
  via: SignInMethod;
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
}

function fromRow(r: Selectable<ConsoleSessionsTable>): ConsoleSessionRecord {
  return {
    id: r.id,
    csrfToken: r.csrf_token,
    name: r.name,
    role: r.role,
    identityId: r.identity_id,
    via: r.via as SignInMethod,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
  };
}

/**
 * Console sessions and one-time sign-in links. Only SHA-256 hashes of the cookie secret and of the link
 * code are stored (each unique). Functions take a db or a transaction.
 */
export const consoleSessionRepository = {
  async insert(db: Db, record: ConsoleSessionRecord, secretHash: string): Promise<void> {
    await db
      .insertInto("console_sessions")
      .values({
        id: record.id,
        secret_hash: secretHash,
        csrf_token: record.csrfToken,
        name: record.name,
        role: record.role,
        identity_id: record.identityId,
        via: record.via,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        ended_at: record.endedAt,
      })
      .execute();
  },

  /** The session with this secret hash, with the stored hash for the caller's constant-time compare. */
  async findByHash(
    db: Db,
    secretHash: string,
  ): Promise<{ record: ConsoleSessionRecord; secretHash: string } | undefined> {
    const row = await db
      .selectFrom("console_sessions")
      .selectAll()
      .where("secret_hash", "=", secretHash)
      .executeTakeFirst();
    return row === undefined ? undefined : { record: fromRow(row), secretHash: row.secret_hash };
  },

  /** Ends a live session; false when it had ended already (signed out twice, or by two tabs at once). */
  async end(db: Db, id: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable("console_sessions")
      .set({ ended_at: at })
      .where("id", "=", id)
      .where("ended_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  async insertLink(
    db: Db,
    link: { id: string; name: string; role: string; createdAt: string; createdBy: string; expiresAt: string },
    codeHash: string,
  ): Promise<void> {
    await db
      .insertInto("console_sign_in_links")
      .values({
        id: link.id,
        code_hash: codeHash,
        name: link.name,
        role: link.role,
        created_at: link.createdAt,
        created_by: link.createdBy,
        expires_at: link.expiresAt,
        used_at: null,
      })
      .execute();
  },

  /**
   * Marks the unused, unexpired link with this code hash used, and returns it; undefined when there is
   * none. One conditional update: of two requests racing with the same link, exactly one gets it.
   */
  async consumeLink(
    db: Db,
    codeHash: string,
    at: string,
  ): Promise<{ id: string; name: string; role: string } | undefined> {
    const row = await db
      .selectFrom("console_sign_in_links")
      .select(["id", "name", "role"])
      .where("code_hash", "=", codeHash)
      .where("used_at", "is", null)
      .where("expires_at", ">", at)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const result = await db
      .updateTable("console_sign_in_links")
      .set({ used_at: at })
      .where("id", "=", row.id)
      .where("used_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0 ? row : undefined;
  },
};
