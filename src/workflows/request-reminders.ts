import { isGone } from "../domain/lifecycle.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { managerOf, requestSettings } from "./request-approvers.js";
import { decideRequest, RequestRefusedError } from "./request-decisions.js";
import { applyEffects, askApprover } from "./request-effects.js";

/**
 * Reminds the approvers of a step still waiting `requests.remindAfter` after the request was submitted
 * (once a day at most: the reminder's dedupe key holds the hour), and, past `requests.escalateAfter`,
 * escalates the step (each approver's manager may decide it too). Returns how many asks were queued.
 */
export async function remindApprovers(store: Store, config: TenureConfig, now: Date): Promise<number> {
  const settings = requestSettings(config);
  const remindAfter = config.notify === undefined ? null : settings.remindAfterMs;
  const escalateAfter = settings.escalateAfterMs;
  const first = Math.min(remindAfter ?? Number.POSITIVE_INFINITY, escalateAfter ?? Number.POSITIVE_INFINITY);
  if (first === Number.POSITIVE_INFINITY) return 0;
  const waiting = await accessRequestRepository.pendingSubmittedBefore(
    store.db,
    new Date(now.getTime() - first).toISOString(),
    500,
  );
  let asks = 0;
  for (const request of waiting) {
    const step = request.steps[request.currentStep];
    if (step === undefined) continue;
    const waitedMs = now.getTime() - Date.parse(request.submittedAt);
    // A reminder in the first hour of each day of waiting past remindAfter (once a day: its dedupe key
    // holds the date).
    const sinceReminder = remindAfter === null ? -1 : waitedMs - remindAfter;
    if (sinceReminder >= 0 && sinceReminder % DAY_MS < HOUR_MS) {
      const people = await identityRepository.findByIds(store.db, [
        ...step.approvers,
        request.requesterId,
        request.beneficiaryId,
      ]);
      const nameOf = (id: string) => people.get(id)?.attributes.displayName ?? id;
      const label = `${request.currentStep + 1} of ${request.steps.length} (${step.name})`;
      await store.db.transaction().execute(async (trx) => {
        for (const id of step.approvers) {
          await askApprover(trx, config, request, people.get(id), nameOf, label, "reminder", now);
          asks++;
        }
      });
    }
    if (escalateAfter !== null && waitedMs >= escalateAfter) {
      asks += await escalate_(store, config, request.id, step.approvers, settings.fallbackApprovers, now);
    }
  }
  return asks;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Escalates the waiting step of a request: the approvers' managers may decide it too — and when every
 * approver of the step has left, the fallback approvers. Written through the state machine (a version
 * check, `request.escalated` audited, the new approvers asked); a step already escalated to the same
 * people is left alone. Returns how many people were added.
 */
async function escalate_(
  store: Store,
  config: TenureConfig,
  requestId: string,
  approvers: readonly string[],
  fallback: readonly string[],
  now: Date,
): Promise<number> {
  const people = await identityRepository.findByIds(store.db, [...approvers]);
  const add: string[] = [];
  for (const approver of people.values()) {
    const manager = await managerOf(store.db, approver);
    if (manager !== undefined) add.push(manager.id);
  }
  if ([...people.values()].every((p) => isGone(p.state))) {
    for (const ref of fallback) {
      const person = await identityRepository.resolve(store.db, ref);
      if (person !== undefined && !isGone(person.state)) add.push(person.id);
    }
  }
  if (add.length === 0) return 0;
  try {
    const t = await decideRequest(
      store,
      requestId,
      { kind: "escalate", add },
      { now, actor: "escalation" },
      async (trx, transition) => {
        await applyEffects(trx, config, transition.request, transition.effects, { now, actor: "escalation" });
      },
    );
    const effect = t.effects.find((e) => e.kind === "notify-approvers");
    return effect?.kind === "notify-approvers" ? effect.approvers.length : 0;
  } catch (err) {
    if (err instanceof RequestRefusedError) return 0;
    throw err;
  }
}
