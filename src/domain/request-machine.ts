import type {
  AccessRequest,
  ApprovalStep,
  Decision,
  RequestEvent,
  RequestRefusal,
  RequestTransition,
} from "./request-types.js";

function refuse(code: RequestRefusal["code"], message: string): RequestRefusal {
  return { refused: true, code, message };
}

/** Whether `who` may decide `step`: an approver of it, acting for themself or for an approver as delegate. */
function decider(step: ApprovalStep, by: string, onBehalfOf: string | null): string | null {
  const principal = onBehalfOf ?? by;
  return step.approvers.includes(principal) ? principal : null;
}

/** The approvers whose approval already counts in `step`, each once. */
export function approvalsIn(request: Pick<AccessRequest, "decisions">, step: number): Set<string> {
  const counted = new Set<string>();
  for (const d of request.decisions) {
    if (d.step === step && d.verdict === "approve") counted.add(d.onBehalfOf ?? d.by);
  }
  return counted;
}

/**
 * The request state machine: a pure function of the request, an event and the time (no clock, no IO).
 * - Only a pending request changes; past its `expiresAt` the only change is to `expired`.
 * - The requester and the beneficiary never decide their own request, whoever they act for and whatever
 *   they hold: a delegate deciding for them, or they deciding as someone's delegate, is refused too.
 * - A step passes with `required` distinct approvals (an approver counts once, however they act); the
 *   steps pass in order; the last one passing approves the request and asks for the grant.
 * - One denial by a decider of the current step ends the request.
 * - Cancelling is for the requester, the beneficiary or an admin.
 * The caller writes the new request with a version check, so of two deciders at the same moment
 * exactly one transition is kept; the other is decided again against the stored request.
 */
export function transitionRequest(
  request: AccessRequest,
  event: RequestEvent,
  now: Date,
): RequestTransition | RequestRefusal {
  const at = now.toISOString();
  const next = (changes: Partial<AccessRequest>): AccessRequest => ({
    ...request,
    ...changes,
    version: request.version + 1,
  });
  if (request.state !== "pending") {
    return refuse(
      "request_closed",
      `request ${request.id} is ${request.state}; nothing more can be decided on it`,
    );
  }
  const expired = now.getTime() >= Date.parse(request.expiresAt);
  if (event.kind === "expire" || expired) {
    if (event.kind !== "expire") {
      return refuse(
        "request_expired",
        `request ${request.id} expired at ${request.expiresAt} before it was decided; ask again`,
      );
    }
    if (!expired)
      return refuse("request_closed", `request ${request.id} does not expire before ${request.expiresAt}`);
    return {
      refused: false,
      request: next({ state: "expired", closedAt: at }),
      effects: [{ kind: "notify-requester", outcome: "expired", step: null }],
      action: "request.expired",
    };
  }
  if (event.kind === "cancel") {
    const own = event.by === request.requesterId || event.by === request.beneficiaryId;
    if (!own && event.asAdmin !== true) {
      return refuse(
        "not_yours",
        `only the requester, the beneficiary or an admin may cancel request ${request.id}`,
      );
    }
    return {
      refused: false,
      request: next({ state: "cancelled", closedAt: at }),
      effects: [],
      action: "request.cancelled",
    };
  }

  if (event.kind === "escalate") {
    const step = request.steps[request.currentStep];
    const parties = new Set([request.requesterId, request.beneficiaryId]);
    const added = [...new Set(event.add)].filter((id) => !parties.has(id) && !step?.approvers.includes(id));
    if (step === undefined || added.length === 0) {
      return refuse(
        "no_change",
        `request ${request.id}: nobody new to ask for step ${request.currentStep + 1}`,
      );
    }
    const steps = request.steps.map((s, i) =>
      i === request.currentStep ? { ...s, approvers: [...s.approvers, ...added] } : s,
    );
    return {
      refused: false,
      request: next({ steps }),
      effects: [{ kind: "notify-approvers", step: request.currentStep, approvers: added }],
      action: "request.escalated",
    };
  }
  const onBehalfOf = event.onBehalfOf ?? null;
  const parties = [request.requesterId, request.beneficiaryId];
  if (parties.includes(event.by) || (onBehalfOf !== null && parties.includes(onBehalfOf))) {
    return refuse(
      "self_approval",
      `${event.by === request.beneficiaryId || onBehalfOf === request.beneficiaryId ? "the beneficiary" : "the requester"} may not decide request ${request.id}, in any capacity`,
    );
  }
  const step = request.steps[request.currentStep];
  if (step === undefined) return refuse("request_closed", `request ${request.id} has no step waiting`);
  const principal = decider(step, event.by, onBehalfOf);
  if (principal === null) {
    return refuse(
      "not_an_approver",
      `${onBehalfOf === null ? event.by : `${event.by} for ${onBehalfOf}`} may not decide step ${request.currentStep + 1} (${step.name}) of request ${request.id}`,
    );
  }
  const decision: Decision = {
    step: request.currentStep,
    by: event.by,
    onBehalfOf,
    verdict: event.kind,
    at,
    comment: event.comment ?? null,
  };
  if (event.kind === "deny") {
    return {
      refused: false,
      request: next({ state: "denied", closedAt: at, decisions: [...request.decisions, decision] }),
      effects: [{ kind: "notify-requester", outcome: "denied", step: request.currentStep }],
      action: "request.denied",
    };
  }
  const counted = approvalsIn(request, request.currentStep);
  if (counted.has(principal)) {
    return refuse(
      "already_decided",
      `${principal} has already approved step ${request.currentStep + 1} of request ${request.id}`,
    );
  }
  const decisions = [...request.decisions, decision];
  if (counted.size + 1 < step.required) {
    return { refused: false, request: next({ decisions }), effects: [], action: "request.approval_recorded" };
  }
  const following = request.currentStep + 1;
  const nextStep = request.steps[following];
  if (nextStep !== undefined) {
    return {
      refused: false,
      request: next({ decisions, currentStep: following }),
      effects: [
        { kind: "notify-requester", outcome: "step-passed", step: request.currentStep },
        { kind: "notify-approvers", step: following, approvers: nextStep.approvers },
      ],
      action: "request.step_passed",
    };
  }
  return {
    refused: false,
    request: next({ decisions, currentStep: following, state: "approved", closedAt: at }),
    effects: [
      { kind: "grant", items: request.items, durationMs: request.durationMs },
      { kind: "notify-requester", outcome: "approved", step: request.currentStep },
    ],
    action: "request.approved",
  };
}
