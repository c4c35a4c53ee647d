import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { expiryWindow } from "../domain/nhi-findings.js";
import {
  type SuccessionEffect,
  type SuccessionFacts,
  type SuccessionOutcome,
  type SuccessionState,
  successionStep,
} from "../domain/nhi-succession.js";
import type { NhiPolicy, NonHumanIdentity } from "../domain/nhi-types.js";
import { connectorPool } from "../engine/connector-pool.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { type MassChangeError, NotFoundError, TenureError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { reviewNoticeRepository } from "../store/review-progress-repository.js";
import type { Db } from "../store/schema-types.js";
import type { Store } from "../store/store-types.js";
import {
  applyNhiAccountOperations,
  type NhiAccountDeps,
  type NhiAccountOutcome,
  settleNhiAccountIn,
  settleNhiAccounts,
  systemFactsFrom,
} from "./nhi-disable.js";
import { nhiIdentity } from "./nhi-identity.js";
import { nhiDisablePlanHash, nhiMassDisableGate } from "./nhi-mass-change.js";
import { managerOf } from "./request-approvers.js";

/**
 * Owner succession and expiry warnings of non-human identities (issue 17, items 2-3), run after each
 * inventory sync and by the scheduler's `nhi` job; and the pending owner's confirmation. The decisions are
 * domain/nhi-succession.ts's; this loads the facts, and writes each NHI's new state, its identity, its
 * audit events (`nhi.owner_pending`, `nhi.owner_confirmed`, `nhi.disabled`, `nhi.ownerless`,
 * `nhi.expiry_warned`) and its notifications in one transaction, with an optimistic version check: two
 * processes ticking at once act once.
 *
 * A disabled NHI's credential is switched off in its target (workflows/nhi-disable.ts): the disable of its
 * account is queued in the transaction that disables the NHI, and applied at once; each tick also settles
 * the accounts of NHIs enabled again since (an owner assigned, or named anew in the inventory).
 */

export interface NhiSuccessionResult {
  /** NHIs whose ownership started passing to someone: name → pending owner's identity id. */
  pending: { name: string; to: string }[];
  disabled: string[];
  ownerless: string[];
  /** Expiry warnings sent (each NHI, window and expiry once). */
  warned: { name: string; within: string }[];
  /** What became of disabled (and re-enabled) NHIs' accounts in their targets. */
  accounts: NhiAccountOutcome[];
  /**
   * The disables mass-change protection held back (docs/nhi.md "Mass-change protection"): the NHIs stay as
   * they were (pending past their deadline, or owned by a leaver) until an admin confirms the plan hash; the
   * rest of the tick went ahead. Absent when nothing was held.
   */
  massChangeStopped?: MassChangeError;
}

export interface NhiSuccessionOptions {
  now: Date;
  actor: string;
  /** The plan hash of the NHI disables an admin confirmed (`tenure nhi sync --confirm-mass-change`). */
  confirmMassChange?: string | undefined;
}

/** A live, enabled NHI whose owner is leaving gets a successor; one whose deadline passed, `otherwise`. */
export async function nhiOwnerSuccession(
  store: Store,
  config: TenureConfig,
  options: NhiSuccessionOptions,
): Promise<NhiSuccessionResult> {
  const result: NhiSuccessionResult = { pending: [], disabled: [], ownerless: [], warned: [], accounts: [] };
  const policy = config.nhi?.policy;
  if (policy === undefined) return result;
  const pool = connectorPool(config);
  try {
    const accounts: NhiAccountDeps = { config, systemFacts: systemFactsFrom(config, pool) };
    await tick(store, config, policy, options, result, accounts);
    // Accounts of NHIs enabled again since (or re-enabled outside Tenure, or disabled before this ran).
    result.accounts.push(...(await settleNhiAccounts(store, accounts, options)));
    await applyNhiAccountOperations(store, config, pool, result.accounts, options);
  } finally {
    await pool.closeAll();
  }
  return result;
}

