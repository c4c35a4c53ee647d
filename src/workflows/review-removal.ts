import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import { type AccessPiece, accessRemoved, isPolicyLineage } from "../domain/access-exclusion.js";
import type { AccessExclusion, PlannedOperation } from "../domain/access-types.js";
import { assignmentStatus } from "../domain/assignment-status.js";
import { calculatorFor } from "../domain/desired-state.js";
import type { DesiredStateContext } from "../domain/desired-state-types.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import type { RemovalState, ReviewItemState } from "../domain/review-types.js";
import { loadDesiredInputs } from "../engine/desired-inputs.js";
import { enqueuePlan } from "../engine/enqueue.js";
import { provisionIdentities } from "../engine/identity-provision.js";
import { type ConnectorPool, connectorPool, policyToday } from "../engine/provision.js";
import { ownerEmail } from "../engine/sod-scan.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { DEFAULT_RETRY, nextAttemptAt } from "../shared/backoff.js";
import { accountRepository } from "../store/account-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import {
  type ItemChange,
  type ReviewCampaign,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";
import { endDueAssignments } from "./assignment-ends.js";
import { describeAccess } from "./review-decisions.js";
import { readBack, type TargetCheck } from "./review-removal-readback.js";
import {
  describeLineageShort,
  recordExclusion,
  reviewDetails,
  revokeAssignment,
  revokeOperation,
} from "./review-removal-source.js";

/**
 * Revocations decided in access reviews, removed at their source and confirmed in the target (issue 16).
 * Where the access came from decides what is undone, so the next plan never gives it back:
 * - `assignment`: the assignment is revoked and ended as an early revoke is (assignment-ends.ts), with
 *   its read-back receipt;
 * - `birthright` / `mover-grace`: an exclusion is recorded for the identity's employment, with the item
 *   as lineage (desired state then withholds the access and the plan revokes it), and the owner of the
 *   role whose rule gave it is told (`review.birthright-refused`);
 * - `found` (added in the target directly): a `revoke` operation is queued through the engine, its
 *   lineage and reason naming the campaign and the item.
 * The holders are then provisioned and the targets read back: `confirmed` (with `confirmed_at`) when
 * every piece is gone, `applied` when it was removed but the system cannot be read back, `failed`
 * (visible, retried with exponential backoff; the system owner told after a few attempts) otherwise.
 * Access already gone, or an identity that left (the lifecycle removes its access), is `not-needed`.
 * Every change of an item is written with an optimistic version check and its audit event in one
 * transaction; a pass that dies half-way is taken up by the next (each step is idempotent).
 */

/** Items worked on per pass; a backlog (a campaign closing with many revocations) is cleared in passes. */
const BATCH = 200;
/** After this many failed attempts the system owner is told (once). */
const ALERT_AFTER_ATTEMPTS = 3;
const REVOKED: readonly ReviewItemState[] = ["revoked", "revoked-no-response"];

export interface ReviewRemovalOutcome {
  itemId: string;
  /** The removal state written; `skipped` when someone changed the item first (the next pass sees it). */
  state: RemovalState | "skipped";
  detail: string | null;
}

export interface ReviewRemovalSummary {
  processed: number;
  confirmed: number;
  applied: number;
  failed: number;
  notNeeded: number;
  outcomes: ReviewRemovalOutcome[];
}

export interface ReviewRemovalOptions {
  now: Date;
  actor: string;
  /** Connectors already open (closed by their owner); without it, opened and closed here. */
  pool?: ConnectorPool;
  /** Jitter of the retry backoff, in [0, 1); default Math.random. */
  random?: () => number;
}

/** What a pass decided for one item before recording it. */
interface Verdict {
  state: RemovalState;
  detail: string;
  /** The system whose owner hears of a failure. */
  system: string | null;
}

