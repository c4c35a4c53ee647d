import type { Assignment } from "./access-types.js";
import type { AssignmentStatus } from "./desired-state-types.js";
import type { Identity } from "./identity-types.js";

/** Whether `assignment` counts for `identity` at `nowMs` (target existence aside). */
export function assignmentStatus(
  assignment: Assignment,
  identity: Identity,
  nowMs: number,
): AssignmentStatus {
  if (assignment.identityId !== identity.id) return "other-identity";
  // An earlier employment's access is never resurrected by a rehire.
  if (assignment.employment !== identity.employment) return "earlier-employment";
  if (assignment.revokedAt !== null && !(Date.parse(assignment.revokedAt) > nowMs)) return "revoked";
  if (!(Date.parse(assignment.validFrom) <= nowMs)) return "not-yet-valid";
  if (assignment.validUntil !== null && !(nowMs < Date.parse(assignment.validUntil))) return "expired";
  return "active";
}

/** `role db-admin` / `db:readers`: an assignment's (or a request item's) target in words. */
export function describeAssignmentTarget(target: Assignment["target"]): string {
  return "role" in target ? `role ${target.role}` : `${target.system}:${target.entitlement}`;
}
