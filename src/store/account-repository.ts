import { type Selectable, sql } from "kysely";
import type { Account } from "../domain/access-types.js";
import { newId } from "../shared/ids.js";
import { type BulkInsertSpec, bulkInsert } from "./bulk-insert.js";
import { type HeldEntitlements, holdingsOfRow } from "./held-account.js";
import { selectByKeys } from "./keyed-lookup.js";
import type { AccountsTable, Db } from "./schema-types.js";

/**
 * The columns an Account is made of, written and read: PostgreSQL also keeps the entitlements parsed (a
 * generated jsonb copy for the separation-of-duties scan), which readers of whole accounts must not carry.
 */
const ACCOUNT_COLUMNS = [
  "id",
  "system",
  "native_id",
  "username",
  "identity_id",
  "enabled",
  "attributes",
  "entitlements",
  "managed_entitlements",
  "managed",
  "vanished_at",
  "last_seen_at",
  "last_used_at",
  "updated_at",
  "credential_employment",
] as const satisfies readonly (keyof AccountsTable)[];

const ACCOUNT_UPSERT: BulkInsertSpec = {
  table: "accounts",
  columns: ACCOUNT_COLUMNS,
  upsert: {
    conflict: ["system", "username"],
    update: ACCOUNT_COLUMNS.filter((c) => c !== "id" && c !== "system" && c !== "username"),
  },
};

const LINK_INSERT: BulkInsertSpec = {
  table: "account_links",
  columns: ["identity_id", "system", "username", "created_at"],
  ignoreConflicts: ["identity_id", "system"],
};

// For deletes by a list of usernames: far below every database's bound-parameter limit.
const CHUNK = 2000;

/** The usernames of `keys`, by system. */
function bySystem(keys: readonly { system: string; username: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { system, username } of keys) {
    const usernames = out.get(system);
    if (usernames === undefined) out.set(system, [username]);
    else usernames.push(username);
  }
  return out;
}

function fromRow(r: AccountsTable): Account {
  return {
    system: r.system,
    nativeId: r.native_id,
    username: r.username,
    identityId: r.identity_id,
    enabled: Number(r.enabled) === 1,
    attributes: JSON.parse(r.attributes),
    entitlements: JSON.parse(r.entitlements),
    managedEntitlements: JSON.parse(r.managed_entitlements),
    managed: Number(r.managed) === 1,
    vanishedAt: r.vanished_at,
    lastSeenAt: r.last_seen_at,
    lastUsedAt: r.last_used_at,
    credentialEmployment: r.credential_employment === null ? null : Number(r.credential_employment),
  };
}

function toRow(a: Account, updatedAt: string, id: string = newId()): AccountsTable {
  return {
    id,
    system: a.system,
    native_id: a.nativeId,
    username: a.username,
    identity_id: a.identityId,
    enabled: a.enabled ? 1 : 0,
    attributes: JSON.stringify(a.attributes),
    entitlements: JSON.stringify([...a.entitlements].sort()),
    managed_entitlements: JSON.stringify([...a.managedEntitlements].sort()),
    managed: a.managed ? 1 : 0,
    vanished_at: a.vanishedAt ?? null,
    last_seen_at: a.lastSeenAt,
    last_used_at: a.lastUsedAt,
    updated_at: updatedAt,
    credential_employment: a.credentialEmployment ?? null,
  };
}

/**
 * The columns of an account row the account journal records (engine/account-journal.ts), as stored:
 * `entitlements` is the row's JSON text (sorted when written), compared as text so a reconcile of
 * 250,000 unchanged accounts parses none of it.
 */
export interface JournalRow {
  system: string;
  username: string;
  nativeId: string | null;
  identityId: string | null;
  enabled: boolean;
  entitlementsJson: string;
  vanished: boolean;
}

/**
 * Actual state: what each system has, as last read by reconcile or written by apply.
 * Keyed by (system, username).
 */
