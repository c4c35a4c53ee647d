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
import { normaliseText } from "./normalise-text.js";

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
  /**
   * The keys of every row in the export, valid or refused (SourceReadResult.presentKeys). Only an
   * identity whose key is neither a record's nor among these can count as missing: a person whose row
   * is present but refused for bad data is never terminated for absence. Compared after
   * `normaliseText`. Absent: the records' keys only.
   */
  presentKeys?: readonly string[];
  /**
   * Keys the pushing system says changed, by new key: the record with the new key is the person stored
   * under `previousKey` (a SCIM User keeps its id when its externalId changes), whatever
   * `correlationFallback` says — that identity is re-keyed, never a second one created. The caller
   * makes sure no other identity holds the new key (an identity with the record's key wins).
   */
  renamedKeys?: ReadonlyMap<string, RenamedKey>;
}

/** A key change the pushing system declared: the key the person had, and how it is known. */
export interface RenamedKey {
  previousKey: string;
  /** The `identity.rekeyed` event's reason, e.g. `SCIM User 0193… changed its key`. */
  reason: string;
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
 *
 * An identity no record matches is terminated as missing only when the read is `complete`,
 * `missingMeans` is `terminate` and its key is not in `presentKeys`; otherwise it moves only by its
 * stored dates (`advanceByDate`), as the lifecycle sweep would move it.
 */
export function planSync(
  existing: readonly Identity[],
  records: readonly WorkerRecord[],
  policy: SyncPolicy,
  ctx: LifecycleContext,
): SyncPlan {
  const byKey = new Map<string, Identity>();
  // Keys stored before sources normalised them (an NFD é) still match their person, by normal form.
  const byNormalKey = new Map<string, Identity>();
  const byEmail = new Map<string, Identity>();
  for (const i of existing) {
    byKey.set(i.sourceKey, i);
    const normal = normaliseText(i.sourceKey);
    if (normal !== i.sourceKey && !byNormalKey.has(normal)) byNormalKey.set(normal, i);
    const email = i.attributes.email?.toLowerCase();
    if (email) byEmail.set(email, i);
  }
  const keysInFeed = new Set(records.map((r) => r.key));
  const seen = new Set<string>();
  const changes: IdentityChange[] = [];
  let unchanged = 0;

  for (const record of records) {
    let current = byKey.get(record.key);
    if (current === undefined) {
      const legacy = byNormalKey.get(record.key);
      if (legacy !== undefined && !seen.has(legacy.id)) current = legacy;
    }
    let rekeyReason: string | undefined;
    const renamed = policy.renamedKeys?.get(record.key);
    if (current === undefined && renamed !== undefined && !keysInFeed.has(renamed.previousKey)) {
      const candidate = byKey.get(renamed.previousKey) ?? byNormalKey.get(renamed.previousKey);
      if (candidate !== undefined && !seen.has(candidate.id)) {
        current = candidate;
        rekeyReason = renamed.reason;
      }
    }
    if (current === undefined && policy.correlationFallback === "email" && record.attributes.email) {
      const candidate = byEmail.get(record.attributes.email.toLowerCase());
      // Only re-key when the old key is gone from the feed: two live records must never share one identity.
      if (
        candidate !== undefined &&
        !keysInFeed.has(normaliseText(candidate.sourceKey)) &&
        !seen.has(candidate.id)
      ) {
        current = candidate;
      }
    }
    if (current !== undefined) seen.add(current.id);
    const outcome = afterRetention(
      withNormalisedKeyReason(current, record, applyRecord(current, record, ctx, rekeyReason)),
      policy,
      ctx,
    );
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

  // Refused rows are present: bad data must never deprovision the person it is about.
  const present = new Set(keysInFeed);
  for (const key of policy.presentKeys ?? []) present.add(normaliseText(key));
  for (const identity of existing) {
    if (seen.has(identity.id)) continue;
    const terminating =
      policy.complete &&
      policy.missingMeans === "terminate" &&
      !present.has(normaliseText(identity.sourceKey));
    const moved = terminating ? terminateMissing(identity, policy.source, ctx) : advanceByDate(identity, ctx);
    const outcome = moved.changed ? afterRetention(moved, policy, ctx) : retire(identity, policy, ctx);
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

/**
 * A stored key that differs from the record's only by normalisation is rewritten to the normal form;
 * applyRecord records that as `identity.rekeyed`, and its reason must say so, not "correlated by email".
 */
function withNormalisedKeyReason(
  current: Identity | undefined,
  record: WorkerRecord,
  outcome: LifecycleOutcome,
): LifecycleOutcome {
  if (current === undefined || current.sourceKey === record.key) return outcome;
  if (normaliseText(current.sourceKey) !== record.key) return outcome;
  const reason = "same key after Unicode NFC normalisation and trimming";
  return {
    ...outcome,
    events: outcome.events.map((e) =>
      e.action === "identity.rekeyed" ? { ...e, details: { ...e.details, reason } } : e,
    ),
  };
}

/**
 * A record that terminates someone whose retention, counted from the HR date, has already ended (a
 * leaver HR reports late, or a first import of someone who left long ago) deletes them in the same run:
 * retention counts from the date in the record, not from the day Tenure saw it.
 */
function afterRetention(
  outcome: LifecycleOutcome,
  policy: SyncPolicy,
  ctx: LifecycleContext,
): LifecycleOutcome {
  if (!outcome.changed || outcome.identity.state !== "terminated") return outcome;
  const retired = retire(outcome.identity, policy, ctx);
  if (!retired.changed) return outcome;
  return { identity: retired.identity, events: [...outcome.events, ...retired.events], changed: true };
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
