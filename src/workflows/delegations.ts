import { randomUUID } from "node:crypto";
import { appendEvents } from "../audit/ledger.js";
import type { AccessRequest } from "../domain/request-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import type { Store } from "../store/database.js";
import { type Delegation, delegationRepository } from "../store/delegation-repository.js";
import { identityRepository } from "../store/identity-repository.js";

/** The longest a delegation lasts: an absence, not a standing arrangement. */
const MAX_DELEGATION_MS = 90 * 86_400_000;

/**
 * `delegator` hands their approval decisions to `delegate` from `from` until `until` (while away). The
 * delegate decides as the delegator's stand-in (recorded as both); a delegation never lets anyone
 * decide their own request — the state machine refuses a party acting for an approver, or an approver's
 * stand-in who is a party. Audited `delegation.created`.
 * @throws TenureError (422) for a delegation to oneself, to someone who has left, an empty or too long window.
 */
export async function createDelegation(
  store: Store,
  input: { delegatorId: string; delegateId: string; from: Date; until: Date },
  options: { now: Date; actor: string },
): Promise<Delegation> {
  const refuse = (code: string, message: string): never => {
    throw new TenureError(code, `${message}; nothing was changed`, { httpStatus: 422 });
  };
  if (input.delegatorId === input.delegateId)
    refuse("self_delegation", "a person cannot delegate to themselves");
  const delegate = await identityRepository.findById(store.db, input.delegateId);
  if (delegate === undefined) throw new NotFoundError(`no identity has the id "${input.delegateId}"`);
  if (delegate.state !== "active")
    refuse("delegate_not_active", `${delegate.attributes.displayName} is ${delegate.state}`);
  if (!(input.until.getTime() > input.from.getTime()))
    refuse("invalid_window", "the delegation must end after it starts");
  if (input.until.getTime() <= options.now.getTime())
    refuse("invalid_window", "the delegation must end in the future");
  if (input.until.getTime() - input.from.getTime() > MAX_DELEGATION_MS) {
    refuse("invalid_window", "a delegation lasts at most 90 days");
  }
  const delegation: Delegation = {
    id: randomUUID(),
    delegatorId: input.delegatorId,
    delegateId: input.delegateId,
    validFrom: input.from.toISOString(),
    validUntil: input.until.toISOString(),
    createdAt: options.now.toISOString(),
    createdBy: options.actor,
    revokedAt: null,
  };
  await store.db.transaction().execute(async (trx) => {
    await delegationRepository.insert(trx, delegation);
    await appendEvents(trx, [
      {
        time: options.now.toISOString(),
        actor: options.actor,
        action: "delegation.created",
        subject: `identity:${delegation.delegatorId}`,
        details: {
          delegation: delegation.id,
          delegate: delegation.delegateId,
          from: delegation.validFrom,
          until: delegation.validUntil,
        },
      },
    ]);
  });
  return delegation;
}

/**
 * The approver `by` stands in for on `request`'s waiting step: null when `by` is an approver of it
 * themself (or no delegation applies); else the first approver of the step who delegated to `by` now.
 */
export async function standingInFor(
  store: Pick<Store, "db">,
  request: AccessRequest,
  by: string,
  now: Date,
): Promise<string | null> {
  const step = request.steps[request.currentStep];
  if (step === undefined || step.approvers.includes(by)) return null;
  const delegators = await delegationRepository.delegatorsOf(store.db, by, now.toISOString());
  return step.approvers.find((a) => delegators.includes(a)) ?? null;
}

/** The pending requests waiting for `identityId`: their own, and those of the people they stand in for now. */
export async function waitingFor(
  store: Pick<Store, "db">,
  identityId: string,
  now: Date,
  options: { limit: number; after?: string },
): Promise<AccessRequest[]> {
  const people = [
    identityId,
    ...(await delegationRepository.delegatorsOf(store.db, identityId, now.toISOString())),
  ];
  const found = new Map<string, AccessRequest>();
  for (const person of people) {
    for (const r of await accessRequestRepository.pendingFor(store.db, person, options)) found.set(r.id, r);
  }
  return [...found.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, options.limit);
}
