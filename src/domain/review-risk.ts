import type { ItemRisk, ReviewRisk, ReviewSource, RiskReason, RiskSettings } from "./review-types.js";

/**
 * The risk of one review item: points per signal, capped at 100, a level and a recommendation, each
 * reason in words a reviewer reads. Pure: the clock is `now`, every fact is a signal the caller read.
 *
 * Weights (points added by each reason; the score is their sum, capped at 100):
 * - `privileged` 30 — the entitlement is marked privileged (a role: it grants one);
 * - `sod-violation` 30 — the access is part of an open separation-of-duties violation;
 * - `unused` / `never-used` 20 — the account in its system was not used for `unusedDays` days, or never,
 *   where the connector reports last use (an unknown last use raises nothing);
 * - `rare-among-peers` 15 — fewer than `peerPercent` % of the identity's peers (same department and
 *   title, at least {@link MIN_PEERS} of them) hold it;
 * - `found-in-target-only` 15 — found in the target, not given by policy nor an assignment;
 * - `kept-after-move` 15 — kept from a previous role after a move (mover grace);
 * - `requested` 10 — granted by a request or an administrator's assignment rather than birthright;
 * - `never-reviewed` 5 — no earlier campaign decided on it.
 * The three source reasons exclude each other (an item has one source), so the most an item reaches is
 * 30 + 30 + 20 + 15 + 15 + 5 = 115, capped at 100.
 *
 * Levels: `high` from {@link HIGH_SCORE}, `medium` from {@link MEDIUM_SCORE}, else `low`.
 * Recommendation `revoke` when the access is unused or never used, part of an SoD violation, found in
 * the target only, kept after a move and rare among peers, or the score reaches {@link REVOKE_SCORE};
 * else `keep`.
 */

export const RISK_WEIGHTS = {
  privileged: 30,
  "sod-violation": 30,
  unused: 20,
  "never-used": 20,
  "rare-among-peers": 15,
  "found-in-target-only": 15,
  "kept-after-move": 15,
  requested: 10,
  "never-reviewed": 5,
} as const;

export const HIGH_SCORE = 50;
export const MEDIUM_SCORE = 25;
export const REVOKE_SCORE = 60;
/** With fewer peers than this, a share says little: rarity is not judged. */
export const MIN_PEERS = 5;

const DAY_MS = 86_400_000;

/** How the identity holds the access, as far as risk cares. */
export type RiskGrant =
  | { source: "birthright" }
  /** `requestId` null: an administrator's assignment. */
  | { source: "assignment"; assignmentId: string | null; requestId: string | null }
  | { source: "mover-grace"; until: string | null }
  /** `managed`: Tenure granted it once (no longer desired); else it was added in the system directly. */
  | { source: "found"; system: string; username: string; managed: boolean };

/** The facts behind one item's risk, as read by the caller. */
export interface RiskSignals {
  privileged: boolean;
  /** Rules of open SoD violations the access is part of. */
  sodRules: readonly string[];
  /**
   * Last use of the account the access is on: `null` when unknown (no account, or its connector does not
   * report last use); else the last use, `at` null when the account was never used.
   */
  usage: { at: string | null } | null;
  /** Peers (same department and title, the holder not counted) and how many of them hold it. */
  peers: { total: number; holding: number } | null;
  grant: RiskGrant;
  /** An earlier campaign decided on the same access of the same identity. */
  reviewedBefore: boolean;
}

const HUNDRED = 100;

/** `3.5%`, `0%`, `12.5%`: one decimal, none when whole. */
function percentText(part: number, whole: number): string {
  const p = Math.round((part / whole) * 1000) / 10;
  return `${p}%`;
}

/*
 * Each reason's words, from the facts an item keeps: the item codec (review-item-codec.ts) stores a reason
 * as its code alone when these give back its words, so they are the one place the words are written.
 */

export const PRIVILEGED_DETAIL = "privileged access";
export const NEVER_USED_DETAIL = "never logged in";
export const NEVER_REVIEWED_DETAIL = "never reviewed before";

export function sodDetail(rules: readonly string[]): string {
  return `part of an open separation-of-duties violation (${rules.length === 1 ? "rule" : "rules"} ${rules.join(", ")})`;
}

/** Whole days from `lastUsedAt` to `now` (ms). */
export function unusedDays(nowMs: number, lastUsedAt: string): number {
  return Math.floor((nowMs - Date.parse(lastUsedAt)) / DAY_MS);
}

