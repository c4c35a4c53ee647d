import { lastParsed } from "../shared/instant.js";
import { jsonOf } from "../shared/json-text.js";
import type { Lineage } from "./access-types.js";
import { describeAssignmentTarget } from "./assignment-status.js";
import {
  keptAfterMoveDetail,
  NEVER_REVIEWED_DETAIL,
  NEVER_USED_DETAIL,
  PRIVILEGED_DETAIL,
  RISK_WEIGHTS,
  type RiskSignals,
  type RiskVerdict,
  rareDetail,
  reasonOf,
  requestedDetail,
  sodDetail,
  unusedDays,
  unusedDetail,
} from "./review-risk.js";
import type {
  ReviewAccess,
  ReviewDecisionKind,
  ReviewItemEvidence,
  RiskReason,
  RiskReasonCode,
} from "./review-types.js";

/**
 * How a review item's reasons and evidence are kept in its row, compactly: a campaign writes a million
 * items at once, and the words of a reason (≈ 220 bytes of JSON per item) and the evidence (≈ 240) were
 * most of each row. Lossless: decoding gives back exactly the objects encoded — key order included for
 * evidence built as its type and desired state lay it out (generation builds it so; the tests compare
 * the JSON text).
 *
 * - reasons: a number when every reason's words and weight are what `derivedDetail` gives from the
 *   item's other facts and the codes come in the order risk lists them ({@link REASON_ORDER}): bit n set
 *   for its n-th code (`["unused","requested","never-reviewed"]`, 40 characters of each of a million
 *   items, is `296`). Otherwise a JSON array whose elements are either a reason's code alone, when its
 *   words derive, or the reason as an object (words the facts cannot give: an account's name, words of
 *   an older version). Arrays of codes (written before the number) and of objects (before this codec)
 *   are therefore read as they are.
 * - evidence: a JSON array `[lineage, lastUsedAt, peers, lastReview, sodRules]`, peers as
 *   `[total, holding]`, the last review as `[campaignId, decision, at]`, and an assignment's lineage
 *   naming the item's own assignment and access as `["a", validUntil]` or `["a", validUntil, requestId]`;
 *   any other lineage as its object. A JSON object is the format written before: read as it is.
 */

/** What an item's row holds besides its reasons and evidence, from which they are derived. */
export interface ItemFacts {
  access: ReviewAccess;
  assignmentId: string | null;
  /** The campaign's start: the `now` its risk was scored at. */
  createdAt: string;
}

type CompactLineage = Lineage | [string, string | null] | [string, string | null, string];
type CompactEvidence = [
  CompactLineage[],
  string | null,
  [number, number] | null,
  [string, ReviewDecisionKind, string] | null,
  string[],
];

/** Targets of frozen accesses (a campaign shares one per entitlement among its million items). */
const targets = new WeakMap<ReviewAccess, string>();

function targetOf(access: ReviewAccess): string {
  const frozen = Object.isFrozen(access);
  const known = frozen ? targets.get(access) : undefined;
  if (known !== undefined) return known;
  const target = describeAssignmentTarget(
    access.kind === "role"
      ? { role: access.role }
      : { system: access.system, entitlement: access.entitlement },
  );
  if (frozen) targets.set(access, target);
  return target;
}

/**
 * The JSON of a lineage entry kept whole. A role's entries are frozen and shared by everyone holding the
 * role (desired state builds them once per configuration): their text is written once. Others are made
 * per identity and written once anyway: remembering them would only cost.
 */
function lineageText(entry: object): string {
  return Object.isFrozen(entry) ? jsonOf(entry) : JSON.stringify(entry);
}

function compactLineage(entry: Lineage, facts: ItemFacts, target: string): CompactLineage {
  // Only what decoding gives back exactly (desired state writes these keys in this order); a lineage
  // naming another assignment, or derived from attributes, is kept whole.
  if (
    entry.kind !== "assignment" ||
    entry.assignmentId !== facts.assignmentId ||
    entry.target !== target ||
    entry.derived !== undefined
  )
    return entry;
  return entry.requestId === undefined ? ["a", entry.validUntil] : ["a", entry.validUntil, entry.requestId];
}

function lineageOf(entry: CompactLineage, facts: ItemFacts, target: string): Lineage {
  if (!Array.isArray(entry)) return entry;
  const lineage: Lineage = {
    kind: "assignment",
    assignmentId: facts.assignmentId ?? "",
    target,
    validUntil: entry[1],
  };
  if (entry.length === 3) lineage.requestId = entry[2];
  return lineage;
}