/** One item being worked on in a pass. */
interface Work {
  item: ReviewItem;
  campaign: string;
  holder: Identity;
  /** What to read back in the targets; null for an assignment (its end keeps its own receipt). */
  pieces: AccessPiece[] | null;
  assignmentId: string | null;
  /** A failure of this pass before the read-back (provisioning, the operation). */
  problem: string | null;
}

/** Whether a removal is due at `at`: pending, failed and due again, or applied and due to be read back. */
function dueNow(item: ReviewItem, at: string): boolean {
  if (!REVOKED.includes(item.state)) return false;
  if (item.removalState === "applied") return item.removalNextAt !== null && item.removalNextAt <= at;
  return true;
}

/**
 * One pass over the revocations due at `options.now` (see the module comment). Failures are outcomes,
 * never exceptions; it throws only when the store fails.
 */
export async function runReviewRemovals(
  store: Store,
  config: TenureConfig,
  options: ReviewRemovalOptions,
): Promise<ReviewRemovalSummary> {
  const { now } = options;
  const at = now.toISOString();
  const due = (await reviewItemRepository.removalsDue(store.db, at, BATCH)).filter((i) => dueNow(i, at));
  const summary: ReviewRemovalSummary = {
    processed: 0,
    confirmed: 0,
    applied: 0,
    failed: 0,
    notNeeded: 0,
    outcomes: [],
  };
  if (due.length === 0) return summary;

  const ids = [...new Set(due.map((i) => i.identityId))];
  const [holders, inputs, stored] = await Promise.all([
    identityRepository.findByIds(store.db, ids),
    loadDesiredInputs(store.db, ids),
    accountRepository.list(store.db, { identityIds: ids }),
  ]);
  const campaigns = new Map<string, ReviewCampaign | undefined>();
  for (const id of new Set(due.map((i) => i.campaignId)))
    campaigns.set(id, await reviewCampaignRepository.find(store.db, id));
  const calculator = calculatorFor(config.policy, config.lifecycle);
  const today = policyToday(config, now);
  const usernameOf = (identityId: string, system: string) =>
    stored.find((a) => a.identityId === identityId && a.system === system && !a.vanishedAt) ?? null;

  const verdicts = new Map<string, Verdict>();
  const work: Work[] = [];
  const foundOps: PlannedOperation[] = [];
  const provisioning = new Set<string>();
  let ending = false;

  for (const item of due) {
    const campaign = campaigns.get(item.campaignId)?.definition ?? item.campaignId;
    const holder = holders.get(item.identityId);
    const notNeeded = (detail: string) =>
      verdicts.set(item.id, { state: "not-needed", detail, system: null });
    if (holder === undefined || isGone(holder.state)) {
      notNeeded(
        holder === undefined
          ? "the identity no longer exists"
          : `the identity left (${holder.state} since ${holder.stateSince.slice(0, 10)}): the lifecycle removes its access`,
      );
      continue;
    }
    const mine = inputs.assignments.filter((a) => a.identityId === holder.id);
    const exclusions = inputs.exclusions.filter((e) => e.identityId === holder.id && e.itemId !== item.id);
    const context: DesiredStateContext = {
      identity: holder,
      assignments: mine,
      exclusions,
      usernames: {},
      now,
      today,
    };
    const base: Omit<Work, "pieces" | "assignmentId"> = { item, campaign, holder, problem: null };

    if (item.source === "assignment") {
      const assignment = mine.find((a) => a.id === item.assignmentId);
      if (assignment === undefined) {
        notNeeded("the assignment no longer exists");
        continue;
      }
      if (assignment.endedAt) {
        // Ended by this removal in an earlier pass, or by someone else before it ran.
        if (item.removalState === "pending")
          notNeeded(`the assignment already ended at ${assignment.endedAt}`);
        else work.push({ ...base, pieces: null, assignmentId: assignment.id });
        continue;
      }
      const status = assignmentStatus(assignment, holder, now.getTime());
      if (status !== "active" && status !== "revoked") {
        notNeeded(`the assignment no longer counts (${status})`);
        continue;
      }
      if (status === "active") await revokeAssignment(store.db, assignment, item, campaign, options);
      work.push({ ...base, pieces: null, assignmentId: assignment.id });
      ending = true;
      continue;
    }

    if (item.source === "found") {
      if (item.access.kind !== "entitlement") {
        notNeeded("nothing in a target to remove: found access is an entitlement");
        continue;
      }
      const { system, entitlement } = item.access;
      const desired = calculator.compute(context).systems[system];
      const given = desired?.entitlements[entitlement];
      if (given !== undefined && desired?.presence !== "absent") {
        notNeeded(
          `no longer found only in the target: now granted by policy (${given.map(describeLineageShort).join(", ")})`,
        );
        continue;
      }
      const account = usernameOf(holder.id, system);
      if (item.removalState === "pending" && !account?.entitlements.includes(entitlement)) {
        notNeeded(`already removed from ${system}`);
        continue;
      }
      if (account !== null) foundOps.push(revokeOperation(item, campaign, holder, account));
      work.push({ ...base, pieces: [{ system, entitlement }], assignmentId: null });
      provisioning.add(holder.id);
      continue;
    }

    // Birthright, or kept after a move: an exclusion, so the plan withholds it from now on.
    const target =
      item.access.kind === "role"
        ? { role: item.access.role }
        : {
            system: item.access.system,
            entitlement: item.access.entitlement,
          };
    const exclusion: AccessExclusion = {
      identityId: holder.id,
      employment: holder.employment,
      target,
      itemId: item.id,
      campaignId: item.campaignId,
      campaign,
    };
    const { desired: before, roles } = calculator.computeWithRoles(context, { light: true });
    // Policy and a request can both give it: the reviewer refused the access, so the assignment ends too.
    const alsoAssigned =
      item.assignmentId === null
        ? undefined
        : mine.find(
            (a) =>
              a.id === item.assignmentId &&
              !a.endedAt &&
              assignmentStatus(a, holder, now.getTime()) === "active",
          );
    const after = calculator.compute({
      ...context,
      assignments: alsoAssigned === undefined ? mine : mine.filter((a) => a !== alsoAssigned),
      exclusions: [...exclusions, exclusion],
    });
    const lineage =
      item.access.kind === "role"
        ? roles.get(item.access.role)
        : before.systems[item.access.system]?.entitlements[item.access.entitlement];
    const recorded = inputs.exclusions.some(
      (e) => e.itemId === item.id && e.employment === holder.employment,
    );
    if (!recorded && !(lineage ?? []).some(isPolicyLineage)) {
      notNeeded(`policy no longer gives ${describeAccess(item)} to this identity`);
      continue;
    }
    await recordExclusion(store.db, config, exclusion, item, holder, lineage ?? [], options);
    if (alsoAssigned !== undefined) {
      await revokeAssignment(store.db, alsoAssigned, item, campaign, options);
      ending = true;
    }
    work.push({ ...base, pieces: accessRemoved(before, after), assignmentId: null });
    provisioning.add(holder.id);
  }

  const pool = options.pool ?? connectorPool(config);
  try {
    // Ends (and reads back) every revoked assignment due, these among them.
    if (ending || work.some((w) => w.assignmentId !== null))
      await endDueAssignments(store, config, { now, actor: options.actor, pool });
    if (foundOps.length > 0) {
      await enqueuePlan(store, foundOps, {
        now,
        actor: options.actor,
        lifecycle: config.lifecycle,
        systems: config.policy.systems,
      });
    }
    if (provisioning.size > 0) {
      const problem = await provisionHolders(store, config, [...provisioning], { ...options, pool });
      for (const w of work) {
        if (w.pieces === null) continue;
        const systems = new Set(w.pieces.map((p) => p.system));
        if (w.item.access.kind === "entitlement") systems.add(w.item.access.system);
        w.problem = problem(w.holder.id, systems);
      }
    }
    const checks = await readBack(
      pool,
      work.flatMap((w) =>
        (w.pieces ?? []).map((p) => ({
          system: p.system,
          username: usernameOf(w.holder.id, p.system)?.username ?? null,
        })),
      ),
    );
    for (const w of work) {
      verdicts.set(
        w.item.id,
        w.assignmentId !== null
          ? await assignmentVerdict(store.db, w.assignmentId)
          : piecesVerdict(w, (p) =>
              checks(p.system, usernameOf(w.holder.id, p.system)?.username ?? null, p.entitlement),
            ),
      );
    }
  } finally {
    if (options.pool === undefined) await pool.closeAll();
  }

  for (const item of due) {
    const verdict = verdicts.get(item.id);
    if (verdict === undefined) continue;
    const holder = holders.get(item.identityId);
    const campaign = campaigns.get(item.campaignId)?.definition ?? item.campaignId;
    const state = await record(store.db, config, item, verdict, { campaign, holder, ...options });
    summary.processed++;
    summary.outcomes.push({ itemId: item.id, state, detail: verdict.detail });
    if (state === "confirmed") summary.confirmed++;
    else if (state === "applied") summary.applied++;
    else if (state === "failed") summary.failed++;
    else if (state === "not-needed") summary.notNeeded++;
  }
  return summary;
}

