import type { AuditEvent } from "./ledger.js";

/** One line saying what an event changed, for timelines: in words, the JSON stays behind --json. */
export function describeEvent(e: Pick<AuditEvent, "action" | "details">): string {
  const d = e.details as Record<string, unknown>;
  switch (e.action) {
    case "identity.created":
      return `created as ${String(d.state)} (${String(d.reason)})`;
    case "identity.state_changed":
    case "identity.rehired":
      return `${String(d.from)} → ${String(d.to)} (${String(d.reason)})`;
    case "identity.updated":
      return Object.entries((d.changes ?? {}) as Record<string, { before: unknown; after: unknown }>)
        .map(([k, c]) => `${k}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)
        .join(", ");
    case "identity.rekeyed":
      return `key ${String(d.before)} → ${String(d.after)}`;
    case "operation.succeeded":
      return `${operationWhat(d)}: succeeded${d.changed === false ? " (already so)" : ""}${attempt(d)}`;
    case "operation.failed":
      return `${operationWhat(d)}: failed${attempt(d)}, retried at ${String(d.nextAttemptAt)}: ${String(d.error)}`;
    case "operation.dead":
      return `${operationWhat(d)}: DEAD${attempt(d)} (${String(d.why)}): ${String(d.error)}`;
    case "operation.awaiting":
      return `${operationWhat(d)}: handed to ${String(d.fulfiller)} as task ${String(d.taskId)}, due ${String(d.dueAt)}`;
    case "sod.violation_opened":
    case "sod.violation_withheld":
      return `breaks separation-of-duties rule ${String(d.rule)} (${String(d.severity)}): ${sides(d)}${e.action === "sod.violation_withheld" ? " — newer access withheld" : ""}`;
    case "sod.violation_closed":
      return `no longer breaks ${String(d.rule)} (${String(d.reason)})`;
    case "sod.exception_approved":
      return `exception to ${String(d.rule)} approved by ${String(d.approvedBy)} until ${String(d.expiresAt)}: ${String(d.control)}`;
    case "sod.exception_revoked":
      return `exception to ${String(d.rule)} revoked by ${String(d.revokedBy)}`;
    case "sod.exception_expired":
    case "sod.exception_ended":
      return `exception to ${String(d.rule)} ${e.action === "sod.exception_expired" ? "expired" : "ended"} at ${String(d.at)}: the violation stands again if the access is held`;
    case "review.campaign_started":
      return campaignStarted(d);
    case "account.dormant_noticed":
      return `${String(d.username)} on ${String(d.system)} unused since ${day(d.idleSince)} (over ${String(d.afterDays)} days): owner told, disabled on ${day(d.disableAt)} unless used`;
    case "account.dormant_disabled":
      return `${String(d.username)} on ${String(d.system)} disabled as dormant by ${String(d.policy)} (last used ${day(d.lastUsedAt)}); held disabled until used or released`;
    case "account.dormant_cleared":
      return `dormant notice of ${String(d.username)} on ${String(d.system)} cleared: ${String(d.reason)}`;
    case "review.exclusion_recorded":
      return `${String(d.access)} refused in review ${String(d.campaign)} (item ${String(d.item)}): excluded for this employment, the plan withholds it`;
    case "review.removal_applied":
      return `revocation of ${String(d.access)} from review ${String(d.campaign)} applied at its source`;
    case "review.removal_confirmed":
      return `revocation of ${String(d.access)} from review ${String(d.campaign)} confirmed in the target: ${String(d.detail)}`;
    case "review.removal_failed":
      return `revocation of ${String(d.access)} from review ${String(d.campaign)} failed${attempt(d)}, retried at ${String(d.nextAttemptAt)}: ${String(d.detail)}`;
    case "review.exclusion_lifted":
      return `exclusion of ${String(d.access)} lifted (it was refused in review item ${String(d.item)}): ${String(d.reason)}`;
    case "review.item_certified":
      return `${String(d.access)} certified in review ${String(d.campaign)}${d.bulk === undefined ? "" : ` (bulk of ${String(d.bulk)})`}`;
    case "review.item_revoked":
      return `${String(d.access)} revoked in review ${String(d.campaign)}: ${String(d.comment)}`;
    case "review.item_delegated":
      return `review of ${String(d.access)} handed to ${String(d.to)}`;
    case "review.no_response":
      return `${String(d.access)} not reviewed by the deadline: ${d.outcome === "revoke" ? "revoked" : "kept"} (${String(d.risk)} risk)`;
    case "review.removal_not_needed":
      return `revocation of ${String(d.access)} from review ${String(d.campaign)} not needed: ${String(d.detail)}`;
    default:
      return summary(d);
  }
}

/** `campaign quarterly started (scheduled): 1200 items of 300 identities for 40 reviewers (high 12, …)…`. */
function campaignStarted(d: Record<string, unknown>): string {
  const risk = (d.risk ?? {}) as Record<string, unknown>;
  const noReviewer = Number(d.noReviewer ?? 0);
  const selfReview = Number(d.selfReview ?? 0);
  const notes = [
    selfReview > 0 ? `${selfReview} of the holders' own access sent to their manager` : null,
    noReviewer > 0 ? `${noReviewer} with no reviewer (assign one)` : null,
  ].filter((n) => n !== null);
  return (
    `campaign ${String(d.definition)} started (${String(d.kind)}): ${String(d.items)} items of ${String(d.identities)} identities ` +
    `for ${String(d.reviewers)} reviewers (high ${String(risk.high ?? 0)}, medium ${String(risk.medium ?? 0)}, low ${String(risk.low ?? 0)}), ` +
    `due ${String(d.deadline)}${notes.length > 0 ? `; ${notes.join("; ")}` : ""}`
  );
}

/** The access a violation collides, as its event lists it: `role ap-clerk + erp:payment-approve`. */
function sides(d: Record<string, unknown>): string {
  const list = Array.isArray(d.sides) ? (d.sides as { item?: unknown }[]) : [];
  return list.map((s) => String(s.item)).join(" + ");
}

/** "grant editors to jdoe on wiki", "create account jdoe on wiki". */
function operationWhat(d: Record<string, unknown>): string {
  const target =
    typeof d.entitlement === "string"
      ? `${d.entitlement} to ${String(d.username)}`
      : `account ${String(d.username)}`;
  const verb =
    d.kind === "revoke" && typeof d.entitlement === "string"
      ? `revoke ${d.entitlement} from ${String(d.username)}`
      : `${String(d.kind)} ${target}`;
  return `${verb} on ${String(d.system)}`;
}

function attempt(d: Record<string, unknown>): string {
  return typeof d.attempts === "number" ? ` (attempt ${d.attempts})` : "";
}

/** Any other event's details as `key=value` pairs, short values in full and long ones cut. */
function summary(d: Record<string, unknown>): string {
  const pairs = Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      return `${k}=${text.length > 60 ? `${text.slice(0, 57)}…` : text}`;
    });
  const line = pairs.join(" ");
  return line.length > 240 ? `${line.slice(0, 239)}…` : line;
}

/** The day of an ISO-8601 time in an event, or `never`. */
function day(value: unknown): string {
  return typeof value === "string" ? value.slice(0, 10) : "never";
}
