import { formatDuration } from "./duration.js";
import type { LifecycleState } from "./identity-types.js";
import { isGone } from "./lifecycle.js";
import type { NhiPolicy, NonHumanIdentity } from "./nhi-types.js";

/**
 * What is wrong with a non-human identity under `nhi.policy` at `now`: the one definition `tenure nhi list
 * --findings`, the risk report, reviews and `tenure check` share. Pure: the owner's state is given.
 */

export type NhiFindingCode =
  /** No owner is declared (or left after succession with `otherwise: keep`). */
  | "owner_missing"
  /** The declared owner names no identity. */
  | "owner_unknown"
  /** The owner is terminated (or deleted) and no succession is pending. */
  | "owner_terminated"
  /** The credential is older than `maxCredentialAge` for its type. */
  | "credential_age"
  /** The credential expires within a warning window. */
  | "expiring"
  | "expired"
  /** A scope outside `allowedScopes` for the type. */
  | "scope_disallowed"
  /** The credential's last use is known and older than `unusedAfter` for the type. */
  | "unused"
  /** A scope's last use is known and older than `unusedAfter` for the type (the NHI itself is in use). */
  | "unused_grant";

export type NhiFindingSeverity = "high" | "medium" | "low";

export interface NhiFinding {
  /** The NHI's name. */
  nhi: string;
  code: NhiFindingCode;
  severity: NhiFindingSeverity;
  /** One line for people and CI logs. */
  message: string;
}

/** What of an NHI its findings are made of (a report reads only these columns). */
export type NhiFindingFacts = Pick<
  NonHumanIdentity,
  | "name"
  | "type"
  | "ownerKey"
  | "ownerId"
  | "pendingOwnerId"
  | "ownerlessReason"
  | "disabledAt"
  | "removedAt"
  | "createdOn"
  | "lastRotatedAt"
  | "expiresAt"
  | "lastUsedAt"
  | "scopes"
  | "scopeLastUsed"
>;

/** The owner as the findings need it: its lifecycle state, or absent when `ownerId` names nobody. */
export interface NhiOwnerView {
  state: LifecycleState;
}

const DAY_MS = 86_400_000;

/** `90d` rather than formatDuration's `12w6d`: policies are written in days. */
function asWritten(ms: number): string {
  return ms % DAY_MS === 0 ? `${ms / DAY_MS}d` : formatDuration(ms);
}

/** A date (`YYYY-MM-DD`, midnight UTC) or ISO instant, in milliseconds; NaN when unreadable. */
export function instantOf(value: string): number {
  // A plain date read from its digits: a regular expression and Date.parse per date were a tenth of
  // loading and reporting on 100,000 NHIs. The same value as Date.parse gives (which also rolls a day
  // past the month's end over, 02-30 being 03-02); anything else goes to Date.parse.
  if (value.length === 10 && value.charCodeAt(4) === 45 && value.charCodeAt(7) === 45) {
    const y = digitsAt(value, 0, 4);
    const m = digitsAt(value, 5, 2);
    const d = digitsAt(value, 8, 2);
    // Date.UTC reads years 0-99 as 1900-1999: those go the long way.
    if (y >= 100 && m >= 1 && m <= 12 && d >= 1 && d <= 31) return Date.UTC(y, m - 1, d);
  }
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
}

