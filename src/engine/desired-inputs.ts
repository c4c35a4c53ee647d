import type { AccessExclusion, Assignment } from "../domain/access-types.js";
import type { DormantHold } from "../domain/dormant-hold.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { dormantRepository } from "../store/dormant-repository.js";
import { reviewExclusionRepository } from "../store/review-exclusion-repository.js";
import type { Db } from "../store/schema-types.js";

/**
 * What desired state reads from the store besides the identities themselves, loaded in one place so
 * the plan, a push's plan of a few people, `explain` and an assignment's end all see the same inputs.
 */
export interface DesiredInputs {
  /** Every assignment of the identities, in force or not (the calculator decides). */
  assignments: Assignment[];
  /** Review exclusions not lifted (every employment: the calculator keeps the current one's). */
  exclusions: AccessExclusion[];
  /** Accounts held disabled by a dormant policy (reviews.dormant): the plan never enables them. */
  dormant: DormantHold[];
}

/** The desired-state inputs of `identityIds`, or of everyone when absent. Reads only. */
export async function loadDesiredInputs(db: Db, identityIds?: readonly string[]): Promise<DesiredInputs> {
  const [assignments, exclusions, dormant] = await Promise.all([
    assignmentRepository.list(db, identityIds === undefined ? {} : { identityIds }),
    reviewExclusionRepository.active(db, identityIds),
    dormantRepository.holds(db, identityIds),
  ]);
  return { assignments, exclusions, dormant };
}
