import { DEFAULT_REQUEST_SETTINGS } from "../domain/request-policy.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { askApprover } from "./request-effects.js";

/**
 * Reminds the approvers of a step still waiting `requests.remindAfter` after the request was submitted
 * (once a day at most: the reminder's dedupe key holds the hour), and, past `requests.escalateAfter`,
 * asks each approver's manager too. Returns how many asks were queued.
 */
export async function remindApprovers(store: Store, config: TenureConfig, now: Date): Promise<number> {
  const settings = config.requests ?? { ...DEFAULT_REQUEST_SETTINGS, workflows: {} };
  if (settings.remindAfterMs === null || config.notify === undefined) return 0;
  const waiting = await accessRequestRepository.pendingSubmittedBefore(
    store.db,
    new Date(now.getTime() - settings.remindAfterMs).toISOString(),
    500,
  );
  let asks = 0;
  for (const request of waiting) {
    const step = request.steps[request.currentStep];
    if (step === undefined) continue;
    // One reminder per day of waiting: the days since submission, counted from remindAfter.
    const waitedMs = now.getTime() - Date.parse(request.submittedAt);
    const day = Math.floor((waitedMs - settings.remindAfterMs) / 86_400_000);
    if ((waitedMs - settings.remindAfterMs) % 86_400_000 > 3_600_000 && day > 0) continue;
    const people = await identityRepository.findByIds(store.db, [
      ...step.approvers,
      request.requesterId,
      request.beneficiaryId,
    ]);
    const nameOf = (id: string) => people.get(id)?.attributes.displayName ?? id;
    const label = `${request.currentStep + 1} of ${request.steps.length} (${step.name})`;
    const escalate = settings.escalateAfterMs !== null && waitedMs >= settings.escalateAfterMs;
    await store.db.transaction().execute(async (trx) => {
      for (const id of step.approvers) {
        await askApprover(trx, config, request, people.get(id), nameOf, label, "reminder", now);
        asks++;
      }
    });
    if (!escalate) continue;
    // The approvers' managers are told (they can nudge); deciding stays with the step's approvers.
    for (const id of step.approvers) {
      const approver = people.get(id);
      const managerKey = approver?.attributes.managerId;
      if (approver === undefined || managerKey === null || managerKey === undefined) continue;
      const [manager] = await identityRepository.listBySourceKeysOrEmails(
        store.db,
        approver.source,
        [managerKey],
        [],
      );
      if (manager === undefined || manager.id === request.beneficiaryId || manager.id === request.requesterId)
        continue;
      await store.db.transaction().execute(async (trx) => {
        await askApprover(trx, config, request, manager, nameOf, label, "escalation", now);
      });
      asks++;
    }
  }
  return asks;
}
