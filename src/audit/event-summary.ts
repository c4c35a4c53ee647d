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
    default:
      return summary(d);
  }
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