async function tick(
  store: Store,
  config: TenureConfig,
  policy: NhiPolicy,
  options: NhiSuccessionOptions,
  result: NhiSuccessionResult,
  accounts: NhiAccountDeps,
): Promise<void> {
  const { db } = store;
  const { steps, people } = await successionSteps(db, policy, options.now);
  // Mass-change protection (workflows/nhi-mass-change.ts): past the threshold, no disable of this tick is
  // made until an admin confirms exactly them; the rest of the tick goes ahead.
  const held = await nhiMassDisableGate(
    store,
    config,
    "succession",
    steps.filter((s) => disables(s.outcome)).map((s) => s.nhi),
    { now: options.now, actor: options.actor, confirm: options.confirmMassChange },
  );
  if (held !== null) result.massChangeStopped = held;

  for (const { nhi, outcome } of steps) {
    if (held !== null && disables(outcome)) continue;
    const written = await apply(db, config, nhi, outcome.state, outcome.effects, options, people, {
      deps: accounts,
      outcomes: result.accounts,
    });
    if (!written) continue;
    for (const effect of outcome.effects) {
      if (effect.kind === "owner_pending") result.pending.push({ name: nhi.name, to: effect.to });
      if (effect.kind === "disabled") result.disabled.push(nhi.name);
      if (effect.kind === "ownerless") result.ownerless.push(nhi.name);
    }
  }

  for (const nhi of await nhiRepository.list(db, { live: true })) {
    if (nhi.disabledAt !== null || nhi.expiresAt === null) continue;
    const window = expiryWindow(nhi.expiresAt, policy.expiryWarningsMs, options.now);
    if (window === undefined) continue;
    const within = asDays(window);
    const owner =
      nhi.ownerId === null
        ? undefined
        : (people.get(nhi.ownerId) ?? (await identityRepository.findById(db, nhi.ownerId)));
    const sent = await db.transaction().execute(async (trx) => {
      // The notices table of reviews, reused: one row per warning, whoever runs the job.
      const key = `nhi-expiry:${nhi.id}:${nhi.expiresAt}:${window}`;
      if (!(await reviewNoticeRepository.claim(trx, key, options.now.toISOString()))) return false;
      await appendEvents(trx, [
        event(options, nhi.id, "nhi.expiry_warned", { name: nhi.name, expiresAt: nhi.expiresAt, within }),
      ]);
      await enqueueNotifications(
        trx,
        {
          name: "nhi.expiring",
          data: { nhiId: nhi.id, name: nhi.name, to: emailOf(owner), expiresAt: nhi.expiresAt ?? "", within },
        },
        config,
        options.now,
      );
      return true;
    });
    if (sent) result.warned.push({ name: nhi.name, within });
  }
}

const disables = (outcome: Extract<SuccessionOutcome, { ok: true }>) =>
  outcome.effects.some((e) => e.kind === "disabled");

type Step = { nhi: NonHumanIdentity; outcome: Extract<SuccessionOutcome, { ok: true }> };

/** What a tick would do to each live, enabled NHI now, and the people it read (writes nothing). */
async function successionSteps(
  db: Db,
  policy: NhiPolicy,
  now: Date,
): Promise<{ steps: Step[]; people: Map<string, Identity> }> {
  const live = (await nhiRepository.list(db, { live: true })).filter((n) => n.disabledAt === null);
  const people = await identityRepository.findByIds(
    db,
    live.flatMap((n) => [n.ownerId, n.pendingOwnerId]).filter((id): id is string => id !== null),
  );
  const steps: Step[] = [];
  for (const nhi of live) {
    const facts = await factsOf(db, nhi, people, policy);
    const outcome = successionStep(nhi, { kind: "tick", facts }, now, policy.onOwnerLeave);
    if (outcome.ok && outcome.effects.length > 0) steps.push({ nhi, outcome });
  }
  return { steps, people };
}

/**
 * The plan hash of the disables a succession tick would make now (workflows/nhi-mass-change.ts), or null
 * without `nhi.policy`: lets `nhi sync` tell which gate a confirmed hash is for before it writes anything.
 */
export async function successionDisablePlanHash(
  store: Store,
  config: TenureConfig,
  now: Date,
): Promise<string | null> {
  const policy = config.nhi?.policy;
  if (policy === undefined) return null;
  const { steps } = await successionSteps(store.db, policy, now);
  return nhiDisablePlanHash(
    "succession",
    steps.filter((s) => disables(s.outcome)).map((s) => s.nhi),
  );
}

/**
 * The pending owner takes ownership of the NHI named `nameOrId`. Only the identity ownership is pending
 * to may confirm: anyone else, or a confirmation with nothing pending, is refused with the reason
 * (TenureError `nhi_confirm_refused`, HTTP 403) and nothing changes.
 * @throws NotFoundError when no NHI has that name or id.
 */
