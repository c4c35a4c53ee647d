import type { Identity, LifecycleState, WorkerAttributes } from "../domain/identity-types.js";
import { NHI_SOURCE, type NonHumanIdentity } from "../domain/nhi-types.js";

/**
 * The `kind: service` identity of an NHI, as the inventory and succession keep it. Its attributes give
 * birthright rules and correlation nothing to match (no employee id, names or email: every such value is
 * empty); `managerId` is the owner's source key, which is how reviews find an NHI's owner; `status` follows
 * the state so that date-driven lifecycle code reading the attributes agrees with it.
 */

/** The lifecycle state of an NHI's identity: removed → terminated, disabled → suspended, else active. */
export function nhiState(nhi: Pick<NonHumanIdentity, "removedAt" | "disabledAt">): LifecycleState {
  if (nhi.removedAt !== null) return "terminated";
  if (nhi.disabledAt !== null) return "suspended";
  return "active";
}

/**
 * The identity of `nhi`, new or updated from `existing`. `ownerKey` is the owner's source key (its
 * `managerId`); null when it has none.
 */
export function nhiIdentity(
  nhi: NonHumanIdentity,
  ownerKey: string | null,
  existing: Identity | undefined,
  now: Date,
): Identity {
  const at = now.toISOString();
  const state = nhiState(nhi);
  const attributes: WorkerAttributes = {
    employeeId: "",
    givenName: "",
    familyName: "",
    displayName: nhi.name,
    email: null,
    department: null,
    title: null,
    location: null,
    costCenter: null,
    managerId: ownerKey,
    employmentType: "employee",
    status: state === "active" ? "active" : state === "suspended" ? "leave" : "terminated",
    startDate: null,
    endDate: null,
    terminationDate: state === "terminated" ? (nhi.removedAt ?? at).slice(0, 10) : null,
  };
  if (existing === undefined) {
    return {
      id: nhi.id,
      kind: "service",
      source: NHI_SOURCE,
      sourceKey: nhi.name,
      state,
      attributes,
      employment: 1,
      stateSince: at,
      createdAt: at,
      updatedAt: at,
      lastRecordId: null,
      previousAttributes: null,
      attributesChangedAt: null,
    };
  }
  const changed = JSON.stringify(existing.attributes) !== JSON.stringify(attributes);
  if (!changed && existing.state === state) return existing;
  return {
    ...existing,
    state,
    stateSince: existing.state === state ? existing.stateSince : at,
    attributes,
    updatedAt: at,
    previousAttributes: changed ? existing.attributes : existing.previousAttributes,
    attributesChangedAt: changed ? at : existing.attributesChangedAt,
  };
}
