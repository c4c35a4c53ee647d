import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import type { PlannedOperation } from "../domain/access-types.js";
import {
  type DormantCandidate,
  type DormantClearReason,
  type DormantRecord,
  type DormantStep,
  dormantDisableOperation,
  dormantStep,
  earliestUse,
} from "../domain/dormant.js";
import { dormantLineage } from "../domain/dormant-hold.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import type { DormantPolicy } from "../domain/review-types.js";
import { enqueuePlan } from "../engine/enqueue.js";
import { type MassChangeCount, massChangesOf } from "../engine/mass-change.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError } from "../shared/errors.js";
import { accountRepository } from "../store/account-repository.js";
import { type DormantAccountRow, dormantRepository } from "../store/dormant-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { peopleCache } from "./review-reviewers.js";

/**
 * The dormant-account check (tenure.yaml `reviews.dormant.SYSTEM: {afterDays, noticeDays}`): notices,
 * disables through the engine, and clears, each audited in the transaction that records it. The
 * decisions are domain/dormant.ts's; this reads the store, writes what they decide, and queues the
 * disables (the apply loop carries them out, as every other operation).
 *
 * Run it after reconcile (last use is what reconcile last read). Safe to run twice at once: a notice
 * or a disable already recorded is not recorded (or sent) again, and a disable already queued is not
 * queued again (its idempotency key is open). A system whose connector never reports last use is left
 * alone: an account with no known last use is never disabled.
 */

/** One account the check changed. */
export interface DormantChange {
  accountId: string;
  system: string;
  username: string;
  identityId: string | null;
  lastUsedAt: string | null;
}

export interface DormantCheckResult {
  /** Told their owner: disabled at `disableAt` unless used before. */
  noticed: Array<DormantChange & { idleSince: string; disableAt: string; to: string | null }>;
  /** Disabled by the check (a disable queued when the account was still enabled), and held so. */
  disabled: DormantChange[];
  cleared: Array<DormantChange & { reason: DormantClearReason }>;
  /** Disables queued: new ones, and again for held accounts found enabled. */
  queued: number;
  /**
   * Systems whose disables would pass lifecycle.massChangeThreshold: none of their accounts was disabled
   * (they stay noticed, and are disabled at a later check once the cause is understood and fixed).
   */
  massChange: MassChangeCount[];
}

/** `reviews.dormant`, or none when the configuration has no reviews. */
export function dormantPolicies(
  config: Pick<TenureConfig, "reviews">,
): Readonly<Record<string, DormantPolicy>> {
  return config.reviews?.dormant ?? {};
}

/** When Tenure first recorded the row: the timestamp of its UUIDv7 id (src/shared/ids.ts); else null. */
export function firstSeenOf(accountId: string): string | null {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-/i.exec(accountId);
  return m === null ? null : new Date(Number.parseInt(m[1]! + m[2]!, 16)).toISOString();
}

function candidateOf(row: DormantAccountRow): DormantCandidate {
  return {
    accountId: row.accountId,
    system: row.system,
    username: row.username,
    nativeId: row.nativeId,
    identityId: row.identityId,
    enabled: row.enabled,
    gone: row.vanishedAt !== null,
    lastUsedAt: row.lastUsedAt,
    firstSeenAt: firstSeenOf(row.accountId),
    holderLeft: row.identityId !== null && (row.holderState === null || isGone(row.holderState)),
  };
}

function change(c: DormantCandidate): DormantChange {
  return {
    accountId: c.accountId,
    system: c.system,
    username: c.username,
    identityId: c.identityId,
    lastUsedAt: c.lastUsedAt,
  };
}

/** The username shown for an account whose row is gone from the store. */
const REMOVED = "(removed)";

const subjectOf = (c: Pick<DormantChange, "identityId" | "system" | "username">) =>
  c.identityId ?? `account:${c.system}/${c.username}`;

function personName(i: Identity): string {
  return i.attributes.displayName ?? i.attributes.email ?? i.sourceKey;
}

/**
 * Runs the check over every system with a dormant policy at `now`. Open notices of systems that no
 * longer have a policy are cleared (`policy-removed`), which lets the plan enable held accounts again.
 * @throws only for a failure of the store; a mass change is reported in the result, not thrown.
 */