/**
 * Plans, queues and applies these holders now. Returns what failed for one holder in some systems, in
 * words (null: nothing); a failure is never thrown.
 */
async function provisionHolders(
  store: Store,
  config: TenureConfig,
  identityIds: string[],
  options: ReviewRemovalOptions & { pool: ConnectorPool },
): Promise<(identityId: string, systems: ReadonlySet<string>) => string | null> {
  try {
    const result = await provisionIdentities(store, config, identityIds, {
      now: options.now,
      actor: options.actor,
      pool: options.pool,
      run: "review removals",
    });
    const failed = result.applied.outcomes.filter((o) => o.outcome === "failed" || o.outcome === "dead");
    return (identityId, systems) => {
      const mine = failed.filter((o) => o.identityId === identityId && systems.has(o.system));
      if (mine.length === 0) return null;
      return mine
        .map((o) => `${o.kind} ${o.entitlement ?? "account"} on ${o.system} ${o.outcome}: ${o.error ?? "?"}`)
        .join("; ");
    };
  } catch (err) {
    const message = `provisioning failed: ${err instanceof Error ? err.message : String(err)}`;
    return () => message;
  }
}

/** An assignment item: confirmed once its end is (with the end's receipt), else failed until it is. */
async function assignmentVerdict(db: Db, assignmentId: string): Promise<Verdict> {
  const [assignment, receipt] = await Promise.all([
    assignmentRepository.find(db, assignmentId),
    assignmentRepository.receiptOf(db, assignmentId),
  ]);
  const words = (receipt?.checks ?? [])
    .map(
      (c) =>
        `${c.system}${c.entitlement === null ? "" : `:${c.entitlement}`} ${c.outcome}${c.detail ? ` (${c.detail})` : ""}`,
    )
    .join("; ");
  if (assignment?.endedAt)
    return {
      state: "confirmed",
      detail: `assignment ${assignmentId} ended${words === "" ? "" : `: ${words}`}`,
      system: null,
    };
  const system = receipt?.checks.find((c) => c.outcome !== "gone" && c.outcome !== "kept")?.system ?? null;
  return {
    state: "failed",
    detail: `assignment ${assignmentId} revoked, its end not confirmed in the targets yet${words === "" ? "" : `: ${words}`}`,
    system,
  };
}

