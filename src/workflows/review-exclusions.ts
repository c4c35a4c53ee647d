import { appendEvents } from "../audit/ledger.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { type ReviewExclusion, reviewExclusionRepository } from "../store/review-exclusion-repository.js";
import { type ProvisionedNow, provisionNow } from "./provision-now.js";

/**
 * Exclusions recorded by review revocations (birthright access a reviewer refused), listed for admins
 * and auditors, and lifted when the refusal was a mistake: the plan may then give the access again,
 * and does at once. Lifting is an audit event naming who lifted it and why.
 */

export const MAX_LIFT_REASON = 2_000;

export interface ExclusionView extends ReviewExclusion {
  holder: string;
  access: string;
}

function accessOf(e: ReviewExclusion): string {
  return "role" in e.target ? `role ${e.target.role}` : `${e.target.system}:${e.target.entitlement}`;
}

/** Exclusions in force (not lifted), of one identity or all, oldest first. */
export async function listExclusions(
  store: Pick<Store, "db">,
  filter: { identityId?: string } = {},
): Promise<ExclusionView[]> {
  const list = await reviewExclusionRepository.active(
    store.db,
    filter.identityId === undefined ? undefined : [filter.identityId],
  );
  const people = await identityRepository.findByIds(store.db, [...new Set(list.map((e) => e.identityId))]);
  return list.map((e) => ({
    ...e,
    holder: people.get(e.identityId)?.attributes.displayName ?? e.identityId,
    access: accessOf(e),
  }));
}

/**
 * Lifts an exclusion in force, with a reason, and provisions its holder so the access policy gives is
 * granted again. Refused (nothing changed) without a reason; NotFound for an unknown or lifted one.
 */
export async function liftExclusion(
  store: Store,
  config: TenureConfig,
  input: { id: string; reason: string },
  options: { now: Date; actor: string },
): Promise<{ exclusion: ExclusionView; provisioned: ProvisionedNow }> {
  const reason = input.reason.trim();
  if (reason === "" || reason.length > MAX_LIFT_REASON) {
    throw new TenureError(
      "reason_required",
      reason === ""
        ? "say why the exclusion is lifted (the reviewer's revocation is overruled); nothing was changed"
        : `the reason has more than ${MAX_LIFT_REASON} characters; nothing was changed`,
      { httpStatus: 422 },
    );
  }
  const [exclusion] = (await listExclusions(store)).filter((e) => e.id === input.id);
  if (exclusion === undefined) throw new NotFoundError(`no exclusion in force has the id "${input.id}"`);
  const at = options.now.toISOString();
  await store.db.transaction().execute(async (trx) => {
    if (!(await reviewExclusionRepository.lift(trx, exclusion.id, at, options.actor))) {
      throw new NotFoundError(`exclusion ${exclusion.id} was lifted meanwhile`);
    }
    await appendEvents(trx, [
      {
        time: at,
        actor: options.actor,
        action: "review.exclusion_lifted",
        subject: `identity:${exclusion.identityId}`,
        details: {
          exclusion: exclusion.id,
          access: exclusion.access,
          item: exclusion.itemId,
          campaign: exclusion.campaignId,
          reason,
        },
      },
    ]);
  });
  const provisioned = await provisionNow(
    store,
    config,
    [exclusion.identityId],
    options,
    `exclusion ${exclusion.id} lifted`,
  );
  return { exclusion: { ...exclusion, liftedAt: at, liftedBy: options.actor }, provisioned };
}