export async function runDormantCheck(deps: {
  db: Db;
  config: TenureConfig;
  now: Date;
  /** Who acts, for the audit. Default `scheduler`. */
  actor?: string;
}): Promise<DormantCheckResult> {
  const { db, config, now } = deps;
  const actor = deps.actor ?? "scheduler";
  const at = now.toISOString();
  const policies = dormantPolicies(config);
  const result: DormantCheckResult = { noticed: [], disabled: [], cleared: [], queued: 0, massChange: [] };

  // A policy removed (or its system): its notices and holds end, so nothing stays disabled by it.
  const orphaned = (await dormantRepository.list(db)).filter(
    (r) => policies[r.system] === undefined || config.policy.systems[r.system] === undefined,
  );
  if (orphaned.length > 0) {
    await db.transaction().execute(async (trx) => {
      const events: AuditEventInput[] = [];
      for (const r of orphaned) {
        if (!(await dormantRepository.clear(trx, r.accountId, at))) continue;
        const username = r.username ?? REMOVED;
        const { accountId, system, identityId, lastUsedAt } = r;
        result.cleared.push({
          accountId,
          system,
          username,
          identityId,
          lastUsedAt,
          reason: "policy-removed",
        });
        events.push(clearedEvent(r, username, "policy-removed", at, actor));
      }
      await appendEvents(trx, events);
    });
  }

  let population: Record<string, number> | undefined;
  for (const [system, policy] of Object.entries(policies)) {
    if (config.policy.systems[system] === undefined) continue;
    const [rows, records] = await Promise.all([
      dormantRepository.accounts(db, system),
      dormantRepository.records(db, system),
    ]);
    const recordOf = new Map(records.map((r) => [r.accountId, r]));
    const reporting = earliestUse(rows.map((r) => r.lastUsedAt));
    const steps: Array<{ account: DormantCandidate; step: DormantStep }> = [];
    for (const row of rows) {
      const account = candidateOf(row);
      const step = dormantStep(account, recordOf.get(row.accountId), policy, reporting, now);
      if (step.kind !== "none") steps.push({ account, step });
    }
    // Records whose account row is gone (removed from the system and from the store).
    const present = new Set(rows.map((r) => r.accountId));
    const vanished = records.filter((r) => r.clearedAt === null && !present.has(r.accountId));

    await recordNoticesAndClears(
      db,
      config,
      system,
      policy,
      steps,
      vanished,
      recordOf,
      { at, now, actor },
      result,
    );

    // Disables: new ones (the notice ran out) and held accounts found enabled again.
    const disabling = steps.filter((s) => s.step.kind === "disable" || s.step.kind === "hold");
    if (disabling.length === 0) continue;
    const ops: PlannedOperation[] = [];
    for (const { account, step } of disabling) {
      if (!account.enabled) continue;
      const record = recordOf.get(account.accountId)!;
      const disabledAt = step.kind === "hold" ? (record.disabledAt ?? at) : at;
      ops.push(dormantDisableOperation(account, { lastUsedAt: record.lastUsedAt, disabledAt }, policy));
    }
    population ??= await accountRepository.countBySystem(db);
    const exceeded = massChangesOf(ops, population, config.lifecycle.massChangeThreshold);
    if (exceeded.length > 0) {
      result.massChange.push(...exceeded);
      continue;
    }
    // The hold is recorded before the disable is queued: should queueing fail, the plan (and the next
    // check) disables the account; the other order could leave a disabled account the plan enables.
    await db.transaction().execute(async (trx) => {
      const events: AuditEventInput[] = [];
      for (const { account, step } of disabling) {
        if (step.kind !== "disable") continue;
        if (!(await dormantRepository.markDisabled(trx, account.accountId, at))) continue;
        const record = recordOf.get(account.accountId)!;
        result.disabled.push(change(account));
        const lineage = dormantLineage({ system, lastUsedAt: record.lastUsedAt, disabledAt: at });
        events.push({
          time: at,
          actor,
          action: "account.dormant_disabled",
          subject: subjectOf(account),
          details: {
            accountId: account.accountId,
            system,
            username: account.username,
            lastUsedAt: account.lastUsedAt,
            noticedAt: record.noticedAt,
            afterDays: policy.afterDays,
            policy: `reviews.dormant.${system}`,
            reason: lineage.kind === "lifecycle" ? lineage.note : null,
            // Already disabled by other means: held, nothing queued.
            queued: account.enabled,
          },
        });
      }
      await appendEvents(trx, events);
    });
    if (ops.length > 0) {
      const queued = await enqueuePlan({ db }, ops, {
        now,
        actor,
        lifecycle: config.lifecycle,
        systems: config.policy.systems,
        accountCountBySystem: population,
      });
      result.queued += queued.queued.length;
    }
  }
  return result;
}

function clearedEvent(
  r: Pick<DormantRecord, "accountId" | "system" | "identityId" | "lastUsedAt">,
  username: string,
  reason: DormantClearReason,
  at: string,
  actor: string,
  lastUsedAt: string | null = r.lastUsedAt,
): AuditEventInput {
  return {
    time: at,
    actor,
    action: "account.dormant_cleared",
    subject: subjectOf({ identityId: r.identityId, system: r.system, username }),
    details: { accountId: r.accountId, system: r.system, username, reason, lastUsedAt },
  };
}

