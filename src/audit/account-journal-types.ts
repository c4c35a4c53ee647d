/**
 * The account journal: every change to a row of `accounts` (what a target system confirmed holding) is
 * one ledger event, written in the same transaction as the row (engine/account-journal.ts), so what the
 * targets held at any instant is replayed from the chain (point-in-time.ts) rather than read from the
 * current table.
 *
 * - `account.recorded` — the row as it is after the change (details: {@link JournaledAccount} and `cause`).
 * - `account.removed` — the row is gone (details: system, username, identityId before, `cause`).
 *
 * Both are filed under {@link accountSubject}. `cause` is the operation id for a change apply or a done
 * manual task made, `reconcile` for what a reconcile read, `checkpoint` for a row the journal had missed
 * (an account recorded before the journal existed), caught up by `tenure audit checkpoint`.
 */
export const ACCOUNT_RECORDED = "account.recorded";
export const ACCOUNT_REMOVED = "account.removed";
export const ACCOUNT_JOURNAL_ACTIONS = [ACCOUNT_RECORDED, ACCOUNT_REMOVED] as const;

/** What the journal records of an account row: its confirmed state, nothing Tenure bookkeeps around it. */
export interface JournaledAccount {
  system: string;
  username: string;
  nativeId: string | null;
  identityId: string | null;
  enabled: boolean;
  /** Sorted. */
  entitlements: string[];
  /** Reconcile saw a managed account gone from the system; the row is kept, marked. */
  vanished: boolean;
}

/** `account:SYSTEM/USERNAME`: the subject of an account's journal events (and of operations on orphans). */
export function accountSubject(system: string, username: string): string {
  return `account:${system}/${username}`;
}

/** Whether two journal states are the same (entitlements compared in order: both are sorted). */
export function sameAccountState(a: JournaledAccount, b: JournaledAccount): boolean {
  return (
    a.system === b.system &&
    a.username === b.username &&
    a.nativeId === b.nativeId &&
    a.identityId === b.identityId &&
    a.enabled === b.enabled &&
    a.vanished === b.vanished &&
    a.entitlements.length === b.entitlements.length &&
    a.entitlements.every((e, i) => e === b.entitlements[i])
  );
}
