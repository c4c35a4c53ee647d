import type { NhiAccountHold } from "../../domain/nhi-account.js";
import type { NhiAccountOutcome } from "../../workflows/nhi-disable.js";
import type { NhiHeldView } from "../../workflows/nhi-hold-view.js";
import { type Output, println } from "../output.js";

/**
 * How `tenure nhi` prints in text what became of NHIs' accounts in their targets (docs/nhi.md "What disabled
 * does"): one line per account action or finding, and one NHI in full (`show`).
 */

const where = (a: { system: string | null; username: string | null }) =>
  a.system === null ? "no system" : `${a.username ?? "?"} in ${a.system}`;

/** One line for one account outcome of a sync or an assignment. */
export function accountLine(a: NhiAccountOutcome): string {
  const op = a.operationId === null ? "" : ` (operation ${a.operationId})`;
  const account = `account ${where(a)}`;
  switch (a.outcome) {
    case "disable-queued":
      return `${a.name}: ${account}: disable queued${op}${a.detail === null ? "" : `; caveat: ${a.detail}`}`;
    case "held":
      return `${a.name}: ${account}: already disabled, held disabled`;
    case "unenforced":
      return `${a.name}: ${account}: CANNOT BE DISABLED by Tenure: ${a.detail ?? "no reason recorded"}`;
    case "disable-requeued":
      return `${a.name}: ${account}: found enabled while the NHI is disabled, disable queued again${op}`;
    case "enable-queued":
      return `${a.name}: ${account}: enable queued${op} (the NHI has an owner again)`;
    case "released":
      return `${a.name}: ${account}: hold released, not enabled by Tenure: ${a.detail ?? ""}`;
  }
}

/** The account hold in one line, for `show`. */
export function holdLine(h: NhiAccountHold): string {
  const since = h.heldAt.slice(0, 10);
  if (h.state === "unenforced")
    return `${where(h)}: cannot be disabled by Tenure (since ${since}): ${h.why ?? "no reason recorded"}`;
  const before =
    h.wasEnabled === false
      ? "; it was disabled already"
      : h.wasEnabled === null
        ? "; not recorded before"
        : "";
  return `${where(h)}: held disabled since ${since} (${h.reason})${before}${h.why === null ? "" : `; caveat: ${h.why}`}`;
}

/** `tenure nhi show` in text: every field, the account hold, the findings. */
export function printView(o: Output, v: NhiHeldView): void {
  const rows: [string, string][] = [
    ["name", v.name],
    ["id", v.id],
    ["type", v.type],
    ["status", v.status],
    ["system", v.system ?? "-"],
    ["purpose", v.purpose ?? "-"],
    ["origin", v.origin + (v.account === null ? "" : ` (account ${v.account})`)],
    [
      "owner",
      (v.owner ?? (v.ownerKey === null ? "(none)" : `${v.ownerKey} (not a known identity)`)) +
        (v.ownerAssignment === null
          ? ""
          : ` (assigned by ${v.ownerAssignment.by} on ${v.ownerAssignment.at.slice(0, 10)}; the inventory names ${v.ownerKey ?? "nobody"})`),
    ],
    ["co-owners", v.coOwners.join(", ") || "-"],
    ["created", v.createdOn ?? "-"],
    ["last rotated", v.lastRotatedAt ?? "-"],
    ["expires", v.expiresAt ?? "-"],
    ["last used", v.lastUsedAt ?? "unknown"],
    [
      "scopes",
      v.scopes
        .map((s) => (v.scopeLastUsed[s] === undefined ? s : `${s} (last used ${v.scopeLastUsed[s]})`))
        .join(", ") || "-",
    ],
    ["entitlements", v.entitlements.join(", ") || "-"],
  ];
  if (v.pendingOwnerId !== null)
    rows.push(["pending owner", `${v.pendingOwner} (confirm by ${v.pendingDeadline})`]);
  if (v.ownerlessReason !== null) rows.push(["ownerless", v.ownerlessReason]);
  if (v.disabledAt !== null) rows.push(["disabled", `${v.disabledAt}: ${v.disabledReason ?? ""}`]);
  if (v.removedAt !== null) rows.push(["removed", v.removedAt]);
  if (v.accountHold !== null) rows.push(["account", holdLine(v.accountHold)]);
  for (const [k, value] of rows) println(o, `${`${k}:`.padEnd(15)}${value}`);
  println(o, v.findings.length === 0 ? "findings:      none" : "findings:");
  for (const f of v.findings) println(o, `  ${f.severity.padEnd(7)}${f.code.padEnd(19)} ${f.message}`);
}
