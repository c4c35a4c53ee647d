import { appendEvents } from "../audit/ledger.js";
import type { NonHumanIdentity } from "../domain/nhi-types.js";
import { exceedsMassChangeThreshold, guardMassChange, planHashOf } from "../engine/mass-change.js";
import type { TenureConfig } from "../policy/config-types.js";
import { MassChangeError } from "../shared/errors.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Store } from "../store/store-types.js";

/**
 * Mass-change protection for NHI disables (docs/nhi.md "Mass-change protection"), the one gate both kinds
 * of NHI disable pass:
 * - `succession`: owner succession disables NHIs whose deadline passed or whose owner left with nobody to
 *   pass to (workflows/nhi-succession.ts) — a leaver who owned hundreds of service accounts;
 * - `removal`: the inventory sync disables NHIs no longer declared (workflows/nhi-inventory.ts) — the
 *   `inventoryFiles` line deleted from tenure.yaml, or a truncated inventory file.
 *
 * Each kind has its own plan hash: the idempotency keys of its disables carry the kind (`nhi-disable:` or
 * `nhi-remove:`), the NHI id and the version it would be disabled at, so a hash names exactly one set of
 * disables of one kind and `--confirm-mass-change HASH` is never ambiguous (nhiConfirmationFor decides which
 * gate a hash is for). The population is the live NHIs; the threshold is `lifecycle.massChangeThreshold`.
 */

export type NhiDisableKind = "succession" | "removal";

const RUN: Record<NhiDisableKind, string> = {
  succession: "NHI owner succession",
  removal: "NHI inventory sync",
};
const KEY: Record<NhiDisableKind, string> = { succession: "nhi-disable", removal: "nhi-remove" };

/** How an admin confirms a held NHI plan, whichever kind. */
const confirmWith = (h: string) => `tenure nhi sync --confirm-mass-change ${h}`;

/** The plan hash of the `kind` disables of `due`: any change to the set (or a version) gives another. Pure. */
export function nhiDisablePlanHash(
  kind: NhiDisableKind,
  due: readonly Pick<NonHumanIdentity, "id" | "version">[],
): string {
  return planHashOf({
    sources: [],
    operations: due.map((n) => ({ idempotencyKey: `${KEY[kind]}:${n.id}:${n.version}` })),
  });
}

export interface NhiGateOptions {
  now: Date;
  actor: string;
  /** The plan hash an admin confirmed for this gate (undefined: not confirmed). */
  confirm?: string | undefined;
}

/**
 * The gate: when `due` (the NHIs the run would disable now, at the version read) is more than the threshold
 * allows of the live NHIs, none of them may be disabled — the stop is recorded and alerted once by
 * guardMassChange (`mass-change.stopped`, run `NHI owner succession` or `NHI inventory sync`) and returned
 * as the run's to report; the rest of the run goes ahead. A confirmation of exactly this plan lets them
 * through, audited (`nhi.mass_change_confirmed`). Null: the disables may go ahead.
 * @throws PlanChangedError when `options.confirm` is not this plan's hash (the caller has written nothing).
 */
export async function nhiMassDisableGate(
  store: Store,
  config: TenureConfig,
  kind: NhiDisableKind,
  due: readonly NonHumanIdentity[],
  options: NhiGateOptions,
): Promise<MassChangeError | null> {
  if (due.length === 0 && options.confirm === undefined) return null;
  const population = await nhiRepository.countLive(store.db);
  const planHash = nhiDisablePlanHash(kind, due);
  const exceeded = exceedsMassChangeThreshold(due.length, population, config.lifecycle.massChangeThreshold)
    ? [{ kind: "system" as const, name: "nhi", disable: due.length, delete: 0, total: population }]
    : [];
  try {
    const confirmed = await guardMassChange(store, config, {
      run: RUN[kind],
      actor: options.actor,
      now: options.now,
      planHash,
      exceeded,
      confirm: options.confirm,
      confirmWith,
    });
    if (confirmed) {
      await store.db.transaction().execute((trx) =>
        appendEvents(trx, [
          {
            time: options.now.toISOString(),
            actor: options.actor,
            action: "nhi.mass_change_confirmed",
            subject: `plan:${planHash}`,
            details: {
              run: RUN[kind],
              disable: due.length,
              total: population,
              confirmedBy: options.actor,
              planHash,
            },
          },
        ]),
      );
    }
    return null;
  } catch (err) {
    if (err instanceof MassChangeError) return err;
    throw err;
  }
}