export const accountRepository = {
  /**
   * The entitlements on enabled, present accounts of identities (all, or these) in `systems`: only the
   * columns a separation-of-duties scan reads, so a scan of everyone does not parse every account's
   * attributes.
   */
  async heldEntitlements(
    db: Db,
    filter: { systems: readonly string[]; identityIds?: readonly string[] },
  ): Promise<HeldEntitlements[]> {
    if (filter.systems.length === 0 || filter.identityIds?.length === 0) return [];
    let q = db
      .selectFrom("accounts")
      .select(["identity_id", "system", "username", "entitlements", "managed_entitlements"])
      .where("identity_id", "is not", null)
      .where("enabled", "=", 1)
      .where("vanished_at", "is", null)
      .where("system", "in", filter.systems);
    if (filter.identityIds !== undefined) q = q.where("identity_id", "in", filter.identityIds);
    const rows = await q.execute();
    return rows.map(holdingsOfRow);
  },

  async list(
    db: Db,
    filter: {
      system?: string;
      identityId?: string;
      identityIds?: readonly string[];
      orphansOnly?: boolean;
    } = {},
  ): Promise<Account[]> {
    if (filter.identityIds?.length === 0) return [];
    let q = db.selectFrom("accounts").select(ACCOUNT_COLUMNS);
    if (filter.system !== undefined) q = q.where("system", "=", filter.system);
    if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
    if (filter.identityIds !== undefined) q = q.where("identity_id", "in", filter.identityIds);
    if (filter.orphansOnly) q = q.where("identity_id", "is", null);
    const rows = await q.orderBy("system").orderBy("username").execute();
    return rows.map(fromRow);
  },

  /**
   * Enabled accounts (not vanished) of identities that are terminated: what a leaver still holds. The
   * first `limit` accounts by identity, and how many such identities there are in all. Should be none: the dashboard shows it red.
   */
  async enabledOfTerminated(
    db: Db,
    limit: number,
  ): Promise<{ identities: number; rows: Array<{ identityId: string; system: string; username: string }> }> {
    const base = db
      .selectFrom("accounts")
      .innerJoin("identities", "identities.id", "accounts.identity_id")
      .where("identities.state", "=", "terminated")
      .where("accounts.enabled", "=", 1)
      .where("accounts.vanished_at", "is", null);
    const [count, rows] = await Promise.all([
      base.select(sql<number>`count(distinct accounts.identity_id)`.as("n")).executeTakeFirstOrThrow(),
      base
        .select(["accounts.identity_id as identityId", "accounts.system", "accounts.username"])
        .orderBy("accounts.identity_id")
        .orderBy("accounts.system")
        .limit(limit)
        .execute(),
    ]);
    return {
      identities: Number(count.n),
      rows: rows.map((r) => ({ identityId: r.identityId!, system: r.system, username: r.username })),
    };
  },

  /** Accounts per system, vanished ones left out: the population mass-change protection takes a share of. */
  async countBySystem(db: Db): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom("accounts")
      .select(["system", db.fn.countAll<number>().as("n")])
      .where("vanished_at", "is", null)
      .groupBy("system")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.system, Number(r.n)]));
  },

  async find(db: Db, system: string, username: string): Promise<Account | undefined> {
    const r = await db
      .selectFrom("accounts")
      .select(ACCOUNT_COLUMNS)
      .where("system", "=", system)
      .where("username", "=", username)
      .executeTakeFirst();
    return r === undefined ? undefined : fromRow(r);
  },

  /** The accounts with these (system, username) keys that exist, in no particular order. */
  async findMany(db: Db, keys: readonly { system: string; username: string }[]): Promise<Account[]> {
    const found: Account[] = [];
    for (const [system, usernames] of bySystem(keys)) {
      const rows = await selectByKeys<Selectable<AccountsTable>>(
        db,
        { table: "accounts", columns: ACCOUNT_COLUMNS, fixed: { system }, key: "username" },
        usernames,
      );
      found.push(...rows.map(fromRow));
    }
    return found;
  },

  /**
   * The journalled columns of every account, of every account of `system`, or of the accounts with these
   * keys that exist.
   * Read inside the writer's transaction, after the ledger lock, they are the rows as the write finds them.
   */
  async journalRows(
    db: Db,
    of: "all" | { system: string } | { keys: readonly { system: string; username: string }[] },
  ): Promise<JournalRow[]> {
    const columns = [
      "system",
      "username",
      "native_id",
      "identity_id",
      "enabled",
      "entitlements",
      "vanished_at",
    ] as const;
    const toJournal = (r: Pick<AccountsTable, (typeof columns)[number]>): JournalRow => ({
      system: r.system,
      username: r.username,
      nativeId: r.native_id,
      identityId: r.identity_id,
      enabled: Number(r.enabled) === 1,
      entitlementsJson: r.entitlements,
      vanished: r.vanished_at !== null,
    });
    if (of === "all") return (await db.selectFrom("accounts").select(columns).execute()).map(toJournal);
    if ("system" in of) {
      const rows = await db.selectFrom("accounts").select(columns).where("system", "=", of.system).execute();
      return rows.map(toJournal);
    }
    const found: JournalRow[] = [];
    for (const [system, usernames] of bySystem(of.keys)) {
      const rows = await selectByKeys<Pick<AccountsTable, (typeof columns)[number]>>(
        db,
        { table: "accounts", columns, fixed: { system }, key: "username" },
        usernames,
      );
      found.push(...rows.map(toJournal));
    }
    return found;
  },

  /** Removes the accounts with these (system, username) keys; absent ones are ignored. */
  async removeMany(db: Db, keys: readonly { system: string; username: string }[]): Promise<void> {
    for (const [system, usernames] of bySystem(keys)) {
      for (let i = 0; i < usernames.length; i += CHUNK) {
        await db
          .deleteFrom("accounts")
          .where("system", "=", system)
          .where("username", "in", usernames.slice(i, i + CHUNK))
          .execute();
      }
    }
  },

  /** Inserts or replaces accounts by (system, username). */
  async upsertMany(db: Db, accounts: readonly Account[], updatedAt: string): Promise<void> {
    await bulkInsert(
      db,
      ACCOUNT_UPSERT,
      accounts.map((a) => {
        const r = toRow(a, updatedAt);
        return ACCOUNT_COLUMNS.map((c) => r[c]);
      }),
    );
  },

  async remove(db: Db, system: string, username: string): Promise<void> {
    await db.deleteFrom("accounts").where("system", "=", system).where("username", "=", username).execute();
  },

  /**
   * What the enabled, present accounts of identities (all, or these) hold, with their last use: what an
   * access review reads of every account. Only the columns it uses; who granted an entitlement is found
   * in the JSON text when asked, not parsed per account.
   */
  async reviewHoldings(
    db: Db,
    filter: { identityIds?: readonly string[] } = {},
  ): Promise<Array<HeldEntitlements & { lastUsedAt: string | null }>> {
    if (filter.identityIds?.length === 0) return [];
    let q = db
      .selectFrom("accounts")
      .select(["identity_id", "system", "username", "entitlements", "managed_entitlements", "last_used_at"])
      .where("identity_id", "is not", null)
      .where("enabled", "=", 1)
      .where("vanished_at", "is", null);
    if (filter.identityIds !== undefined) q = q.where("identity_id", "in", filter.identityIds);
    const rows = await q.execute();
    return rows.map(holdingsOfRow);
  },

  /** The systems where some account has a last use: their connectors report it (dormant, review evidence). */
  async systemsReportingUse(db: Db): Promise<Set<string>> {
    const rows = await db
      .selectFrom("accounts")
      .select("system")
      .distinct()
      .where("last_used_at", "is not", null)
      .execute();
    return new Set(rows.map((r) => r.system));
  },
};

