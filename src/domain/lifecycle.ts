import type { Identity, IsoDate, LifecycleState, WorkerAttributes, WorkerRecord } from "./identity-types.js";
import {
  type LeavingFields,
  leavingDate,
  retentionEnded,
  retentionOf,
  retentionStartDay,
} from "./retention.js";

/** What the HR data says the state should be on `today`, and why. */
export interface StateVerdict {
  state: Exclude<LifecycleState, "deleted">;
  reason: string;
  /** The date in the record that decides the state (termination, end or start date); null when none does. */
  hrDate: IsoDate | null;
}

/**
 * The lifecycle state the attributes call for on `today` (a date in the source's time zone).
 * Termination and end dates take effect on the date itself: the product promises a leaver loses access
 * on the termination date, a contractor on the end date. With both, the earlier one decides.
 */
export function stateFromAttributes(a: WorkerAttributes, today: IsoDate): StateVerdict {
  const leaving = leavingDate(a);
  if (leaving !== null && leaving.date <= today) {
    const reason =
      leaving.field === "terminationDate"
        ? `terminated on ${leaving.date}`
        : `${a.employmentType} end date ${leaving.date} reached`;
    return { state: "terminated", reason, hrDate: leaving.date };
  }
  if (a.startDate !== null && a.startDate > today) {
    return { state: "prehire", reason: `starts on ${a.startDate}`, hrDate: a.startDate };
  }
  if (a.status === "leave") return { state: "suspended", reason: "on leave", hrDate: null };
  if (a.startDate !== null)
    return { state: "active", reason: `started on ${a.startDate}`, hrDate: a.startDate };
  return { state: "active", reason: "active in HR", hrDate: null };
}

/**
 * Whether a record takes the person's access away on `today`: they are on leave, or their leaving
 * date has come (a record of a mapped push, whose attributes may be null where a value was refused).
 * Such a push goes through the push gate first (store/person-lock.ts): its access goes before the
 * creates around it.
 */
export function takesAccessAway(a: LeavingFields, today: IsoDate): boolean {
  if (a.status === "leave") return true;
  const leaving = leavingDate(a);
  return leaving !== null && leaving.date <= today;
}

/**
 * When a move happened by the record and when Tenure saw it, carried by every state event: retention
 * and the other date-driven rules count from `hrDate`; `observedDate` is "today" in the source's time
 * zone at the run that made the move (later than `hrDate` for a record that arrived late).
 */
export interface MoveDates {
  /** The date in the HR record the move follows; null when the record has none (on leave, missing). */
  hrDate: IsoDate | null;
  observedDate: IsoDate;
}

/** The allowed moves of the state machine. Rehire is the only way out of terminated or deleted. */
const ALLOWED: Record<LifecycleState, readonly LifecycleState[]> = {
  prehire: ["active", "suspended", "terminated"],
  active: ["suspended", "terminated", "prehire"],
  suspended: ["active", "terminated", "prehire"],
  terminated: ["deleted", "prehire", "active", "suspended"],
  deleted: ["prehire", "active", "suspended"],
};

export function isAllowedTransition(from: LifecycleState, to: LifecycleState): boolean {
  return from === to || ALLOWED[from].includes(to);
}

export function isGone(state: LifecycleState): boolean {
  return state === "terminated" || state === "deleted";
}

/** A change the lifecycle made, to be written as an audit event by the caller. */
export type LifecycleEvent =
  | {
      action: "identity.created";
      subject: string;
      details: { state: LifecycleState; reason: string; attributes: WorkerAttributes } & MoveDates;
    }
  | {
      action: "identity.updated";
      subject: string;
      details: { changes: Record<string, { before: unknown; after: unknown }> };
    }
  | {
      action: "identity.state_changed";
      subject: string;
      details: { from: LifecycleState; to: LifecycleState; reason: string } & MoveDates;
    }
  | {
      action: "identity.rehired";
      subject: string;
      details: {
        from: LifecycleState;
        to: LifecycleState;
        employment: number;
        reason: string;
      } & MoveDates;
    }
  | {
      action: "identity.rekeyed";
      subject: string;
      details: { before: string; after: string; reason: string };
    };

export interface LifecycleContext {
  now: Date;
  /** `now` as a calendar date in the time zone of the source. */
  today: IsoDate;
  newId: () => string;
}

export interface LifecycleOutcome {
  identity: Identity;
  events: LifecycleEvent[];
  changed: boolean;
}

export function diffAttributes(
  before: WorkerAttributes,
  after: WorkerAttributes,
): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const key of Object.keys(after) as (keyof WorkerAttributes)[]) {
    if (before[key] !== after[key]) changes[key] = { before: before[key] ?? null, after: after[key] ?? null };
  }
  return changes;
}

/**
 * Applies one HR record to the identity it correlates to (or to nothing, for a joiner).
 * Pure: the result and its events depend only on the arguments. A record whose key differs from the
 * identity's re-keys it (`identity.rekeyed`, with `rekeyReason`: how the caller correlated them).
 */
