import type { Transaction } from "kysely";
import {
  ACCOUNT_RECORDED,
  ACCOUNT_REMOVED,
  accountSubject,
  type JournaledAccount,
} from "../audit/account-journal-types.js";
import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import { lockLedger } from "../audit/ledger-lock.js";
import type { Account } from "../domain/access-types.js";
import { accountRepository, type JournalRow } from "../store/account-repository.js";
import type { Database } from "../store/schema-types.js";

type Trx = Transaction<Database>;

/** An account's key. */
export interface AccountKey {
  system: string;
  username: string;
}

/**
 * One write to `accounts`: rows to insert or replace, and rows to delete — by key, or every row of a
 * system whose username is not in `keep` (a full read: what the system no longer lists).
 */
export interface AccountWrite {
  upsert: readonly Account[];
  remove: readonly AccountKey[] | { system: string; keep: ReadonlySet<string> };
}

/** Who wrote, when, and why each row changed: an operation id, `reconcile`, or another writer's name. */
export interface JournalMeta {
  now: Date;
  actor: string;
  cause: string | ((key: AccountKey) => string);
}

/**
 * The only way rows of `accounts` are written: the write and its account journal (audit/account-journal-types.ts)
 * in the caller's transaction. Each row that really changed — in a journalled column — gets one
 * `account.recorded` (its state after) and each row deleted one `account.removed`; a row written as it
 * was (a reconcile refreshing `last_seen_at` on 250,000 accounts) appends nothing. A removal and a new
 * row of the same system with the same native id are a rename: the record carries `previousUsername`.
 *
 * Concurrency: the ledger's head row is locked first (the lock appendEvents takes), so the rows read as
 * "before" cannot change under the write — another journalling writer waits — and the journal stays the
 * exact history of the table. Returns the events appended — or, with `ledger`, added to it for the
 * caller to append as its transaction's last write (the lock is held from here either way).
 */
export async function writeAccounts(
  trx: Trx,
  write: AccountWrite,
  meta: JournalMeta,
  ledger?: AuditEventInput[],
): Promise<AuditEventInput[]> {
  const full = "keep" in write.remove ? write.remove : undefined;
  const keysToRemove = "keep" in write.remove ? [] : write.remove;
  if (write.upsert.length === 0 && full === undefined && keysToRemove.length === 0) return [];
  await lockLedger(trx);
  const before = new Map<string, JournalRow>();
  const rows =
    full === undefined
      ? await accountRepository.journalRows(trx, { keys: [...write.upsert, ...keysToRemove] })
      : await accountRepository.journalRows(trx, { system: full.system });
  for (const r of rows) before.set(keyOf(r), r);
  // With a full-system read, rows of other systems in `upsert` were not read yet.
  const others = full === undefined ? [] : write.upsert.filter((a) => a.system !== full.system);
  if (others.length > 0)
    for (const r of await accountRepository.journalRows(trx, { keys: others })) before.set(keyOf(r), r);

  const upserts = new Map<string, Account>();
  for (const a of write.upsert) upserts.set(keyOf(a), a);
  const removals: AccountKey[] = [];
  if (full !== undefined) {
    for (const [key, r] of before)
      if (r.system === full.system && !full.keep.has(r.username) && !upserts.has(key))
        removals.push({ system: r.system, username: r.username });
  } else {
    for (const k of keysToRemove) if (!upserts.has(keyOf(k))) removals.push(k);
  }

  await accountRepository.removeMany(trx, removals);
  await accountRepository.upsertMany(trx, [...upserts.values()], meta.now.toISOString());

  const time = meta.now.toISOString();
  const { cause } = meta;
  const causeOf = typeof cause === "string" ? () => cause : cause;
  const events: AuditEventInput[] = [];
  const removedByNativeId = new Map<string, string>();
  for (const k of removals) {
    const was = before.get(keyOf(k));
    if (was === undefined) continue;
    if (was.nativeId !== null) removedByNativeId.set(`${was.system}\u0000${was.nativeId}`, was.username);
    events.push({
      time,
      actor: meta.actor,
      action: ACCOUNT_REMOVED,
      subject: accountSubject(k.system, k.username),
      details: { system: k.system, username: k.username, identityId: was.identityId, cause: causeOf(k) },
    });
  }
  for (const [key, a] of upserts) {
    const after = journalState(a);
    const was = before.get(key);
    if (was !== undefined && sameAsRow(after, was)) continue;
    const renamedFrom =
      was === undefined && after.nativeId !== null
        ? removedByNativeId.get(`${after.system}\u0000${after.nativeId}`)
        : undefined;
    events.push({
      time,
      actor: meta.actor,
      action: ACCOUNT_RECORDED,
      subject: accountSubject(a.system, a.username),
      details: {
        ...after,
        cause: causeOf(a),
        ...(renamedFrom === undefined ? {} : { previousUsername: renamedFrom }),
      },
    });
  }
  if (ledger === undefined) await appendEvents(trx, events);
  else for (const e of events) ledger.push(e);
  return events;
}

/** The journalled state of an account as `accountRepository` writes it (entitlements sorted the same way). */
export function journalState(a: Account): JournaledAccount {
  return {
    system: a.system,
    username: a.username,
    nativeId: a.nativeId,
    identityId: a.identityId,
    enabled: a.enabled,
    entitlements: [...a.entitlements].sort(),
    vanished: (a.vanishedAt ?? null) !== null,
  };
}

function sameAsRow(after: JournaledAccount, row: JournalRow): boolean {
  return (
    after.nativeId === row.nativeId &&
    after.identityId === row.identityId &&
    after.enabled === row.enabled &&
    after.vanished === row.vanished &&
    JSON.stringify(after.entitlements) === row.entitlementsJson
  );
}

function keyOf(k: AccountKey): string {
  return `${k.system}\u0000${k.username}`;
}
