import type { Identity, WorkerRecord } from "./identity-types.js";
import {
  advanceByDate,
  applyRecord,
  deleteAfterRetention,
  type LifecycleContext,
  type LifecycleEvent,
  type LifecycleOutcome,
  terminateMissing,
} from "./lifecycle.js";

export interface SyncPolicy {
  source: string;
  /** A full export lists everybody, so absence can mean termination. */
  complete: boolean;
  missingMeans: "ignore" | "terminate";
  correlationFallback: "none" | "email";
  /**
   * `lifecycle.deleteAfterDays`: a terminated identity whose retention has ended moves to `deleted`.
   * Absent: nobody is deleted by this plan.
   */
  deleteAfterDays?: number;
}

/** One identity that changes in this run, with the record that caused it (none for date or absence). */
export interface IdentityChange {
  identity: Identity;
  before: Identity | undefined;
  events: LifecycleEvent[];
  record: WorkerRecord | undefined;
  cause: "record" | "date" | "missing";
}

export interface SyncPlan {
  changes: IdentityChange[];
  unchanged: number;
}

/**
 * Decides what one run of a source does to its identities. Pure: the same inputs give the same plan,
 * and a plan applied and planned again with the same records gives no changes.
 */
export function planSync(
  existing: readonly Identity[],
  records: readonly WorkerRecord[],
  policy: SyncPolicy,
  ctx: LifecycleContext,
): SyncPlan {
  const byKey = new Map<string, Identity>();
  const byEmail = new Map<string, Identity>();
  for (const i of existing) {
    byKey.set(i.sourceKey, i);
    const email = i.attributes.email?.toLowerCase();
    if (email) byEmail.set(email, i);
  }
  const keysInFeed = new Set(records.map((r) => r.key));
  const seen = new Set<string>();
  const changes: IdentityChange[] = [];
  let unchanged = 0;

  for (const record of records) {
    let current = byKey.get(record.key);
    if (current === undefined && policy.correlationFallback === "email" && record.attributes.email) {
      const candidate = byEmail.get(record.attributes.email.toLowerCase());
      // Only re-key when the old key is gone from the feed: two live records must never share one identity.
      if (candidate !== undefined && !keysInFeed.has(candidate.sourceKey) && !seen.has(candidate.id)) {
        current = candidate;
      }
    }
    if (current !== undefined) seen.add(current.id);
    const outcome = applyRecord(current, record, ctx);
    if (outcome.changed) {
      changes.push({
        identity: outcome.identity,
        before: current,
        events: outcome.events,
        record,
        cause: "record",
      });
      continue;
    }
    // A leaver an export still lists is deleted by the calendar, like one it no longer lists.
    const retired = current === undefined ? outcome : retire(current, policy, ctx);
    if (retired.changed) {
      changes.push({
        identity: retired.identity,
        before: current,
        events: retired.events,
        record: undefined,
        cause: "date",
      });
    } else {
      unchanged++;
    }
  }

  for (const identity of existing) {
    if (seen.has(identity.id)) continue;
    const terminating = policy.complete && policy.missingMeans === "terminate";
    const moved = terminating ? terminateMissing(identity, policy.source, ctx) : advanceByDate(identity, ctx);
    const outcome = moved.changed ? moved : retire(identity, policy, ctx);
    if (outcome.changed) {
      const cause = moved.changed && terminating ? "missing" : "date";
      changes.push({
        identity: outcome.identity,
        before: identity,
        events: outcome.events,
        record: undefined,
        cause,
      });
    } else {
      unchanged++;
    }
  }
  return { changes, unchanged };
}

function retire(identity: Identity, policy: SyncPolicy, ctx: LifecycleContext): LifecycleOutcome {
  return policy.deleteAfterDays === undefined
    ? { identity, events: [], changed: false }
    : deleteAfterRetention(identity, policy.deleteAfterDays, ctx);
}

/** Counts of what a plan does, for summaries and mass-change protection. */
export function summarisePlan(plan: SyncPlan): {
  created: number;
  updated: number;
  rehired: number;
  terminated: number;
  transitions: Record<string, number>;
} {
  let created = 0;
  let updated = 0;
  let rehired = 0;
  let terminated = 0;
  const transitions: Record<string, number> = {};
  for (const c of plan.changes) {
    for (const e of c.events) {
      if (e.action === "identity.created") created++;
      else if (e.action === "identity.updated") updated++;
      else if (e.action === "identity.rehired") rehired++;
      if (e.action === "identity.state_changed" || e.action === "identity.rehired") {
        const k = `${e.details.from}→${e.details.to}`;
        transitions[k] = (transitions[k] ?? 0) + 1;
        if (e.details.to === "terminated") terminated++;
      }
    }
  }
  return { created, updated, rehired, terminated, transitions };
}
