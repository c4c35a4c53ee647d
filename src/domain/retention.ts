import type { Identity, IsoDate, WorkerAttributes } from "./identity-types.js";
import { addDays, DAY_MS } from "./local-date.js";

/** The date in the HR record on which a person leaves, and which field said so. */
export interface LeavingDate {
  date: IsoDate;
  field: "terminationDate" | "endDate";
}

/** What a record says of leaving: a mapped record's status may be null where its value was refused. */
export type LeavingFields = Pick<WorkerAttributes, "terminationDate" | "endDate"> & {
  status: WorkerAttributes["status"] | null;
};

/**
 * The day the record says the person leaves: the termination date of a `status: terminated` record or
 * the end date, whichever is earlier; null when the record names neither. The lifecycle terminates on
 * this day (`stateFromAttributes`) and retention counts from it (`retentionOf`), so both read one date.
 */
export function leavingDate(a: LeavingFields): LeavingDate | null {
  const termination = a.status === "terminated" ? a.terminationDate : null;
  if (termination !== null && (a.endDate === null || termination <= a.endDate)) {
    return { date: termination, field: "terminationDate" };
  }
  return a.endDate === null ? null : { date: a.endDate, field: "endDate" };
}

/**
 * When the retention of a terminated identity (`lifecycle.deleteAfterDays`) ends: its accounts are
 * deleted then, and the identity moves to `deleted`.
 * - `hr-date`: counted from the leaving date in the record, in calendar days of the source's time zone:
 *   a termination date of 2026-03-14 with 30 days deletes on 2026-04-13, whenever Tenure first saw it.
 * - `observed`: the record has no leaving date that has been reached (someone terminated because a
 *   full export no longer lists them): counted from the instant Tenure terminated them (`stateSince`).
 */
export interface Retention {
  basis: "hr-date" | "observed";
  /** The HR leaving date (YYYY-MM-DD), or the instant of the observed termination (ISO-8601). */
  from: string;
  /** The day deletion is due (YYYY-MM-DD) for `hr-date`; the instant (ISO-8601) for `observed`; null when `from` is unreadable. */
  deleteAt: string | null;
}

/** The retention of `identity` (read as terminated) on `today`, with `deleteAfterDays` of retention. */
export function retentionOf(identity: Identity, deleteAfterDays: number, today: IsoDate): Retention {
  const leaving = leavingDate(identity.attributes);
  if (leaving !== null && leaving.date <= today) {
    return { basis: "hr-date", from: leaving.date, deleteAt: addDays(leaving.date, deleteAfterDays) };
  }
  const at = Date.parse(identity.stateSince) + deleteAfterDays * DAY_MS;
  return {
    basis: "observed",
    from: identity.stateSince,
    deleteAt: Number.isNaN(at) ? null : new Date(at).toISOString(),
  };
}

/** Whether the retention has ended at `now` (`today` in the source's time zone). Unreadable: never, the safe side. */
export function retentionEnded(retention: Retention, now: Date, today: IsoDate): boolean {
  if (retention.deleteAt === null) return false;
  return retention.basis === "hr-date"
    ? today >= retention.deleteAt
    : now.getTime() >= Date.parse(retention.deleteAt);
}

/** The day retention counts from, for notes and reasons: the HR date, or the date of the observed instant. */
export function retentionStartDay(retention: Retention): string {
  return retention.from.slice(0, 10);
}
