import type { PlannedOperation } from "./access-types.js";
import { type DormantHold, dormantLineage } from "./dormant-hold.js";
import { idempotencyKey } from "./plan.js";
import type { DormantPolicy } from "./review-types.js";

/**
 * Dormant accounts (tenure.yaml `reviews.dormant.SYSTEM`, issue 16): an enabled account unused for
 * `afterDays` is noticed (its owner is told), and disabled `noticeDays` later unless used before then.
 * The disable is held: the plan keeps the account disabled (domain/dormant-hold.ts) until the hold is
 * cleared — used again, gone, its holder left, released by an administrator, or the policy removed.
 * Pure: `workflows/dormant-accounts.ts` reads the store, calls these, and writes what they decide.
 */

const DAY_MS = 86_400_000;

/** One account of a system with a dormant policy, as the check reads it. */
export interface DormantCandidate {
  /** The account row's id (`accounts.id`). */
  accountId: string;
  system: string;
  username: string;
  nativeId: string | null;
  identityId: string | null;
  enabled: boolean;
  /** Gone from the system (reconcile no longer finds it). */
  gone: boolean;
  /** Last use as the connector reported it: null when never used or not reported. */
  lastUsedAt: string | null;
  /** When Tenure first recorded the account (created it, or first read it); null when unknown. */
  firstSeenAt: string | null;
  /** Its identity has left (terminated or deleted): the lifecycle decides about the account now. */
  holderLeft: boolean;
}

/** A dormant-account notice and what became of it (a `dormant_accounts` row). */
export interface DormantRecord {
  accountId: string;
  system: string;
  identityId: string | null;
  /** Last use when noticed (null: never used). */
  lastUsedAt: string | null;
  noticedAt: string;
  disableAt: string;
  /** Set when disabled: from then on the plan holds the account disabled, until cleared. */
  disabledAt: string | null;
  clearedAt: string | null;
}

/** Why a notice or a hold no longer applies. */
export type DormantClearReason = "used" | "gone" | "holder-left" | "released" | "policy-removed";

/** What the check does with one account. */
export type DormantStep =
  | { kind: "none" }
  /** Unused past `afterDays`: tell the owner, disable at `disableAt` unless used. */
  | { kind: "notice"; idleSince: string; disableAt: string }
  /** The notice ran out unused: disable it and hold it disabled. */
  | { kind: "disable" }
  /** Held disabled but found enabled (re-enabled outside Tenure, or the disable not done yet): disable again. */
  | { kind: "hold" }
  | { kind: "clear"; reason: DormantClearReason };

/** Milliseconds of an ISO-8601 instant, or null when it does not parse. */
function timeOf(value: string | null): number | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * The earliest use any account of a system reports, or null when none reports one: then the system does
 * not report last use at all (or nobody ever used it), and an account's missing last use says nothing.
 */
export function earliestUse(lastUses: Iterable<string | null>): string | null {
  let earliest: number | null = null;
  for (const value of lastUses) {
    const ms = timeOf(value);
    if (ms !== null && (earliest === null || ms < earliest)) earliest = ms;
  }
  return earliest === null ? null : new Date(earliest).toISOString();
}

/**
 * Since when an account has been unused, or null when that is not known. Its last use when the system
 * reported one; for an account never used, the later of when Tenure first saw it and the system's
 * earliest reported use (a directory that began recording last use a week ago cannot say an account
 * was unused for longer); nothing when the system reports no use at all. A hold or notice cleared
 * before restarts the count from its clearing (a released account gets `afterDays` again).
 */
export function idleSince(
  account: Pick<DormantCandidate, "lastUsedAt" | "firstSeenAt">,
  systemEarliestUse: string | null,
  clearedAt: string | null,
): string | null {
  let since: number | null;
  if (account.lastUsedAt !== null) {
    since = timeOf(account.lastUsedAt);
    // A value that does not read as a time is not "never used": unknown.
    if (since === null) return null;
  } else {
    const reporting = timeOf(systemEarliestUse);
    if (reporting === null) return null;
    since = Math.max(reporting, timeOf(account.firstSeenAt) ?? reporting);
  }
  const cleared = timeOf(clearedAt);
  if (cleared !== null && cleared > since) since = cleared;
  return new Date(since).toISOString();
}

/** Whether the account reports a use later than the one the notice was about. */
function usedSince(now: string | null, before: string | null): boolean {
  const ms = timeOf(now);
  if (ms === null) return false;
  const was = timeOf(before);
  return was === null || ms > was;
}

/**
 * What to do with one account of a system with `policy` at `now`, given its latest record (if any) and
 * the system's earliest reported use ({@link earliestUse}).
 */
export function dormantStep(
  account: DormantCandidate,
  record: DormantRecord | undefined,
  policy: Pick<DormantPolicy, "afterDays" | "noticeDays">,
  systemEarliestUse: string | null,
  now: Date,
): DormantStep {
  const open = record !== undefined && record.clearedAt === null ? record : undefined;
  if (open !== undefined) {
    if (account.gone) return { kind: "clear", reason: "gone" };
    if (account.holderLeft) return { kind: "clear", reason: "holder-left" };
    if (usedSince(account.lastUsedAt, open.lastUsedAt)) return { kind: "clear", reason: "used" };
    if (open.disabledAt !== null) return account.enabled ? { kind: "hold" } : { kind: "none" };
    const due = timeOf(open.disableAt);
    return due !== null && due <= now.getTime() ? { kind: "disable" } : { kind: "none" };
  }
  if (!account.enabled || account.gone || account.holderLeft) return { kind: "none" };
  const since = idleSince(account, systemEarliestUse, record?.clearedAt ?? null);
  if (since === null || now.getTime() - Date.parse(since) < policy.afterDays * DAY_MS)
    return { kind: "none" };
  return {
    kind: "notice",
    idleSince: since,
    disableAt: new Date(now.getTime() + policy.noticeDays * DAY_MS).toISOString(),
  };
}

/**
 * The `disable` operation of a dormant account: the same change (and idempotency key) as the plan's
 * disable of the held account, so the two never queue it twice.
 */
export function dormantDisableOperation(
  account: Pick<DormantCandidate, "system" | "username" | "nativeId" | "identityId">,
  hold: Pick<DormantHold, "lastUsedAt" | "disabledAt">,
  policy: Pick<DormantPolicy, "afterDays">,
): PlannedOperation {
  const lineage = dormantLineage({ ...hold, system: account.system });
  const since = hold.lastUsedAt === null ? "never used" : `unused since ${hold.lastUsedAt.slice(0, 10)}`;
  const op: PlannedOperation = {
    system: account.system,
    kind: "disable",
    identityId: account.identityId,
    username: account.username,
    nativeId: account.nativeId,
    entitlement: null,
    attributes: null,
    enabled: null,
    lineage: [lineage],
    reason: `Disable the account in ${account.system}: ${since}, more than ${policy.afterDays} days (reviews.dormant.${account.system}).`,
    idempotencyKey: "",
    drift: false,
  };
  op.idempotencyKey = idempotencyKey(op);
  return op;
}