export function applyRecord(
  current: Identity | undefined,
  record: WorkerRecord,
  ctx: LifecycleContext,
  rekeyReason = "correlated by email",
): LifecycleOutcome {
  const verdict = stateFromAttributes(record.attributes, ctx.today);
  const at = ctx.now.toISOString();
  if (current === undefined) {
    const identity: Identity = {
      id: ctx.newId(),
      kind: "human",
      source: record.source,
      sourceKey: record.key,
      state: verdict.state,
      attributes: record.attributes,
      employment: 1,
      stateSince: at,
      createdAt: at,
      updatedAt: at,
      lastRecordId: null,
      previousAttributes: null,
      attributesChangedAt: null,
    };
    return {
      identity,
      changed: true,
      events: [
        {
          action: "identity.created",
          subject: identity.id,
          details: {
            state: verdict.state,
            reason: verdict.reason,
            attributes: record.attributes,
            hrDate: verdict.hrDate,
            observedDate: ctx.today,
          },
        },
      ],
    };
  }

  const events: LifecycleEvent[] = [];
  let next: Identity = current;
  if (current.sourceKey !== record.key) {
    events.push({
      action: "identity.rekeyed",
      subject: current.id,
      details: { before: current.sourceKey, after: record.key, reason: rekeyReason },
    });
    next = { ...next, sourceKey: record.key };
  }
  const changes = diffAttributes(current.attributes, record.attributes);
  if (Object.keys(changes).length > 0) {
    events.push({ action: "identity.updated", subject: current.id, details: { changes } });
    next = {
      ...next,
      attributes: record.attributes,
      previousAttributes: current.attributes,
      attributesChangedAt: at,
    };
  }
  if (verdict.state !== current.state) {
    if (isGone(current.state)) {
      if (verdict.state !== "terminated") {
        const employment = current.employment + 1;
        events.push({
          action: "identity.rehired",
          subject: current.id,
          details: {
            from: current.state,
            to: verdict.state,
            employment,
            reason: verdict.reason,
            hrDate: verdict.hrDate,
            observedDate: ctx.today,
          },
        });
        next = { ...next, state: verdict.state, employment, stateSince: at };
      }
    } else {
      events.push({
        action: "identity.state_changed",
        subject: current.id,
        details: {
          from: current.state,
          to: verdict.state,
          reason: verdict.reason,
          hrDate: verdict.hrDate,
          observedDate: ctx.today,
        },
      });
      next = { ...next, state: verdict.state, stateSince: at };
    }
  }
  if (events.length === 0) return { identity: current, events, changed: false };
  return { identity: { ...next, updatedAt: at }, events, changed: true };
}

/**
 * Moves an identity forward by the calendar alone (a start date arrived, an end date passed),
 * for people whose record did not arrive in this run. Never rehires: only a record can do that.
 */
export function advanceByDate(current: Identity, ctx: LifecycleContext): LifecycleOutcome {
  if (isGone(current.state)) return { identity: current, events: [], changed: false };
  const verdict = stateFromAttributes(current.attributes, ctx.today);
  if (verdict.state === current.state) return { identity: current, events: [], changed: false };
  const at = ctx.now.toISOString();
  return {
    identity: { ...current, state: verdict.state, stateSince: at, updatedAt: at },
    changed: true,
    events: [
      {
        action: "identity.state_changed",
        subject: current.id,
        details: {
          from: current.state,
          to: verdict.state,
          reason: verdict.reason,
          hrDate: verdict.hrDate,
          observedDate: ctx.today,
        },
      },
    ],
  };
}

/**
 * Moves a terminated identity to `deleted` when its retention ends (`retentionOf`): `deleteAfterDays`
 * after the leaving date in the HR record — not after the day Tenure first saw it — or, when the record
 * has none, after the instant Tenure terminated it. The same function decides when desired-state deletes
 * the accounts. Only the calendar moves it; a record can still rehire it afterwards. An unreadable date
 * never deletes: the safe side.
 */
export function deleteAfterRetention(
  current: Identity,
  deleteAfterDays: number,
  ctx: LifecycleContext,
): LifecycleOutcome {
  if (current.state !== "terminated") return { identity: current, events: [], changed: false };
  const retention = retentionOf(current, deleteAfterDays, ctx.today);
  if (!retentionEnded(retention, ctx.now, ctx.today))
    return { identity: current, events: [], changed: false };
  const at = ctx.now.toISOString();
  const reason =
    `terminated on ${retentionStartDay(retention)}: retention of lifecycle.deleteAfterDays ` +
    `(${deleteAfterDays} days) ended`;
  return {
    identity: { ...current, state: "deleted", stateSince: at, updatedAt: at },
    changed: true,
    events: [
      {
        action: "identity.state_changed",
        subject: current.id,
        details: {
          from: "terminated",
          to: "deleted",
          reason,
          hrDate: retention.basis === "hr-date" ? retention.from : null,
          observedDate: ctx.today,
        },
      },
    ],
  };
}

/** Terminates an identity that a full export no longer lists, when the source says missing means terminate. */
export function terminateMissing(current: Identity, source: string, ctx: LifecycleContext): LifecycleOutcome {
  if (isGone(current.state)) return { identity: current, events: [], changed: false };
  const at = ctx.now.toISOString();
  return {
    identity: { ...current, state: "terminated", stateSince: at, updatedAt: at },
    changed: true,
    events: [
      {
        action: "identity.state_changed",
        subject: current.id,
        details: {
          from: current.state,
          to: "terminated",
          reason: `missing from the full export of source ${source} (missingMeans: terminate)`,
          hrDate: null,
          observedDate: ctx.today,
        },
      },
    ],
  };
}