/** The username allocated to each identity in each system, kept once allocated. */
export const accountLinkRepository = {
  async list(db: Db, filter: { system?: string; identityId?: string; identityIds?: readonly string[] } = {}) {
    if (filter.identityIds?.length === 0) return [];
    let q = db.selectFrom("account_links").selectAll();
    if (filter.system !== undefined) q = q.where("system", "=", filter.system);
    if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
    if (filter.identityIds !== undefined) q = q.where("identity_id", "in", filter.identityIds);
    const rows = await q.execute();
    return rows.map((r) => ({ identityId: r.identity_id, system: r.system, username: r.username }));
  },

  /** Which of `usernames` are linked to someone in `system` (allocated, whether or not created yet). */
  async takenAmong(db: Db, system: string, usernames: readonly string[]): Promise<Set<string>> {
    const rows = await selectByKeys<{ username: string }>(
      db,
      { table: "account_links", columns: ["username"], fixed: { system }, key: "username" },
      usernames,
    );
    return new Set(rows.map((r) => r.username));
  },

  async insertMany(
    db: Db,
    links: ReadonlyArray<{ identityId: string; system: string; username: string }>,
    createdAt: string,
  ): Promise<void> {
    await bulkInsert(
      db,
      LINK_INSERT,
      links.map((l) => [l.identityId, l.system, l.username, createdAt]),
    );
  },
};
