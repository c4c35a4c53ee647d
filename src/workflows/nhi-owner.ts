import { appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { coOwnersOf, type NonHumanIdentity } from "../domain/nhi-types.js";
import { connectorPool } from "../engine/connector-pool.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Store } from "../store/store-types.js";
import {
  applyNhiAccountOperations,
  type NhiAccountOutcome,
  settleNhiAccountIn,
  systemFactsFrom,
} from "./nhi-disable.js";
import { nhiIdentity } from "./nhi-identity.js";

/**
 * An owner assigned to a non-human identity by hand (issue 17, item 8: `tenure nhi assign-owner`,
 * `POST /api/nhi/{name}/owner`, the console). The owner and each co-owner must be an active person;
 * anything else is refused (TenureError `nhi_owner_refused`, HTTP 422) and nothing changes.
 *
 * The assignment is stored beside what the inventory declares (docs/nhi.md "Assigning an owner"): it is
 * in force until the inventory's `owner` or `coOwners` of that NHI change, when the file wins again; an
 * unchanged file on the next sync leaves it alone. Assigning clears a pending succession and a "no owner"
 * state, and enables an NHI succession disabled, as naming a new owner in the inventory does.
 *
 * One transaction writes the NHI (optimistic version check: a concurrent change makes this a 409), its
 * identity's `managerId` (so reviews go to the new owner), the audit event `nhi.owner_assigned` with the
 * previous and new owners, and the `nhi.owner-assigned` notification to the new owner — and, for an NHI
 * that was disabled (its account held disabled in its target, workflows/nhi-disable.ts), the hold's
 * release with the account's enable queued as a durable operation. That operation is applied right after
 * the commit, so the credential works again at once, not at the next `nhi` job; a failure to apply is the
 * operation's (retried with backoff, alerted), never the assignment's.
 */

export interface NhiOwnerAssignmentInput {
  /** The new owner: an identity's id, HR key or email. */
  owner: string;
  /** Co-owners, the same way; none when empty. */
  coOwners?: readonly string[];
}

export interface NhiOwnerAssignmentResult {
  name: string;
  /** The new owner's and co-owners' HR keys. */
  owner: string;
  coOwners: string[];
  /** The owner before, by HR key (null: none), and the co-owners before. */
  previousOwner: string | null;
  previousCoOwners: string[];
  /** False when the NHI already had exactly these owners: nothing was written. */
  changed: boolean;
  /** What became of the NHI's account in its target (an enable queued and applied, a hold released). */
  accounts: NhiAccountOutcome[];
}

export interface NhiOwnerOptions {
  now: Date;
  /** Who assigns, for the ledger (`cli:alice`, `token:ops`, `session:…`). */
  actor: string;
}

function refused(message: string): TenureError {
  return new TenureError("nhi_owner_refused", `${message}; nothing was changed`, { httpStatus: 422 });
}

/** The active person `ref` names, or a refusal saying what it is instead. */
async function activePerson(store: Store, ref: string, role: string): Promise<Identity> {
  const found = await identityRepository.resolve(store.db, ref);
  if (found === undefined) throw refused(`${role} ${ref} is not an identity Tenure knows`);
  if (found.kind !== "human") {
    throw refused(`${role} ${ref} is a non-human identity: an owner must be a person`);
  }
  if (found.state !== "active") {
    throw refused(`${role} ${ref} (${found.sourceKey}) is ${found.state}: an owner must be an active person`);
  }
  return found;
}

export async function assignNhiOwner(
  store: Store,
  config: TenureConfig,
  nameOrId: string,
  input: NhiOwnerAssignmentInput,
  options: NhiOwnerOptions,
): Promise<NhiOwnerAssignmentResult> {
  const { db } = store;
  const nhi = (await nhiRepository.findByName(db, nameOrId)) ?? (await nhiRepository.findById(db, nameOrId));
  if (nhi === undefined || nhi.removedAt !== null) {
    throw new NotFoundError(`no non-human identity named ${nameOrId}`);
  }
  const owner = await activePerson(store, input.owner, "owner");
  const coOwners: Identity[] = [];
  for (const ref of input.coOwners ?? []) {
    const person = await activePerson(store, ref, "co-owner");
    if (person.id === owner.id) throw refused(`${ref} is the owner: a co-owner must be someone else`);
    if (!coOwners.some((c) => c.id === person.id)) coOwners.push(person);
  }
  const coOwnerKeys = coOwners.map((c) => c.sourceKey);

  const previous = nhi.ownerId === null ? undefined : await identityRepository.findById(db, nhi.ownerId);
  const previousOwner = previous?.sourceKey ?? nhi.ownerId;
  const previousCoOwners = [...coOwnersOf(nhi)];
  const result: NhiOwnerAssignmentResult = {
    name: nhi.name,
    owner: owner.sourceKey,
    coOwners: coOwnerKeys,
    previousOwner,
    previousCoOwners,
    changed: true,
    accounts: [],
  };
  const settled =
    nhi.ownerId === owner.id &&
    nhi.pendingOwnerId === null &&
    nhi.disabledAt === null &&
    nhi.ownerlessReason === null &&
    JSON.stringify(previousCoOwners) === JSON.stringify(coOwnerKeys);
  if (settled) return { ...result, changed: false };

  const at = options.now.toISOString();
  const next: NonHumanIdentity = {
    ...nhi,
    ownerId: owner.id,
    ownerSince: at,
    ownerAssignment: { at, by: options.actor, coOwnerKeys },
    pendingOwnerId: null,
    pendingSince: null,
    pendingDeadline: null,
    ownerlessReason: null,
    disabledReason: null,
    disabledAt: null,
    updatedAt: at,
    version: nhi.version + 1,
  };
  const pool = connectorPool(config);
  try {
    const accountDeps = { config, systemFacts: systemFactsFrom(config, pool) };
    const written = await db.transaction().execute(async (trx) => {
      if (!(await nhiRepository.update(trx, next))) return false;
      const identity = await identityRepository.findById(trx, nhi.id);
      const updated = nhiIdentity(next, owner.sourceKey, identity, options.now);
      if (updated !== identity) await identityRepository.upsertMany(trx, [updated]);
      await appendEvents(trx, [
        {
          time: at,
          actor: options.actor,
          action: "nhi.owner_assigned",
          subject: nhi.id,
          details: {
            name: nhi.name,
            previous: { owner: previousOwner, coOwners: previousCoOwners },
            owner: owner.sourceKey,
            coOwners: coOwnerKeys,
            // What the assignment set aside: a pending successor, a disabled NHI, the inventory's owner.
            ...(nhi.pendingOwnerId === null ? {} : { pendingCleared: nhi.pendingOwnerId }),
            ...(nhi.disabledAt === null ? {} : { enabled: true }),
            inventoryOwner: nhi.ownerKey,
          },
        },
      ]);
      await enqueueNotifications(
        trx,
        {
          name: "nhi.owner-assigned",
          data: {
            nhiId: nhi.id,
            name: nhi.name,
            type: nhi.type,
            to: owner.attributes.email,
            owner: owner.attributes.displayName || owner.sourceKey,
            previousOwner:
              previous === undefined
                ? (previousOwner ?? "(nobody)")
                : previous.attributes.displayName || previous.sourceKey,
            by: options.actor,
          },
        },
        config,
        options.now,
      );
      // An NHI enabled again: its account's hold released and its enable queued, with the assignment.
      const settled = await settleNhiAccountIn(trx, next, accountDeps, options);
      if (settled !== null) result.accounts.push(settled);
      return true;
    });
    if (!written) {
      throw new TenureError(
        "nhi_conflict",
        `${nhi.name} changed while its owner was being assigned: try again`,
        {
          httpStatus: 409,
        },
      );
    }
    await applyNhiAccountOperations(store, config, pool, result.accounts, options);
  } finally {
    await pool.closeAll();
  }
  return result;
}