/** Pieces read back: all gone → confirmed; some unreadable by design → applied; else failed. */
function piecesVerdict(w: Work, check: (p: AccessPiece) => TargetCheck): Verdict {
  const results = (w.pieces ?? []).map((p) => ({ piece: p, check: check(p) }));
  const label = (p: AccessPiece) =>
    p.entitlement === null ? `account in ${p.system}` : `${p.system}:${p.entitlement}`;
  const bad = results.filter((r) => r.check.outcome === "present" || r.check.outcome === "unreadable");
  const text = (list: typeof results) =>
    list
      .map((r) => `${label(r.piece)} ${r.check.outcome}${r.check.detail ? ` (${r.check.detail})` : ""}`)
      .join("; ");
  if (bad.length > 0 || w.problem !== null) {
    const problem = w.problem === null ? "" : `${w.problem}; `;
    return {
      state: "failed",
      detail: `${problem}${text(bad) || "not confirmed"}`,
      system: bad[0]?.piece.system ?? (w.item.access.kind === "entitlement" ? w.item.access.system : null),
    };
  }
  const unconfirmable = results.filter((r) => r.check.outcome === "unconfirmable");
  if (unconfirmable.length > 0)
    return { state: "applied", detail: `removed; ${text(unconfirmable)}`, system: null };
  return {
    state: "confirmed",
    detail: results.length === 0 ? "nothing left to remove" : `gone from the target: ${text(results)}`,
    system: null,
  };
}

