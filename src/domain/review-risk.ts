import { lastParsed } from "../shared/instant.js";
import type {
  ItemRisk,
  ReviewRisk,
  ReviewSource,
  RiskReason,
  RiskReasonCode,
  RiskSettings,
} from "./review-types.js";

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

/** The items of one account are scored in a row, and all share its last use. */
const parseUsedAt = lastParsed();

/** Whole days from `lastUsedAt` to `now` (ms). */
export function unusedDays(nowMs: number, lastUsedAt: string): number {
  return Math.floor((nowMs - parseUsedAt(lastUsedAt)) / DAY_MS);
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

/** The words of the reason a grant's source raises; null for birthright. */
function sourceDetail(grant: RiskGrant): string | null {
  switch (grant.source) {
    case "birthright":
      return null;
    case "assignment":
      return requestedDetail(grant.assignmentId, grant.requestId);
    case "mover-grace":
      return keptAfterMoveDetail(grant.until);
    case "found":
      return grant.managed
        ? `in ${grant.system} on account ${grant.username}, granted by Tenure but no longer given by policy or an assignment`
        : `found in ${grant.system} on account ${grant.username}, not granted by Tenure (added in the system directly)`;
  }
}

/** Whether the holder's peers make the access rare (under `peerPercent` %, with enough peers to say). */
export function isRare(peers: { total: number; holding: number } | null, peerPercent: number): boolean {
  return peers !== null && peers.total >= MIN_PEERS && peers.holding * HUNDRED < peerPercent * peers.total;
}

function levelOf(score: number): ReviewRisk {
  return score >= HIGH_SCORE ? "high" : score >= MEDIUM_SCORE ? "medium" : "low";
}

/**
 * The risk of one item before its words: the reasons' codes in the order {@link scoreItem} lists them,
 * the score, level and recommendation. Generation writes the codes straight into an item's stored form
 * (store/review-pack-codec.ts) without building the words a reader derives again; `scoreItem` is this
 * plus the words ({@link reasonOf}).
 */
export interface RiskVerdict {
  codes: RiskReasonCode[];
  score: number;
  level: ReviewRisk;
  recommendation: ItemRisk["recommendation"];
}

/** {@link RiskVerdict} of `signals` at `nowMs` (the `now` of {@link scoreItem}, as milliseconds). */
export function judgeRisk(signals: RiskSignals, settings: RiskSettings, nowMs: number): RiskVerdict {
  const codes: RiskReasonCode[] = [];
  let score = 0;
  if (signals.privileged) {
    codes.push("privileged");
    score += RISK_WEIGHTS.privileged;
  }
  if (signals.sodRules.length > 0) {
    codes.push("sod-violation");
    score += RISK_WEIGHTS["sod-violation"];
  }
  let unused = false;
  const usage = signals.usage;
  if (usage !== null) {
    if (usage.at === null) {
      unused = true;
      codes.push("never-used");
      score += RISK_WEIGHTS["never-used"];
    } else if (unusedDays(nowMs, usage.at) >= settings.unusedDays) {
      unused = true;
      codes.push("unused");
      score += RISK_WEIGHTS.unused;
    }
  }
  const rare = isRare(signals.peers, settings.peerPercent);
  if (rare) {
    codes.push("rare-among-peers");
    score += RISK_WEIGHTS["rare-among-peers"];
  }
  const grantSource: ReviewSource = signals.grant.source;
  const source = SOURCE_REASON[grantSource];
  if (source !== null) {
    codes.push(source);
    score += RISK_WEIGHTS[source];
  }
  if (!signals.reviewedBefore) {
    codes.push("never-reviewed");
    score += RISK_WEIGHTS["never-reviewed"];
  }
  score = Math.min(HUNDRED, score);
  const revoke =
    unused ||
    signals.sodRules.length > 0 ||
    grantSource === "found" ||
    (grantSource === "mover-grace" && rare) ||
    score >= REVOKE_SCORE;
  return { codes, score, level: levelOf(score), recommendation: revoke ? "revoke" : "keep" };
}

/** The reason a grant's source raises, if any. */
const SOURCE_REASON: Record<ReviewSource, RiskReasonCode | null> = {
  birthright: null,
  assignment: "requested",
  "mover-grace": "kept-after-move",
  found: "found-in-target-only",
};

/** The reason `code` of a verdict on `signals` at `nowMs`, in words. */
export function reasonOf(code: RiskReasonCode, signals: RiskSignals, nowMs: number): RiskReason {
  return { code, detail: detailOf(code, signals, nowMs), weight: RISK_WEIGHTS[code] };
}

function detailOf(code: RiskReasonCode, signals: RiskSignals, nowMs: number): string {
  switch (code) {
    case "privileged":
      return PRIVILEGED_DETAIL;
    case "sod-violation":
      return sodDetail(signals.sodRules);
    case "never-used":
      return NEVER_USED_DETAIL;
    case "unused": {
      const at = signals.usage!.at!;
      return unusedDetail(unusedDays(nowMs, at), at);
    }
    case "rare-among-peers":
      return rareDetail(signals.peers!);
    case "requested":
    case "kept-after-move":
    case "found-in-target-only":
      return sourceDetail(signals.grant)!;
    case "never-reviewed":
      return NEVER_REVIEWED_DETAIL;
  }
}

/** The risk of one item: score 0–100, level, reasons (heaviest first) and a recommendation. */
export function scoreItem(signals: RiskSignals, settings: RiskSettings, now: Date): ItemRisk {
  const nowMs = now.getTime();
  const { codes, score, level, recommendation } = judgeRisk(signals, settings, nowMs);
  return { score, level, reasons: codes.map((code) => reasonOf(code, signals, nowMs)), recommendation };
}