/** The number written by the `length` ASCII digits of `text` at `from`; -1 when one is not a digit. */
function digitsAt(text: string, from: number, length: number): number {
  let n = 0;
  for (let i = from; i < from + length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * One finding added to `out`. A module function, not a closure made per NHI: under tsx (the benches) each
 * named closure also costs a call that names it, 100,000 times a report.
 */
function add(
  out: NhiFinding[],
  nhi: string,
  code: NhiFindingCode,
  severity: NhiFindingSeverity,
  message: string,
): void {
  out.push({ nhi, code, severity, message });
}

/** When the credential in force was made: its last rotation, else its creation; null when neither is known. */
export function credentialSince(nhi: Pick<NonHumanIdentity, "lastRotatedAt" | "createdOn">): string | null {
  return nhi.lastRotatedAt ?? nhi.createdOn;
}

/**
 * The smallest expiry warning window (ms) `expiresAt` is within at `now`, or undefined when it is within
 * none or already expired. Windows are compared as given (order does not matter).
 */
export function expiryWindow(
  expiresAt: string,
  warningsMs: readonly number[],
  now: Date,
): number | undefined {
  const left = instantOf(expiresAt) - now.getTime();
  if (!(left > 0)) return undefined;
  let smallest: number | undefined;
  for (const w of warningsMs) if (left <= w && (smallest === undefined || w < smallest)) smallest = w;
  return smallest;
}

/**
 * The findings of one NHI, in a fixed order (owner, credential, expiry, last use, scopes, unused scopes).
 * Last use counts only where it is known: an NHI or scope whose last use is unknown is never unused. A disabled or removed NHI
 * has no findings: nothing of it is in use. `owner` is the state of `nhi.ownerId`'s identity, undefined when
 * the NHI has no owner id or it names nobody.
 */
export function nhiFindings(
  nhi: NhiFindingFacts,
  owner: NhiOwnerView | undefined,
  policy: NhiPolicy,
  now: Date,
): NhiFinding[] {
  if (nhi.disabledAt !== null || nhi.removedAt !== null) return [];
  const out: NhiFinding[] = [];

  if (nhi.ownerId === null && nhi.pendingOwnerId === null) {
    if (nhi.ownerlessReason !== null) {
      add(
        out,
        nhi.name,
        "owner_missing",
        policy.ownerRequired ? "high" : "low",
        `${nhi.name}: no owner: ${nhi.ownerlessReason}`,
      );
    } else if (nhi.ownerKey !== null) {
      add(
        out,
        nhi.name,
        "owner_unknown",
        "high",
        `${nhi.name}: owner ${nhi.ownerKey} is not a known identity`,
      );
    } else {
      add(
        out,
        nhi.name,
        "owner_missing",
        policy.ownerRequired ? "high" : "low",
        `${nhi.name}: no owner${policy.ownerRequired ? " (nhi.policy.ownerRequired)" : ""}`,
      );
    }
  } else if (nhi.ownerId !== null && owner === undefined && nhi.pendingOwnerId === null) {
    add(
      out,
      nhi.name,
      "owner_unknown",
      "high",
      `${nhi.name}: its owner (identity ${nhi.ownerId}) no longer exists`,
    );
  } else if (owner !== undefined && isGone(owner.state) && nhi.pendingOwnerId === null) {
    add(
      out,
      nhi.name,
      "owner_terminated",
      "high",
      `${nhi.name}: owner ${nhi.ownerKey ?? nhi.ownerId} is ${owner.state} and no successor is pending`,
    );
  }

  const maxAge = policy.maxCredentialAgeMs[nhi.type];
  const since = credentialSince(nhi);
  if (maxAge !== undefined && since !== null) {
    const age = now.getTime() - instantOf(since);
    if (age > maxAge) {
      const days = Math.floor(age / DAY_MS);
      add(
        out,
        nhi.name,
        "credential_age",
        age > 2 * maxAge ? "high" : "medium",
        `${nhi.name}: credential is ${days} days old (since ${since}), past the ${asWritten(maxAge)} allowed for ${nhi.type}`,
      );
    }
  }

  if (nhi.expiresAt !== null) {
    const left = instantOf(nhi.expiresAt) - now.getTime();
    if (!(left > 0)) {
      add(out, nhi.name, "expired", "high", `${nhi.name}: expired on ${nhi.expiresAt}`);
    } else {
      const window = expiryWindow(nhi.expiresAt, policy.expiryWarningsMs, now);
      if (window !== undefined) {
        add(
          out,
          nhi.name,
          "expiring",
          window <= 7 * DAY_MS ? "high" : "medium",
          `${nhi.name}: expires on ${nhi.expiresAt}, within ${asWritten(window)}`,
        );
      }
    }
  }

  const unusedAfter = policy.unusedAfterMs[nhi.type];
  let unused = false;
  if (unusedAfter !== undefined && nhi.lastUsedAt !== null) {
    const idle = now.getTime() - instantOf(nhi.lastUsedAt);
    if (idle > unusedAfter) {
      unused = true;
      add(
        out,
        nhi.name,
        "unused",
        "medium",
        `${nhi.name}: not used for ${Math.floor(idle / DAY_MS)} days (last used ${nhi.lastUsedAt}), past the ${asWritten(unusedAfter)} of nhi.policy.unusedAfter for ${nhi.type}: remove it or revoke its credential`,
      );
    }
  }

  const allowed = policy.allowedScopes[nhi.type];
  if (allowed !== undefined) {
    const permitted = new Set(allowed);
    for (const scope of nhi.scopes) {
      if (!permitted.has(scope)) {
        add(
          out,
          nhi.name,
          "scope_disallowed",
          "high",
          `${nhi.name}: scope ${scope} is not allowed for ${nhi.type} (nhi.policy.allowedScopes)`,
        );
      }
    }
  }

  // An NHI unused as a whole is one finding, not one per scope besides.
  if (unusedAfter !== undefined && !unused) {
    for (const scope of nhi.scopes) {
      const last = nhi.scopeLastUsed[scope];
      if (last === undefined) continue;
      const idle = now.getTime() - instantOf(last);
      if (idle > unusedAfter) {
        add(
          out,
          nhi.name,
          "unused_grant",
          "medium",
          `${nhi.name}: scope ${scope} not used for ${Math.floor(idle / DAY_MS)} days (last used ${last}), past the ${asWritten(unusedAfter)} of nhi.policy.unusedAfter for ${nhi.type}: revoke it`,
        );
      }
    }
  }
  return out;
}