export async function confirmNhiOwnership(
  store: Store,
  config: Pick<TenureConfig, "nhi" | "notify">,
  nameOrId: string,
  actorIdentityId: string,
  options: NhiSuccessionOptions,
): Promise<NonHumanIdentity> {
  const { db } = store;
  const nhi = (await nhiRepository.findByName(db, nameOrId)) ?? (await nhiRepository.findById(db, nameOrId));
  if (nhi === undefined || nhi.removedAt !== null)
    throw new NotFoundError(`no non-human identity named ${nameOrId}`);
  const policy = config.nhi?.policy.onOwnerLeave ?? {
    passTo: "manager",
    fallback: null,
    confirmWithinMs: 0,
    onMove: false,
    otherwise: "keep",
  };
  const outcome = successionStep(nhi, { kind: "confirm", actorId: actorIdentityId }, options.now, policy);
  if (!outcome.ok) {
    throw new TenureError(
      "nhi_confirm_refused",
      `cannot confirm ownership of ${nhi.name}: ${outcome.refusal}`,
      {
        httpStatus: 403,
      },
    );
  }
  const people = await identityRepository.findByIds(db, [
    actorIdentityId,
    ...(nhi.ownerId ? [nhi.ownerId] : []),
  ]);
  if (!(await apply(db, config, nhi, outcome.state, outcome.effects, options, people))) {
    throw new TenureError("nhi_conflict", `${nhi.name} changed while it was being confirmed: try again`, {
      httpStatus: 409,
    });
  }
  return (await nhiRepository.findById(db, nhi.id)) as NonHumanIdentity;
}

async function factsOf(
  db: Db,
  nhi: NonHumanIdentity,
  people: ReadonlyMap<string, Identity>,
  policy: NhiPolicy,
): Promise<SuccessionFacts> {
  const owner = nhi.ownerId === null ? undefined : people.get(nhi.ownerId);
  const pendingPerson = nhi.pendingOwnerId === null ? undefined : people.get(nhi.pendingOwnerId);
  const ownerFact: SuccessionFacts["owner"] =
    nhi.ownerId === null
      ? "none"
      : owner === undefined || isGone(owner.state)
        ? "gone"
        : movedSince(owner, nhi.ownerSince)
          ? "moved"
          : "present";
  const pending: SuccessionFacts["pending"] =
    nhi.pendingOwnerId === null
      ? null
      : pendingPerson === undefined || isGone(pendingPerson.state)
        ? "gone"
        : "present";
  // Whose successor is looked for: the pending owner's when they left, else the owner's when they go.
  let leaving: Identity | undefined;
  if (pending === "gone") leaving = pendingPerson;
  else if (
    nhi.pendingOwnerId === null &&
    (ownerFact === "gone" || (ownerFact === "moved" && policy.onOwnerLeave.onMove))
  )
    leaving = owner;
  const needSuccessor =
    pending === "gone" || (nhi.pendingOwnerId === null && ownerFact !== "present" && ownerFact !== "none");
  const successorId = needSuccessor ? await successorOf(db, leaving, policy) : null;
  return { owner: ownerFact, pending, successorId };
}

/** Whether the owner's department, title or manager changed after they became the owner. */
function movedSince(owner: Identity, since: string | null): boolean {
  const changedAt = owner.attributesChangedAt;
  const before = owner.previousAttributes;
  if (since === null || changedAt === null || before === null || !(changedAt > since)) return false;
  const after = owner.attributes;
  return (
    before.department !== after.department ||
    before.title !== after.title ||
    before.managerId !== after.managerId
  );
}

/** The leaving person's manager (when policy passes to managers), else the fallback; still here; or null. */
async function successorOf(db: Db, leaving: Identity | undefined, policy: NhiPolicy): Promise<string | null> {
  const rule = policy.onOwnerLeave;
  if (rule.passTo === "manager" && leaving !== undefined) {
    const manager = await managerOf(db, leaving);
    if (manager !== undefined && manager.id !== leaving.id) return manager.id;
  }
  if (rule.fallback === null) return null;
  const fallback = await identityRepository.resolve(db, rule.fallback);
  if (fallback === undefined || isGone(fallback.state) || fallback.id === leaving?.id) return null;
  return fallback.id;
}