async function recordNoticesAndClears(
  db: Db,
  config: TenureConfig,
  system: string,
  policy: DormantPolicy,
  steps: ReadonlyArray<{ account: DormantCandidate; step: DormantStep }>,
  vanished: readonly DormantRecord[],
  recordOf: ReadonlyMap<string, DormantRecord>,
  ctx: { at: string; now: Date; actor: string },
  result: DormantCheckResult,
): Promise<void> {
  const notices = steps.filter((s) => s.step.kind === "notice");
  const clears = steps.filter((s) => s.step.kind === "clear");
  if (notices.length === 0 && clears.length === 0 && vanished.length === 0) return;
  const { at, now, actor } = ctx;

  // Who is told: the holder's manager, else the system's owner (a person Tenure knows, or an address).
  const holders = await identityRepository.findByIds(
    db,
    notices.flatMap((n) => (n.account.identityId === null ? [] : [n.account.identityId])),
  );
  const people = peopleCache(db);
  const ownerRef = config.policy.systems[system]?.owner ?? null;
  const owner =
    ownerRef === null
      ? null
      : ((await people.resolve(ownerRef))?.attributes.email ?? (ownerRef.includes("@") ? ownerRef : null));

  const recipients = new Map<string, { to: string | null; holder: string }>();
  for (const { account } of notices) {
    const holder = account.identityId === null ? undefined : holders.get(account.identityId);
    const manager = holder === undefined ? undefined : await people.managerOf(holder);
    recipients.set(account.accountId, {
      to: manager?.attributes.email ?? owner,
      holder: holder === undefined ? "nobody (an orphan account)" : personName(holder),
    });
  }

  await db.transaction().execute(async (trx) => {
    const events: AuditEventInput[] = [];
    for (const { account, step } of notices) {
      if (step.kind !== "notice") continue;
      const noticed = await dormantRepository.notice(trx, {
        accountId: account.accountId,
        system,
        identityId: account.identityId,
        lastUsedAt: account.lastUsedAt,
        noticedAt: at,
        disableAt: step.disableAt,
      });
      if (!noticed) continue;
      const { to, holder } = recipients.get(account.accountId)!;
      result.noticed.push({ ...change(account), idleSince: step.idleSince, disableAt: step.disableAt, to });
      events.push({
        time: at,
        actor,
        action: "account.dormant_noticed",
        subject: subjectOf(account),
        details: {
          accountId: account.accountId,
          system,
          username: account.username,
          lastUsedAt: account.lastUsedAt,
          idleSince: step.idleSince,
          afterDays: policy.afterDays,
          disableAt: step.disableAt,
          to,
        },
      });
      await enqueueNotifications(
        trx,
        {
          name: "dormant.notice",
          data: {
            accountId: account.accountId,
            to,
            system,
            username: account.username,
            holder,
            lastUsedAt: account.lastUsedAt,
            afterDays: policy.afterDays,
            disableAt: step.disableAt,
          },
        },
        config,
        now,
      );
    }
    for (const { account, step } of clears) {
      if (step.kind !== "clear") continue;
      if (!(await dormantRepository.clear(trx, account.accountId, at))) continue;
      result.cleared.push({ ...change(account), reason: step.reason });
      const record = recordOf.get(account.accountId)!;
      events.push(clearedEvent(record, account.username, step.reason, at, actor, account.lastUsedAt));
    }
    for (const r of vanished) {
      if (!(await dormantRepository.clear(trx, r.accountId, at))) continue;
      const { accountId, identityId, lastUsedAt } = r;
      result.cleared.push({ accountId, system, username: REMOVED, identityId, lastUsedAt, reason: "gone" });
      events.push(clearedEvent(r, REMOVED, "gone", at, actor));
    }
    await appendEvents(trx, events);
  });
}

/**
 * Ends the hold (or notice) of one account, by an administrator: the next plan enables the account
 * again where policy wants it enabled, and the count of unused days starts afresh from now.
 * @throws NotFoundError when the system has no such account, or the account no open notice or hold.
 */
export async function releaseDormant(
  deps: { db: Db; now: Date; actor: string },
  system: string,
  username: string,
): Promise<DormantChange> {
  const at = deps.now.toISOString();
  return deps.db.transaction().execute(async (trx) => {
    const row = (await dormantRepository.accounts(trx, system)).find((a) => a.username === username);
    const record = row === undefined ? undefined : await dormantRepository.find(trx, row.accountId);
    if (row === undefined || record === undefined || !(await dormantRepository.clear(trx, row.accountId, at)))
      throw new NotFoundError(`${system}/${username}: no dormant notice or hold is open for this account`);
    await appendEvents(trx, [clearedEvent(record, username, "released", at, deps.actor, row.lastUsedAt)]);
    return {
      accountId: row.accountId,
      system,
      username,
      identityId: row.identityId,
      lastUsedAt: row.lastUsedAt,
    };
  });
}
