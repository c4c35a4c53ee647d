import type { Schemas } from "../api/client.js";
import { Time } from "./states.js";

export type AccessRequest = Schemas["AccessRequest"];
type RequestItem = Schemas["RequestItem"];

export const REQUEST_STATES = ["pending", "approved", "denied", "cancelled", "expired"] as const;

/** What a person reads for an item, as the server labels it: `role prod-access`, `wiki:editors`. */
export function itemLabel(item: RequestItem): string {
  return item.kind === "role" ? `role ${item.role}` : `${item.system}:${item.entitlement}`;
}

export function itemsLabel(items: readonly RequestItem[]): string {
  return items.map(itemLabel).join(", ");
}

const UNITS = [
  ["w", 604_800_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
] as const;

/**
 * Milliseconds in the one largest unit that divides them, as a person would type it back in the
 * duration field: `30d` (not `4w2d`), `2w`, `4h`, `90m`.
 */
export function duration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1_000)}s`;
}

/** A request's state as a badge, coloured by outcome. */
export function RequestStateBadge({ state, testId }: { state: string; testId?: string }) {
  return (
    <span className={`badge req-${state}`} data-testid={testId}>
      {state}
    </span>
  );
}

/** Where a request stands in words: the step it waits for, or how it was decided. */
export function standing(r: AccessRequest): string {
  if (r.state === "pending") {
    const step = r.steps[r.currentStep];
    if (step === undefined) return "waiting";
    const who = step.approvers.map((a) => a.name).join(", ");
    return `step ${r.currentStep + 1} of ${r.steps.length}: ${step.name}${who !== "" ? ` (${who})` : ""}`;
  }
  if (r.state === "approved" && r.autoApproved) {
    return r.kind === "break-glass" ? "break-glass: granted at once" : "approved at once by policy";
  }
  const last = r.decisions.at(-1);
  if (last !== undefined && (r.state === "approved" || r.state === "denied")) {
    return `${r.state} by ${last.by.name}`;
  }
  return r.state;
}

/** The grants of a request that still give access: neither revoked nor ended nor past their window. */
export function openGrants(r: AccessRequest, now = Date.now()): AccessRequest["grants"] {
  return r.grants.filter(
    (g) =>
      g.revokedAt === null && g.endedAt === null && (g.validUntil === null || Date.parse(g.validUntil) > now),
  );
}

/** A request in a few lines, for a dialog: who asks, for whom, what, why, how long, and where it stands. */
export function RequestSummary({ request: r }: { request: AccessRequest }) {
  return (
    <dl className="attributes">
      <div>
        <dt>Who asks</dt>
        <dd>{r.requester.name}</dd>
      </div>
      <div>
        <dt>For whom</dt>
        <dd>{r.beneficiary.name}</dd>
      </div>
      <div>
        <dt>What</dt>
        <dd>{itemsLabel(r.items)}</dd>
      </div>
      <div>
        <dt>Why</dt>
        <dd>{r.justification}</dd>
      </div>
      <div>
        <dt>Ticket</dt>
        <dd>{r.ticket ?? "—"}</dd>
      </div>
      <div>
        <dt>For how long</dt>
        <dd>{duration(r.durationMs)} from the grant</dd>
      </div>
      <div>
        <dt>Step</dt>
        <dd>{standing(r)}</dd>
      </div>
      <div>
        <dt>Asked</dt>
        <dd>
          <Time iso={r.submittedAt} />
        </dd>
      </div>
    </dl>
  );
}

/** What asking or deciding returns: the request as it now is, and what its grant did at once. */
export interface RequestOutcome {
  request: AccessRequest;
  provisioning: { queued: number; succeeded: number; failed: number; error: string | null } | null;
}

/** What a grant applied at once, in a sentence; "" when nothing was granted. */
export function provisioningText(p: RequestOutcome["provisioning"]): string {
  if (p === null) return "";
  if (p.failed > 0) {
    return `${p.failed} of ${p.queued} change${p.queued === 1 ? "" : "s"} failed and will be retried${p.error ? `: ${p.error}` : ""}.`;
  }
  if (p.succeeded < p.queued)
    return `${p.succeeded} of ${p.queued} changes applied; the rest follow shortly.`;
  return p.queued === 0
    ? "Nothing needed changing in the systems."
    : `${p.succeeded} change${p.succeeded === 1 ? "" : "s"} applied in the systems.`;
}
