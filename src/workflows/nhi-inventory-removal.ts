import type { NonHumanIdentity } from "../domain/nhi-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { type MassChangeError, PlanChangedError } from "../shared/errors.js";
import type { Store } from "../store/store-types.js";
import { bump, type OwnerResolver } from "./nhi-inventory-diff.js";
import { type NhiChange, REMOVED_REASON } from "./nhi-inventory-write.js";
import { nhiDisablePlanHash, nhiMassDisableGate } from "./nhi-mass-change.js";
import { successionDisablePlanHash } from "./nhi-succession.js";

/**
 * The inventory sync's removals (workflows/nhi-inventory.ts): NHIs no longer declared are marked removed
 * and disabled, behind mass-change protection (workflows/nhi-mass-change.ts) — an emptied or truncated
 * inventory must not switch every credential off at once.
 */

export interface RemovalGateOptions {
  now: Date;
  actor: string;
  /** The plan hash an admin confirmed: this sync's removals, or owner succession's disables. */
  confirmMassChange?: string | undefined;
}

/**
 * The removal disables at the mass-change gate. `nhi sync` takes one confirmed hash for two gates, told
 * apart by the plan each would make now: this sync's removals, or owner succession's disables (which runs
 * after the sync and checks the hash itself). A hash that is neither is refused here, before the sync
 * writes or records anything.
 * @throws PlanChangedError for a hash that is the plan of neither gate.
 */
export async function removalGate(
  store: Store,
  config: TenureConfig,
  due: readonly NonHumanIdentity[],
  options: RemovalGateOptions,
): Promise<{ stopped: MassChangeError | null; confirmed: boolean }> {
  const confirm = options.confirmMassChange;
  const mine = nhiDisablePlanHash("removal", due);
  if (confirm !== undefined && confirm !== mine) {
    const succession = await successionDisablePlanHash(store, config, options.now);
    if (confirm !== succession) {
      const now = due.length > 0 || succession === null ? mine : succession;
      throw new PlanChangedError(
        `NHI sync: the plan changed since it was shown: confirmed ${confirm}, but it is neither the plan of the ` +
          `removals from the inventory (${mine}) nor that of owner succession's disables ` +
          `(${succession ?? "none: no nhi.policy"}); nothing was changed. Look at what the run would do now ` +
          `and, if it is intended, confirm that plan: tenure nhi sync --confirm-mass-change ${now}`,
        confirm,
        now,
      );
    }
  }
  const confirmed = confirm !== undefined && confirm === mine;
  const stopped = await nhiMassDisableGate(store, config, "removal", due, {
    now: options.now,
    actor: options.actor,
    confirm: confirmed ? confirm : undefined,
  });
  return { stopped, confirmed };
}

/**
 * The changes that remove `gone` (live NHIs no longer declared): each kept, marked removed, and disabled —
 * its credential switched off like any disabled NHI's, its owner told. When the gate `stopped` the
 * disables, an NHI they would disable is left exactly as it was (live, enabled) until the plan is confirmed.
 */
export function removalChanges(
  gone: readonly NonHumanIdentity[],
  stopped: boolean,
  owners: OwnerResolver,
  now: Date,
): Omit<NhiChange, "ownerKey">[] {
  const out: Omit<NhiChange, "ownerKey">[] = [];
  const at = now.toISOString();
  for (const nhi of gone) {
    const disables = nhi.disabledAt === null;
    if (disables && stopped) continue;
    const after = bump(
      {
        ...nhi,
        removedAt: at,
        pendingOwnerId: null,
        pendingSince: null,
        pendingDeadline: null,
        ...(disables ? { disabledAt: at, disabledReason: REMOVED_REASON } : {}),
      },
      now,
    );
    out.push({
      kind: "removed",
      before: nhi,
      after,
      settleAccount: disables,
      ...(disables
        ? {
            notification: {
              name: "nhi.removed",
              data: {
                nhiId: nhi.id,
                name: nhi.name,
                type: nhi.type,
                to: (nhi.ownerId === null ? undefined : owners(nhi.ownerId))?.attributes.email ?? null,
                outcome: "disabled",
                reason: REMOVED_REASON,
                removedAt: at,
              },
            } as const,
          }
        : {}),
      events: [
        {
          action: "nhi.removed",
          details: { name: nhi.name, reason: "no longer declared in the NHI inventory", origin: nhi.origin },
        },
        ...(disables
          ? [
              {
                action: "nhi.disabled",
                details: { name: nhi.name, reason: REMOVED_REASON, previous: nhi.ownerId },
              },
            ]
          : []),
      ],
    });
  }
  return out;
}
