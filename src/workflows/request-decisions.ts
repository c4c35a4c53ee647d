import { appendEvents } from "../audit/ledger.js";
import { transitionRequest } from "../domain/request-machine.js";
import type {
  AccessRequest,
  RequestEvent,
  RequestRefusal,
  RequestTransition,
} from "../domain/request-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import type { Store } from "../store/database.js";
import type { Db } from "../store/schema-types.js";

const REFUSAL_STATUS: Record<RequestRefusal["code"], number> = {
  self_approval: 403,
  not_an_approver: 403,
  not_yours: 403,
  request_closed: 409,
  request_expired: 409,
  already_decided: 409,
  no_change: 409,
};

/** A decision the request state machine refused: its code and why; nothing was written. */
export class RequestRefusedError extends TenureError {
  constructor(refusal: RequestRefusal) {
    super(refusal.code, `${refusal.message}; nothing was changed`, {
      httpStatus: REFUSAL_STATUS[refusal.code],
    });
  }
}

/** How often a decision is tried again after another writer changed the request first. */
const RETRIES = 3;

/**
 * Applies `event` to request `id`: loads it, lets the state machine decide (domain/request-machine.ts),
 * and writes the new request with its audit event in one transaction, if nobody changed the request in
 * between (version check). A writer that lost decides again against what the winner wrote — so of two
 * approvers of a one-approval step at the same moment, one approves and the other is told the request
 * is closed. Effects (grants, notifications) are returned for the caller.
 * @throws NotFoundError; RequestRefusedError (403 / 409) with the machine's reason, nothing written.
 */
export async function decideRequest(
  store: Pick<Store, "db">,
  id: string,
  event: RequestEvent,
  options: { now: Date; actor: string },
  /** Runs in the decision's transaction once the change is written: its effects (grants, messages). */
  within?: (trx: Db, transition: RequestTransition) => Promise<void>,
): Promise<RequestTransition> {
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const outcome = await store.db.transaction().execute(async (trx) => {
      const current = await accessRequestRepository.find(trx, id);
      if (current === undefined) throw new NotFoundError(`no access request has the id "${id}"`);
      const transition = transitionRequest(current, event, options.now);
      if (transition.refused) throw new RequestRefusedError(transition);
      if (!(await accessRequestRepository.update(trx, transition.request))) return null;
      await appendEvents(trx, [
        {
          time: options.now.toISOString(),
          actor: options.actor,
          action: transition.action,
          subject: `request:${id}`,
          details: {
            beneficiary: current.beneficiaryId,
            state: transition.request.state,
            step: current.currentStep,
            event: event.kind,
            ...("by" in event ? { by: event.by } : {}),
            ...("onBehalfOf" in event && event.onBehalfOf ? { onBehalfOf: event.onBehalfOf } : {}),
            version: transition.request.version,
          },
        },
      ]);
      await within?.(trx, transition);
      return transition;
    });
    if (outcome !== null) return outcome;
  }
  throw new TenureError(
    "request_busy",
    `access request ${id} kept changing while it was decided; try again`,
    {
      httpStatus: 409,
    },
  );
}

/** Closes every pending request whose time ran out by `now` (audited `request.expired`); returns them. */
export async function expireRequests(
  store: Pick<Store, "db">,
  now: Date,
  actor: string,
  within?: (trx: Db, transition: RequestTransition) => Promise<void>,
): Promise<AccessRequest[]> {
  const due = await accessRequestRepository.pendingExpiredBy(store.db, now.toISOString(), 500);
  const expired: AccessRequest[] = [];
  for (const r of due) {
    try {
      expired.push((await decideRequest(store, r.id, { kind: "expire" }, { now, actor }, within)).request);
    } catch (err) {
      // Decided by someone else in the meantime: nothing to expire.
      if (!(err instanceof RequestRefusedError)) throw err;
    }
  }
  return expired;
}
