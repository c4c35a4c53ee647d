import { connectorPool } from "../engine/provision.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewItemRepository } from "../store/review-repository.js";
import { sodExceptionRepository } from "../store/sod-repository.js";
import { onAccessChanged } from "./access-clock.js";
import { type EndedAssignments, endDueAssignments } from "./assignment-ends.js";
import { requestSettings } from "./request-approvers.js";
import { expireRequests } from "./request-decisions.js";
import { applyEffects } from "./request-effects.js";
import { remindApprovers } from "./request-reminders.js";
import { type ReviewRemovalSummary, runReviewRemovals } from "./review-removal.js";
import { endDueExceptions } from "./sod-exceptions.js";

/** The longest the timer sleeps: the backstop for ends written by another process. */
const POLL_MS = 30_000;

export interface AccessPass extends EndedAssignments {
  /** Separation-of-duties exceptions that expired (or were revoked) and were processed in this pass. */
  endedExceptions: number;
  expiredRequests: number;
  reminders: number;
  warnings: number;
  /** Revocations decided in access reviews, removed at their source and read back (review-removal.ts). */
  removals: ReviewRemovalSummary;
}

/**
 * One pass of the clock of access: ends what is due (endDueAssignments) and separation-of-duties
 * exceptions past their expiry (endDueExceptions), expires requests nobody
 * decided in time, reminds and escalates waiting approvers, warns holders before their access ends, and
 * carries out the revocations of access reviews (runReviewRemovals): pending ones, and failed ones due
 * for a retry, so a restart loses none.
 */
export async function accessPass(
  store: Store,
  config: TenureConfig,
  options: { now: Date; actor: string; pool?: ReturnType<typeof connectorPool> },
): Promise<AccessPass> {
  const { now, actor } = options;
  const ended = await endDueAssignments(store, config, options);
  const endedExceptions = (await endDueExceptions(store, config, { now, actor })).length;
  const expired = await expireRequests(store, now, actor, async (trx, t) => {
    await applyEffects(trx, config, t.request, t.effects, { now, actor });
  });
  const reminders = await remindApprovers(store, config, now);
  const warnings = await warnHolders(store, config, now);
  const removals = await runReviewRemovals(store, config, options);
  return { ...ended, endedExceptions, expiredRequests: expired.length, reminders, warnings, removals };
}

async function warnHolders(store: Store, config: TenureConfig, now: Date): Promise<number> {
  const warnMs = requestSettings(config).warnBeforeExpiryMs;
  const soon = await assignmentRepository.endingBetween(
    store.db,
    now.toISOString(),
    new Date(now.getTime() + warnMs).toISOString(),
    500,
  );
  if (soon.length === 0 || config.notify === undefined) return 0;
  const holders = await identityRepository.findByIds(store.db, [...new Set(soon.map((a) => a.identityId))]);
  let queued = 0;
  await store.db.transaction().execute(async (trx) => {
    for (const a of soon) {
      const holder = holders.get(a.identityId);
      if (holder === undefined || a.validUntil === null) continue;
      const result = await enqueueNotifications(
        trx,
        {
          name: "access.expiring",
          data: {
            assignmentId: a.id,
            to: holder.attributes.email,
            holder: holder.attributes.displayName,
            item: "role" in a.target ? `role ${a.target.role}` : `${a.target.system}:${a.target.entitlement}`,
            validUntil: a.validUntil,
            requestId: a.requestId ?? null,
          },
        },
        config,
        now,
      );
      queued += result.queued.length;
    }
  });
  return queued;
}

/**
 * Whether a review's revocation waits for a pass now (decided, or due for a retry or a read-back), so
 * a decision made in this process (accessChanged) is carried out in seconds, not at the next poll.
 */
async function removalWaiting(store: Store, now: Date): Promise<boolean> {
  const at = now.toISOString();
  const due = await reviewItemRepository.removalsDue(store.db, at, 100);
  // Applied removals that cannot be read back stay `applied` with no next time: nothing to do for them.
  return due.some((i) => i.removalState !== "applied" || (i.removalNextAt !== null && i.removalNextAt <= at));
}

export interface AccessTimer {
  /** Stops: no pass starts any more; one running finishes. */
  stop(): Promise<void>;
}

/**
 * Runs {@link accessPass} at the moment the next assignment ends (not only on a sweep): after each pass
 * it reads the soonest open end and sleeps until then — at most {@link POLL_MS}, and woken at once by a
 * grant in this process (accessChanged). It passes once at start, so what ended while the process was
 * down ends now.
 */
export function startAccessTimer(deps: {
  store: Store;
  config: TenureConfig;
  now: () => Date;
  actor: string;
  pollMs?: number;
  onPass?: (pass: AccessPass) => void;
  onError?: (err: unknown) => void;
}): AccessTimer {
  const pollMs = deps.pollMs ?? POLL_MS;
  const pool = connectorPool(deps.config);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  // After a failed pass the timer waits a full poll: an end that cannot be processed is not retried in a loop.
  let failed = false;

  const run = async () => {
    failed = false;
    try {
      const pass = await accessPass(deps.store, deps.config, { now: deps.now(), actor: deps.actor, pool });
      if (
        pass.confirmed.length +
          pass.unconfirmed.length +
          pass.endedExceptions +
          pass.expiredRequests +
          pass.reminders +
          pass.warnings +
          pass.removals.processed >
        0
      ) {
        deps.onPass?.(pass);
      }
    } catch (err) {
      failed = true;
      deps.onError?.(err);
    }
  };
  const schedule = async () => {
    if (stopped) return;
    clearTimeout(timer);
    let delay = pollMs;
    try {
      const now = deps.now();
      // The soonest moment something ends: an assignment, or a separation-of-duties exception.
      const nexts = failed
        ? []
        : await Promise.all([
            assignmentRepository.nextEnd(deps.store.db),
            sodExceptionRepository.nextExpiry(deps.store.db),
          ]);
      for (const next of nexts) {
        if (next !== null) delay = Math.min(delay, Math.max(0, Date.parse(next) - now.getTime()));
      }
      if (!failed && (await removalWaiting(deps.store, now))) delay = 0;
    } catch (err) {
      deps.onError?.(err);
    }
    if (stopped) return;
    timer = setTimeout(tick, delay);
  };
  const tick = () => {
    if (running !== null) {
      again = true;
      return;
    }
    running = run().finally(() => {
      running = null;
      if (again) {
        again = false;
        tick();
      } else void schedule();
    });
  };
  const unsubscribe = onAccessChanged(() => {
    if (!stopped && running === null) void schedule();
  });
  tick();
  return {
    async stop() {
      stopped = true;
      unsubscribe();
      clearTimeout(timer);
      await running;
      await pool.closeAll();
    },
  };
}
