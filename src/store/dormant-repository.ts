import type { DormantRecord } from "../domain/dormant.js";
import type { DormantHold } from "../domain/dormant-hold.js";
import type { LifecycleState } from "../domain/identity-types.js";
import { chunk } from "./chunk.js";
import type { Db, DormantAccountsTable } from "./schema-types.js";

/**
 * Dormant-account notices and holds (`dormant_accounts`, one row per account): noticed, then disabled
 * (held disabled for the plan) or cleared. A new notice of an account replaces its cleared row.
 */

/** An account of a system as the dormant check reads it, with its holder's lifecycle state. */
export interface DormantAccountRow {
  accountId: string;
  system: string;
  username: string;
  nativeId: string | null;
  identityId: string | null;
  enabled: boolean;
  vanishedAt: string | null;
  lastUsedAt: string | null;
  /** The holder's state; null for an orphan (or an identity no longer stored). */
  holderState: LifecycleState | null;
}

/** A notice or hold with the account and holder it is about, for listings. */
export interface DormantListing extends DormantRecord {
  /** Null when the account row is gone. */
  username: string | null;
  /** The holder's email, else HR key; null for an orphan. */
  holder: string | null;
}

function fromRow(r: DormantAccountsTable): DormantRecord {
  return {
    accountId: r.account_id,
    system: r.system,
    identityId: r.identity_id,
    lastUsedAt: r.last_used_at,
    noticedAt: r.noticed_at,
    disableAt: r.disable_at,
    disabledAt: r.disabled_at,
    clearedAt: r.cleared_at,
  };
}

export const dormantRepository = {
  /** Every account of `system` (present or vanished), with what the check needs. */
  async accounts(db: Db, system: string): Promise<DormantAccountRow[]> {
    const rows = await db
      .selectFrom("accounts as a")
      .leftJoin("identities as i", "i.id", "a.identity_id")
      .select([
        "a.id",
        "a.system",
        "a.username",
        "a.native_id",
        "a.identity_id",
        "a.enabled",
        "a.vanished_at",
        "a.last_used_at",
        "i.state",
      ])
      .where("a.system", "=", system)
      .orderBy("a.username")
      .execute();
    return rows.map((r) => ({
      accountId: r.id,
      system: r.system,
      username: r.username,
      nativeId: r.native_id,
      identityId: r.identity_id,
      enabled: Number(r.enabled) === 1,
      vanishedAt: r.vanished_at,
      lastUsedAt: r.last_used_at,
      holderState: (r.state ?? null) as LifecycleState | null,
    }));
  },

  /** Every record (open or cleared), of one system or all. */
  async records(db: Db, system?: string): Promise<DormantRecord[]> {
    let q = db.selectFrom("dormant_accounts").selectAll();
    if (system !== undefined) q = q.where("system", "=", system);
    return (await q.orderBy("noticed_at").orderBy("account_id").execute()).map(fromRow);
  },

  /** The record of one account, open or cleared. */
  async find(db: Db, accountId: string): Promise<DormantRecord | undefined> {
    const row = await db
      .selectFrom("dormant_accounts")
      .selectAll()
      .where("account_id", "=", accountId)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /**
   * Records a notice; replaces a cleared record of the account. False when an open one is there
   * already (a concurrent check noticed it first): the caller then sends nothing.
   */
  async notice(
    db: Db,
    r: Pick<DormantRecord, "accountId" | "system" | "identityId" | "lastUsedAt" | "noticedAt" | "disableAt">,
  ): Promise<boolean> {
    const values = {
      account_id: r.accountId,
      system: r.system,
      identity_id: r.identityId,
      last_used_at: r.lastUsedAt,
      noticed_at: r.noticedAt,
      disable_at: r.disableAt,
      disabled_at: null,
      cleared_at: null,
    };
    const result = await db
      .insertInto("dormant_accounts")
      .values(values)
      .onConflict((oc) =>
        oc
          .column("account_id")
          .doUpdateSet({ ...values })
          .where("dormant_accounts.cleared_at", "is not", null),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  },

  /** Marks an open notice disabled (the hold starts); false when it is not open or already disabled. */
  async markDisabled(db: Db, accountId: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable("dormant_accounts")
      .set({ disabled_at: at })
      .where("account_id", "=", accountId)
      .where("disabled_at", "is", null)
      .where("cleared_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Clears an open notice or hold; false when it was cleared already (or is unknown). */
  async clear(db: Db, accountId: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable("dormant_accounts")
      .set({ cleared_at: at })
      .where("account_id", "=", accountId)
      .where("cleared_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Accounts held disabled for identities (all, or these): what the plan keeps disabled. Orphans'
   * holds are not listed: the plan never enables an orphan.
   */
  async holds(db: Db, identityIds?: readonly string[]): Promise<DormantHold[]> {
    if (identityIds?.length === 0) return [];
    const query = (ids: readonly string[] | undefined) => {
      let q = db
        .selectFrom("dormant_accounts")
        .select(["identity_id", "system", "last_used_at", "disabled_at"])
        .where("disabled_at", "is not", null)
        .where("cleared_at", "is", null)
        .where("identity_id", "is not", null);
      if (ids !== undefined) q = q.where("identity_id", "in", ids);
      return q.orderBy("identity_id").orderBy("system").execute();
    };
    const rows =
      identityIds === undefined
        ? await query(undefined)
        : (await Promise.all(chunk(identityIds, 500).map(query))).flat();
    return rows.map((r) => ({
      identityId: r.identity_id!,
      system: r.system,
      lastUsedAt: r.last_used_at,
      disabledAt: r.disabled_at!,
    }));
  },

  /** Open notices and holds (or every record, `all`), with the account's username and holder's name. */
  async list(db: Db, options: { all?: boolean; system?: string } = {}): Promise<DormantListing[]> {
    let q = db
      .selectFrom("dormant_accounts as d")
      .leftJoin("accounts as a", "a.id", "d.account_id")
      .leftJoin("identities as i", "i.id", "d.identity_id")
      .selectAll("d")
      .select(["a.username", "i.source_key", "i.email"]);
    if (options.all !== true) q = q.where("d.cleared_at", "is", null);
    if (options.system !== undefined) q = q.where("d.system", "=", options.system);
    const rows = await q.orderBy("d.system").orderBy("d.disable_at").orderBy("d.account_id").execute();
    return rows.map((r) => ({
      ...fromRow(r),
      username: r.username ?? null,
      holder: r.email ?? r.source_key ?? null,
    }));
  },
};