export function unusedDetail(days: number, lastUsedAt: string): string {
  return `no login for ${days} days (last ${lastUsedAt.slice(0, 10)})`;
}

export function rareDetail(peers: { total: number; holding: number }): string {
  return `held by ${peers.holding} of ${peers.total} peers (${percentText(peers.holding, peers.total)})`;
}

export function requestedDetail(assignmentId: string | null, requestId: string | null): string {
  return requestId !== null
    ? `granted by request ${requestId}, not by birthright`
    : `assigned by an administrator${assignmentId === null ? "" : ` (assignment ${assignmentId})`}, not by birthright`;
}

export function keptAfterMoveDetail(until: string | null): string {
  return `kept from the previous role after a move${until === null ? "" : ` (until ${until.slice(0, 10)})`}`;
}

function sourceReason(grant: RiskGrant): RiskReason | null {
  switch (grant.source) {
    case "birthright":
      return null;
    case "assignment":
      return {
        code: "requested",
        detail: requestedDetail(grant.assignmentId, grant.requestId),
        weight: RISK_WEIGHTS.requested,
      };
    case "mover-grace":
      return {
        code: "kept-after-move",
        detail: keptAfterMoveDetail(grant.until),
        weight: RISK_WEIGHTS["kept-after-move"],
      };
    case "found":
      return {
        code: "found-in-target-only",
        detail: grant.managed
          ? `in ${grant.system} on account ${grant.username}, granted by Tenure but no longer given by policy or an assignment`
          : `found in ${grant.system} on account ${grant.username}, not granted by Tenure (added in the system directly)`,
        weight: RISK_WEIGHTS["found-in-target-only"],
      };
  }
}

/** Whether the holder's peers make the access rare (under `peerPercent` %, with enough peers to say). */
export function isRare(peers: { total: number; holding: number } | null, peerPercent: number): boolean {
  return peers !== null && peers.total >= MIN_PEERS && peers.holding * HUNDRED < peerPercent * peers.total;
}

function levelOf(score: number): ReviewRisk {
  return score >= HIGH_SCORE ? "high" : score >= MEDIUM_SCORE ? "medium" : "low";
}

/** The risk of one item: score 0–100, level, reasons (heaviest first) and a recommendation. */
export function scoreItem(signals: RiskSignals, settings: RiskSettings, now: Date): ItemRisk {
  const reasons: RiskReason[] = [];
  if (signals.privileged) {
    reasons.push({ code: "privileged", detail: PRIVILEGED_DETAIL, weight: RISK_WEIGHTS.privileged });
  }
  if (signals.sodRules.length > 0) {
    reasons.push({
      code: "sod-violation",
      detail: sodDetail(signals.sodRules),
      weight: RISK_WEIGHTS["sod-violation"],
    });
  }
  let unused = false;
  const usage = signals.usage;
  if (usage !== null) {
    if (usage.at === null) {
      unused = true;
      reasons.push({ code: "never-used", detail: NEVER_USED_DETAIL, weight: RISK_WEIGHTS["never-used"] });
    } else {
      const days = unusedDays(now.getTime(), usage.at);
      if (days >= settings.unusedDays) {
        unused = true;
        reasons.push({
          code: "unused",
          detail: unusedDetail(days, usage.at),
          weight: RISK_WEIGHTS.unused,
        });
      }
    }
  }
  const rare = isRare(signals.peers, settings.peerPercent);
  if (rare) {
    reasons.push({
      code: "rare-among-peers",
      detail: rareDetail(signals.peers!),
      weight: RISK_WEIGHTS["rare-among-peers"],
    });
  }
  const source = sourceReason(signals.grant);
  if (source !== null) reasons.push(source);
  if (!signals.reviewedBefore) {
    reasons.push({
      code: "never-reviewed",
      detail: NEVER_REVIEWED_DETAIL,
      weight: RISK_WEIGHTS["never-reviewed"],
    });
  }
  let sum = 0;
  for (const r of reasons) sum += r.weight;
  const score = Math.min(HUNDRED, sum);
  const grantSource: ReviewSource = signals.grant.source;
  const revoke =
    unused ||
    signals.sodRules.length > 0 ||
    grantSource === "found" ||
    (grantSource === "mover-grace" && rare) ||
    score >= REVOKE_SCORE;
  return { score, level: levelOf(score), reasons, recommendation: revoke ? "revoke" : "keep" };
}