export function encodeEvidence(evidence: ReviewItemEvidence, facts: ItemFacts): string {
  // Written piece by piece, as JSON.stringify writes the compact array: a million items made an array
  // and a copy of the rules each only to be stringified. The target is built only for an assignment.
  const { peers, lastReview } = evidence;
  let target: string | null = null;
  let lineage = "";
  for (const l of evidence.lineage) {
    if (lineage !== "") lineage += ",";
    if (l.kind === "assignment") target ??= targetOf(facts.access);
    const c = l.kind === "assignment" ? compactLineage(l, facts, target!) : l;
    lineage += Array.isArray(c)
      ? c.length === 2
        ? `["a",${JSON.stringify(c[1])}]`
        : `["a",${JSON.stringify(c[1])},${JSON.stringify(c[2])}]`
      : lineageText(c);
  }
  return `[[${lineage}],${JSON.stringify(evidence.lastUsedAt)},${
    peers === null ? "null" : `[${peers.total},${peers.holding}]`
  },${
    lastReview === null ? "null" : JSON.stringify([lastReview.campaignId, lastReview.decision, lastReview.at])
  },${JSON.stringify(evidence.sodRules)}]`;
}

export function decodeEvidence(text: string, facts: ItemFacts): ReviewItemEvidence {
  return decodeEvidenceValue(JSON.parse(text), facts);
}

/** As `decodeEvidence`, from the JSON already parsed (a packed item holds it inside its pack's array). */
export function decodeEvidenceValue(value: unknown, facts: ItemFacts): ReviewItemEvidence {
  const parsed = value as CompactEvidence | ReviewItemEvidence;
  if (!Array.isArray(parsed)) return parsed;
  const [lineage, lastUsedAt, peers, lastReview, sodRules] = parsed;
  const target = targetOf(facts.access);
  return {
    lineage: lineage.map((l) => lineageOf(l, facts, target)),
    lastUsedAt,
    peers: peers === null ? null : { total: peers[0], holding: peers[1] },
    lastReview:
      lastReview === null ? null : { campaignId: lastReview[0], decision: lastReview[1], at: lastReview[2] },
    sodRules,
  };
}

/** Every item of a campaign has the same `createdAt`. */
const createdAtMs = lastParsed();

/** The words of a reason as the risk scoring writes them, from the item's facts; null when they cannot be. */
function derivedDetail(code: RiskReasonCode, evidence: ReviewItemEvidence, facts: ItemFacts): string | null {
  switch (code) {
    case "privileged":
      return PRIVILEGED_DETAIL;
    case "never-used":
      return NEVER_USED_DETAIL;
    case "never-reviewed":
      return NEVER_REVIEWED_DETAIL;
    case "sod-violation":
      return sodDetail(evidence.sodRules);
    case "unused": {
      const at = evidence.lastUsedAt;
      return at === null ? null : unusedDetail(unusedDays(createdAtMs(facts.createdAt), at), at);
    }
    case "rare-among-peers":
      return evidence.peers === null ? null : rareDetail(evidence.peers);
    case "requested": {
      const via = evidence.lineage.find((l) => l.kind === "assignment");
      return requestedDetail(facts.assignmentId, via?.kind === "assignment" ? (via.requestId ?? null) : null);
    }
    case "kept-after-move": {
      const grace = evidence.lineage.find((l) => l.kind === "mover-grace");
      return keptAfterMoveDetail(grace?.kind === "mover-grace" ? grace.until : null);
    }
    case "found-in-target-only":
      // Names the account, which the item does not keep elsewhere.
      return null;
  }
}

/** A reason from its code and the item's facts; null when the facts do not give its words. */
function deriveReason(
  code: RiskReasonCode,
  evidence: ReviewItemEvidence,
  facts: ItemFacts,
): RiskReason | null {
  const detail = derivedDetail(code, evidence, facts);
  return detail === null ? null : { code, detail, weight: RISK_WEIGHTS[code] };
}

/**
 * The order in which risk lists an item's reasons (domain/review-risk.ts, `judgeRisk`): a reasons
 * number's bit n is the n-th code. Never reordered: stored numbers are read by it.
 */
const REASON_ORDER: readonly RiskReasonCode[] = [
  "privileged",
  "sod-violation",
  "never-used",
  "unused",
  "rare-among-peers",
  "requested",
  "kept-after-move",
  "found-in-target-only",
  "never-reviewed",
];
const REASON_BIT = new Map<string, number>(REASON_ORDER.map((code, bit) => [code, bit]));
const REASON_MASK_MAX = 2 ** REASON_ORDER.length - 1;

/**
 * The reasons number of `codes` when they come in {@link REASON_ORDER} and `derives(code)` holds for
 * each (reading gives back their words and weight); else null.
 */
function reasonsMask(codes: readonly string[], derives: (n: number) => boolean): number | null {
  let mask = 0;
  let last = -1;
  for (let n = 0; n < codes.length; n++) {
    const bit = REASON_BIT.get(codes[n]!);
    if (bit === undefined || bit <= last || !derives(n)) return null;
    mask |= 1 << bit;
    last = bit;
  }
  return mask;
}

/** `evidence` is the item's evidence as decoded: the reasons are derived from it. */
export function encodeReasons(
  reasons: readonly RiskReason[],
  evidence: ReviewItemEvidence,
  facts: ItemFacts,
): string {
  // Written alone only when reading gives back the same words and weight (verified here, per item).
  const same = reasons.map((r) => {
    const weight = Object.hasOwn(RISK_WEIGHTS, r.code) ? RISK_WEIGHTS[r.code] : undefined;
    return weight === r.weight && derivedDetail(r.code, evidence, facts) === r.detail;
  });
  const mask = reasonsMask(
    reasons.map((r) => r.code),
    (n) => same[n]!,
  );
  if (mask !== null) return String(mask);
  // As JSON.stringify of the array of codes and reasons, without building it (codes are plain words).
  let out = "";
  for (let n = 0; n < reasons.length; n++) {
    if (out !== "") out += ",";
    out += same[n] ? `"${reasons[n]!.code}"` : JSON.stringify(reasons[n]);
  }
  return `[${out}]`;
}