/** Writes one item's removal state, its audit events and any notification, in one transaction. */
async function record(
  db: Db,
  config: TenureConfig,
  item: ReviewItem,
  verdict: Verdict,
  context: ReviewRemovalOptions & { campaign: string; holder: Identity | undefined },
): Promise<RemovalState | "skipped"> {
  const { now, actor, campaign } = context;
  const at = now.toISOString();
  const change: ItemChange = {
    removalState: verdict.state,
    removalDetail: verdict.detail,
    removalNextAt: null,
  };
  const events: AuditEventInput[] = [];
  const event = (action: string, extra: Record<string, unknown> = {}) =>
    events.push({
      time: at,
      actor,
      action,
      subject: `identity:${item.identityId}`,
      details: { ...reviewDetails(item, campaign), detail: verdict.detail, ...extra },
    });
  let alert = false;
  switch (verdict.state) {
    case "confirmed":
      change.confirmedAt = at;
      if (item.removalState !== "applied") event("review.removal_applied");
      event("review.removal_confirmed", { confirmedAt: at });
      break;
    case "applied":
      event("review.removal_applied");
      break;
    case "not-needed":
      event("review.removal_not_needed");
      break;
    case "failed": {
      const attempts = item.removalAttempts + 1;
      const retry =
        (verdict.system === null ? undefined : config.policy.systems[verdict.system]?.retry) ?? DEFAULT_RETRY;
      const next = nextAttemptAt(now, attempts, retry, context.random ?? Math.random).toISOString();
      change.removalAttempts = attempts;
      change.removalNextAt = next;
      event("review.removal_failed", { attempts, nextAttemptAt: next });
      alert = attempts === ALERT_AFTER_ATTEMPTS;
      break;
    }
    case "pending":
      break;
  }
  const owner = verdict.system === null ? null : (config.policy.systems[verdict.system]?.owner ?? null);
  const to = alert && owner !== null ? await ownerEmail(db, owner) : null;
  return db.transaction().execute(async (trx) => {
    if (!(await reviewItemRepository.update(trx, item.id, item.version, change, REVOKED))) return "skipped";
    await appendEvents(trx, events);
    if (alert) {
      await enqueueNotifications(
        trx,
        {
          name: "review.revocation-failed",
          data: {
            itemId: item.id,
            to,
            campaign,
            access: describeAccess(item),
            holder: context.holder?.attributes.displayName ?? item.identityId,
            error: verdict.detail,
            attempts: change.removalAttempts ?? item.removalAttempts,
          },
        },
        config,
        now,
      );
    }
    return verdict.state;
  });
}
