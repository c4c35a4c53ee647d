import type { DesiredAccess, Lineage } from "./access-types.js";

/**
 * What the plan reads of dormant accounts (domain/dormant.ts): an account disabled by a dormant policy
 * stays disabled, whatever roles want, until its hold is cleared. Kept apart from the dormant rules so
 * the planner depends on this alone.
 */

/** An account Tenure holds disabled for its identity: what the plan reads (see {@link holdDormant}). */
export interface DormantHold {
  identityId: string;
  system: string;
  lastUsedAt: string | null;
  disabledAt: string;
}

/** Why a dormant account is (held) disabled, as plan, explain and the audit show it. */
export function dormantLineage(hold: Pick<DormantHold, "system" | "lastUsedAt" | "disabledAt">): Lineage {
  const since = hold.lastUsedAt === null ? "never used" : `unused since ${hold.lastUsedAt.slice(0, 10)}`;
  return {
    kind: "lifecycle",
    policy: `reviews.dormant.${hold.system}`,
    note: `${since}: disabled on ${hold.disabledAt.slice(0, 10)} by reviews.dormant.${hold.system} until used or released`,
  };
}

/**
 * Keeps held dormant accounts disabled: every system of `desired` where its identity has a hold and
 * policy wants the account enabled is wanted disabled instead, with the hold's lineage. The rest of the
 * system's desired access (entitlements, attributes) stays. Replaces entries of `desired.systems` in
 * place (the plan owns the object it computed); other identities' holds are ignored.
 */
export function holdDormant(desired: DesiredAccess, holds: readonly DormantHold[] | undefined): void {
  if (holds === undefined) return;
  for (const hold of holds) {
    if (hold.identityId !== desired.identityId || !Object.hasOwn(desired.systems, hold.system)) continue;
    const wanted = desired.systems[hold.system]!;
    if (wanted.presence !== "enabled") continue;
    desired.systems[hold.system] = {
      ...wanted,
      presence: "disabled",
      presenceLineage: [dormantLineage(hold)],
    };
  }
}