/**
 * What `encodeReasons(scoreItem(signals, settings, now).reasons, evidence, facts)` writes, from the
 * verdict `judgeRisk(signals, settings, nowMs)` without building the reasons: a code is written alone
 * when the facts its words are made of are the same in `signals` as in the evidence and facts a reader
 * derives them from (the words are then the same), and otherwise as `encodeReasons` decides, from the
 * words. Generation scores a million items: their words were built twice each (scored, then derived
 * to compare) only to be left out.
 */
export function encodeVerdictReasons(
  verdict: RiskVerdict,
  signals: RiskSignals,
  evidence: ReviewItemEvidence,
  facts: ItemFacts,
  nowMs: number,
): string {
  const codes = verdict.codes;
  // A code is written alone when its words derive, as `encodeReasons` decides from the words.
  const mask = reasonsMask(codes, (n) => {
    const code = codes[n]!;
    return (
      sameWords(code, signals, evidence, facts, nowMs) ||
      reasonText(code, signals, evidence, facts, nowMs) === `"${code}"`
    );
  });
  if (mask !== null) return String(mask);
  let out = "";
  for (const code of codes) {
    if (out !== "") out += ",";
    out += sameWords(code, signals, evidence, facts, nowMs)
      ? `"${code}"`
      : reasonText(code, signals, evidence, facts, nowMs);
  }
  return `[${out}]`;
}

/** Whether the words of `code` scored from `signals` are, without building them, those derived for it. */
function sameWords(
  code: RiskReasonCode,
  signals: RiskSignals,
  evidence: ReviewItemEvidence,
  facts: ItemFacts,
  nowMs: number,
): boolean {
  switch (code) {
    case "privileged":
    case "never-used":
    case "never-reviewed":
      return true;
    case "sod-violation":
      return signals.sodRules === evidence.sodRules;
    case "unused":
      return signals.usage?.at === evidence.lastUsedAt && createdAtMs(facts.createdAt) === nowMs;
    case "rare-among-peers": {
      const a = signals.peers;
      const b = evidence.peers;
      return a !== null && b !== null && a.total === b.total && a.holding === b.holding;
    }
    case "requested": {
      const grant = signals.grant;
      if (grant.source !== "assignment") return false;
      const via = evidence.lineage.find((l) => l.kind === "assignment");
      const requestId = via?.kind === "assignment" ? (via.requestId ?? null) : null;
      // The words name the request when there is one, else the assignment.
      return (
        grant.requestId === requestId && (requestId !== null || grant.assignmentId === facts.assignmentId)
      );
    }
    case "kept-after-move": {
      const grant = signals.grant;
      const grace = evidence.lineage.find((l) => l.kind === "mover-grace");
      return (
        grant.source === "mover-grace" && grant.until === (grace?.kind === "mover-grace" ? grace.until : null)
      );
    }
    case "found-in-target-only":
      return false;
  }
}

/** The reason `code` as `encodeReasons` writes it, from its words. */
function reasonText(
  code: RiskReasonCode,
  signals: RiskSignals,
  evidence: ReviewItemEvidence,
  facts: ItemFacts,
  nowMs: number,
): string {
  const reason = reasonOf(code, signals, nowMs);
  return derivedDetail(code, evidence, facts) === reason.detail ? `"${code}"` : JSON.stringify(reason);
}

export function decodeReasons(text: string, evidence: ReviewItemEvidence, facts: ItemFacts): RiskReason[] {
  return decodeReasonsValue(JSON.parse(text), evidence, facts);
}

/** As `decodeReasons`, from the JSON already parsed. */
export function decodeReasonsValue(
  value: unknown,
  evidence: ReviewItemEvidence,
  facts: ItemFacts,
): RiskReason[] {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > REASON_MASK_MAX)
      throw new Error(`review item reasons ${value} is no set of reasons`);
    const reasons: RiskReason[] = [];
    for (let bit = 0; bit < REASON_ORDER.length; bit++) {
      if ((value & (1 << bit)) === 0) continue;
      const code = REASON_ORDER[bit]!;
      const reason = deriveReason(code, evidence, facts);
      if (reason === null) throw new Error(`review item reason ${code} kept without its words`);
      reasons.push(reason);
    }
    return reasons;
  }
  const parsed = value as Array<string | RiskReason>;
  return parsed.map((r) => {
    if (typeof r !== "string") return r;
    const reason = deriveReason(r as RiskReasonCode, evidence, facts);
    // Only codes whose words derive are written alone; anything else is a store written by hand.
    if (reason === null) throw new Error(`review item reason ${r} kept without its words`);
    return reason;
  });
}