/** Writes one step: the NHI at its next version, its identity, its audit events and its notifications. */
async function apply(
  db: Db,
  config: Pick<TenureConfig, "nhi" | "notify">,
  nhi: NonHumanIdentity,
  state: SuccessionState,
  effects: readonly SuccessionEffect[],
  options: NhiSuccessionOptions,
  people: Map<string, Identity>,
  /** Where a disabled NHI's account is settled, and its outcome collected (absent: confirmations). */
  accounts?: { deps: NhiAccountDeps; outcomes: NhiAccountOutcome[] },
): Promise<boolean> {
  const next: NonHumanIdentity = {
    ...nhi,
    ...state,
    updatedAt: options.now.toISOString(),
    version: nhi.version + 1,
  };
  const ids = effects.flatMap((e) =>
    e.kind === "owner_pending" ? [e.to] : e.kind === "owner_confirmed" ? [e.owner] : [],
  );
  for (const [id, person] of await identityRepository.findByIds(
    db,
    ids.filter((id) => !people.has(id)),
  ))
    people.set(id, person);
  const nameOf = (id: string | null) =>
    id === null ? "(nobody)" : (people.get(id)?.attributes.displayName ?? id);
  const otherwise =
    config.nhi?.policy.onOwnerLeave.otherwise === "keep" ? "it is kept without an owner" : "it is disabled";
  return db.transaction().execute(async (trx) => {
    if (!(await nhiRepository.update(trx, next))) return false;
    const identity = await identityRepository.findById(trx, nhi.id);
    const owner = next.ownerId === null ? undefined : people.get(next.ownerId);
    const updated = nhiIdentity(next, owner?.sourceKey ?? next.ownerKey, identity, options.now);
    if (updated !== identity) await identityRepository.upsertMany(trx, [updated]);
    for (const effect of effects) {
      switch (effect.kind) {
        case "owner_pending": {
          await appendEvents(trx, [
            event(options, nhi.id, "nhi.owner_pending", {
              name: nhi.name,
              from: effect.from,
              to: effect.to,
              reason: effect.reason,
              deadline: effect.deadline,
            }),
          ]);
          await enqueueNotifications(
            trx,
            {
              name: "nhi.owner-pending",
              data: {
                nhiId: nhi.id,
                name: nhi.name,
                type: nhi.type,
                to: emailOf(people.get(effect.to)),
                pendingOwner: nameOf(effect.to),
                previousOwner: nameOf(effect.from),
                why: effect.reason.replaceAll("-", " "),
                deadline: effect.deadline,
                otherwise,
              },
            },
            config,
            options.now,
          );
          break;
        }
        case "owner_confirmed":
          await appendEvents(trx, [
            event(options, nhi.id, "nhi.owner_confirmed", {
              name: nhi.name,
              owner: effect.owner,
              previous: effect.previous,
            }),
          ]);
          break;
        case "disabled":
        case "ownerless": {
          const action = effect.kind === "disabled" ? "nhi.disabled" : "nhi.ownerless";
          await appendEvents(trx, [
            event(options, nhi.id, action, {
              name: nhi.name,
              reason: effect.reason,
              previous: effect.previous,
            }),
          ]);
          // Disabled means the credential stops working: its account's disable is queued with it.
          if (effect.kind === "disabled" && accounts !== undefined) {
            const settled = await settleNhiAccountIn(trx, next, accounts.deps, options);
            if (settled !== null) accounts.outcomes.push(settled);
          }
          // The last owner is told (the pending owner, when there was one and they are still here).
          const told = [nhi.pendingOwnerId, effect.previous]
            .map((id) => (id === null ? undefined : people.get(id)))
            .find((p) => p !== undefined && !isGone(p.state) && emailOf(p) !== null);
          await enqueueNotifications(
            trx,
            {
              name: "nhi.ownerless",
              data: {
                nhiId: nhi.id,
                name: nhi.name,
                to: emailOf(told) ?? emailOf(people.get(effect.previous ?? "")),
                outcome: effect.kind === "disabled" ? "disabled" : "kept without an owner",
                reason: effect.reason,
              },
            },
            config,
            options.now,
          );
          break;
        }
      }
    }
    return true;
  });
}

function event(
  options: NhiSuccessionOptions,
  subject: string,
  action: string,
  details: Record<string, unknown>,
): AuditEventInput {
  return { time: options.now.toISOString(), actor: options.actor, action, subject, details };
}

function emailOf(person: Identity | undefined): string | null {
  return person?.attributes.email ?? null;
}

function asDays(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${Math.round(ms / 3_600_000)}h`;
}
