import type { Transaction } from "kysely";
import type { AuditEventInput } from "../audit/ledger.js";
import type { WriteResult } from "../connectors/connector-types.js";
import type { Account } from "../domain/access-types.js";
import { accountRepository } from "../store/account-repository.js";
import type { OperationRecord } from "../store/operation-repository.js";
import type { Database } from "../store/schema-types.js";
import { writeAccounts } from "./account-journal.js";
import { type LifecycleNoticeConfig, queueLifecycleNotices } from "./lifecycle-notices.js";

type Trx = Transaction<Database>;

/** An operation that succeeded, with what its connector answered. */
export interface AppliedChange {
  op: OperationRecord;
  result: WriteResult;
}

/**
 * Brings `accounts` in step with successful operations, as reconcile would read them afterwards: the
 * rows they touch are read at once, changed in operation order, and written back at once. An operation
 * other than create on an account not in `accounts` (never reconciled) writes nothing there: the next
 * reconcile reads it whole, rather than apply inventing the rest of the row. Used by apply, and by a
 * manual system's task when a person marks it done (that is when its operation succeeds). Every row
 * changed is journalled (account-journal.ts) with the operation as its cause.
 *
 * With `notify`, the joiner and leaver notices these changes complete are queued here, in `trx`, after
 * the rows are written (lifecycle-notices.ts): every path that records a create, disable or delete as
 * done — apply, a person completing a task — checks them, so none can forget to. The caller must have
 * marked the operations succeeded first. Returns the audit events to append with the caller's own (a
 * `notification.skipped` for a joiner whose manager has no address). With `ledger`, the journal's
 * events are added to it rather than appended here (writeAccounts), for the caller's one append.
 */
export async function recordAccountChanges(
  trx: Trx,
  succeeded: readonly AppliedChange[],
  now: Date,
  actor: string,
  notify?: LifecycleNoticeConfig,
  ledger?: AuditEventInput[],
): Promise<AuditEventInput[]> {
  if (succeeded.length === 0) return [];
  const keyOf = (system: string, username: string) => `${system}\u0000${username}`;
  const rows = new Map<string, Account | undefined>();
  for (const account of await accountRepository.findMany(
    trx,
    succeeded.map(({ op }) => ({ system: op.system, username: op.username })),
  )) {
    rows.set(keyOf(account.system, account.username), account);
  }
  const employments = await credentialEmployments(trx, succeeded);
  const touched = new Set<string>();
  for (const { op, result } of succeeded) {
    const key = keyOf(op.system, op.username);
    const next = nextAccount(op, result, rows.get(key));
    // A create or rotate set the password: in the identity's current employment (see plan's rotate).
    if (next !== undefined && (op.kind === "create" || op.kind === "rotate") && op.identityId !== null) {
      next.credentialEmployment = employments.get(op.identityId) ?? null;
    }
    rows.set(key, next);
    touched.add(key);
  }
  const removed: { system: string; username: string }[] = [];
  const written: Account[] = [];
  for (const { op } of succeeded) {
    const key = keyOf(op.system, op.username);
    if (!touched.delete(key)) continue;
    const next = rows.get(key);
    if (next === undefined) removed.push({ system: op.system, username: op.username });
    else written.push(next);
  }
  // Journalled with the operation that last changed each row: its id is the cause.
  const causes = new Map<string, string>();
  for (const { op } of succeeded) causes.set(keyOf(op.system, op.username), op.id);
  await writeAccounts(
    trx,
    { upsert: written, remove: removed },
    { now, actor, cause: (k) => causes.get(keyOf(k.system, k.username)) ?? "apply" },
    ledger,
  );
  if (notify === undefined) return [];
  return queueLifecycleNotices(
    trx,
    succeeded.map(({ op }) => ({ kind: op.kind, identityId: op.identityId, outcome: "succeeded" })),
    notify,
    now,
    actor,
  );
}

/** The employment of each identity whose account's password an operation set (create, rotate). */
async function credentialEmployments(
  trx: Trx,
  succeeded: readonly AppliedChange[],
): Promise<Map<string, number>> {
  const ids = [
    ...new Set(
      succeeded.flatMap(({ op }) =>
        (op.kind === "create" || op.kind === "rotate") && op.identityId !== null ? [op.identityId] : [],
      ),
    ),
  ];
  if (ids.length === 0) return new Map();
  const rows = await trx
    .selectFrom("identities")
    .select(["id", "employment"])
    .where("id", "in", ids)
    .execute();
  return new Map(rows.map((r) => [r.id, Number(r.employment)]));
}

/** The account row after one successful operation; undefined when it has none (deleted, or never read). */
function nextAccount(
  op: OperationRecord,
  result: WriteResult,
  existing: Account | undefined,
): Account | undefined {
  if (op.kind === "delete") return undefined;
  if (op.kind === "create") {
    // A create that changed nothing found the account already there: what the row says it holds is kept
    // until reconcile reads it (unless reconcile had seen it vanish); a new account holds nothing yet.
    const kept = result.changed || (existing?.vanishedAt ?? null) !== null ? undefined : existing;
    return {
      system: op.system,
      nativeId: result.nativeId ?? op.nativeId ?? existing?.nativeId ?? null,
      username: op.username,
      identityId: op.identityId ?? existing?.identityId ?? null,
      enabled: op.enabled ?? true,
      attributes: { ...kept?.attributes, ...op.attributes },
      entitlements: kept?.entitlements ?? [],
      managedEntitlements: kept?.managedEntitlements ?? [],
      managed: true,
      vanishedAt: null,
      lastSeenAt: existing?.lastSeenAt ?? null,
      lastUsedAt: existing?.lastUsedAt ?? null,
    };
  }
  if (existing === undefined) return undefined;
  const next = { ...existing, nativeId: result.nativeId ?? existing.nativeId };
  switch (op.kind) {
    case "update":
      next.attributes = { ...existing.attributes, ...op.attributes };
      break;
    case "enable":
      next.enabled = true;
      break;
    case "disable":
      next.enabled = false;
      break;
    case "grant": {
      const key = op.entitlement!;
      next.entitlements = [...new Set([...existing.entitlements, key])];
      next.managedEntitlements = [...new Set([...existing.managedEntitlements, key])];
      break;
    }
    case "revoke":
      next.entitlements = existing.entitlements.filter((e) => e !== op.entitlement);
      next.managedEntitlements = existing.managedEntitlements.filter((e) => e !== op.entitlement);
      break;
    case "rotate":
      break;
  }
  return next;
}
