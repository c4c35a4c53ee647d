import type { NhiAccountHold } from "../domain/nhi-account.js";
import type { NhiFinding } from "../domain/nhi-findings.js";
import { type NhiHoldFinding, nhiHoldFinding } from "../domain/nhi-hold-finding.js";
import { nhiAccountHoldRepository } from "../store/nhi-account-hold-repository.js";
import type { Store } from "../store/store-types.js";
import type { NhiView } from "./nhi-view.js";

/**
 * NHI views (workflows/nhi-view.ts) with what Tenure did about each disabled NHI's account in its target:
 * the hold (`nhi_account_holds`) and, where the disable cannot be enforced, its finding among the others —
 * for `tenure nhi list|show`, `GET /api/nhi` and `GET /api/nhi/{name}`. One read of the holds, however many
 * views (the holds are few: one per disabled NHI).
 */
export interface NhiHeldView extends Omit<NhiView, "findings"> {
  /** The account held disabled (or found impossible to disable); null when none is. */
  accountHold: NhiAccountHold | null;
  findings: Array<NhiFinding | NhiHoldFinding>;
}

export async function withAccountHolds(
  store: Pick<Store, "db">,
  views: readonly NhiView[],
): Promise<NhiHeldView[]> {
  if (views.length === 0) return [];
  const holds =
    views.length === 1
      ? [await nhiAccountHoldRepository.find(store.db, views[0]!.id)].filter(
          (h): h is NhiAccountHold => h !== undefined,
        )
      : await nhiAccountHoldRepository.list(store.db);
  const byNhi = new Map(holds.map((h) => [h.nhiId, h]));
  return views.map((v) => {
    const hold = byNhi.get(v.id) ?? null;
    const finding = nhiHoldFinding(v.name, hold);
    return { ...v, accountHold: hold, findings: finding === null ? v.findings : [finding, ...v.findings] };
  });
}
