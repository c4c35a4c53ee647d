import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { judgeRisk, type RiskGrant, type RiskSignals } from "../domain/review-risk.js";
import type { CandidateItem } from "../domain/review-scope.js";
import type { ReviewDefinition, ReviewerRule } from "../domain/review-types.js";
import { type ReviewAccessData, type ReviewSubject, sourceKeyOf } from "../engine/review-access.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { encodeScoredPackItem } from "../store/review-pack-codec.js";
import type { Db } from "../store/schema-types.js";
import {
  accessOwner,
  chooseReviewer,
  type PeopleCache,
  type ReviewerChoice,
  systemOwner,
} from "./review-reviewers.js";

/**
 * A campaign's items scored, one subject after another (workflows/review-generation.ts starts the
 * campaign; its population may be scored in two threads, each its own part): each item's risk, reasons
 * and evidence, its first-stage reviewer, the items packed per (identity, reviewer) as the JSON text of
 * their elements (store/review-pack-codec.ts).
 */

/** Packs handed over at a time at most. */
const BATCH = 1_000;
/**
 * Characters of pack text held before they are handed over. A batch's texts outlive the young
 * generation's collections while it fills, and each collection copies them (then moves them to the old
 * generation): 1,000 packs of a campaign of a million items are about 2 MB, copied twice each. A smaller
 * batch is written before most of its texts are copied at all (a campaign of 1,105,001 items on SQLite:
 * 300 MB less peak memory, and its young collections after the load took 2 ms instead of 6).
 */
const BATCH_CHARS = 256 * 1024;

/** What one reviewer was given. */
export interface ReviewerLoad {
  items: number;
  high: number;
}

/** A pack as scored: holder id, reviewer id, its items' count, how many are high, the top score, the items' text. */
export type ScoredPack = [string, string | null, number, number, number, string];

/** What a scoring counted. */
export interface ScoringTotals {
  levels: { high: number; medium: number; low: number };
  reroutes: { "self-review": number; "no-reviewer": number };
  /** Reviewer id (null: nobody could be found) → their items. */
  byReviewer: Map<string | null, ReviewerLoad>;
}

export interface ScoringContext {
  config: TenureConfig;
  definition: ReviewDefinition;
  data: ReviewAccessData;
  people: PeopleCache;
  nowIso: string;
  nowMs: number;
}

/** The items of one (identity, reviewer) as they are scored. */
interface OpenPack {
  items: string[];
  high: number;
  max: number;
}

/** The first stage's reviewer rule of `definition`: the manager when it names none. */
export function firstRule(definition: ReviewDefinition): ReviewerRule {
  return definition.stages[0]?.reviewer ?? { kind: "manager" };
}

/** The reference a rule names a reviewer by, for the access: what the choice depends on besides the holder. */
export function ruleRef(rule: ReviewerRule, config: TenureConfig, item: CandidateItem): string {
  switch (rule.kind) {
    case "manager":
    case "nhi-owner":
      return "";
    case "access-owner":
      return accessOwner(config.policy, item.access) ?? "";
    case "system-owner":
      return systemOwner(config.policy, item.access) ?? "";
    case "person":
      return rule.person;
  }
}

function grantOf(item: CandidateItem): RiskGrant {
  switch (item.source) {
    case "birthright":
      return { source: "birthright" };
    case "assignment":
      return { source: "assignment", assignmentId: item.assignmentId, requestId: item.requestId };
    case "mover-grace":
      return { source: "mover-grace", until: item.graceUntil };
    case "found":
      return {
        source: "found",
        system: item.account?.system ?? "?",
        username: item.account?.username ?? "?",
        managed:
          item.access.kind === "entitlement" && item.account?.isManaged(item.access.entitlement) === true,
      };
  }
}

/**
 * People resolved once per campaign: managers first from the identities already read (by HR key), then
 * from the store; named people (owners, `person`) from the store. Every answer is remembered, so the
 * scoring pass, run inside the transaction, never reads.
 */
export function campaignPeople(
  db: Db,
  data: ReviewAccessData,
): PeopleCache & { byId: Map<string, Identity> } {
  const refs = new Map<string, Promise<Identity | undefined>>();
  const byId = new Map<string, Identity>();
  for (const i of data.bySourceKey.values()) byId.set(i.id, i);
  const remember = (i: Identity | undefined) => {
    if (i !== undefined) byId.set(i.id, i);
    return i;
  };
  return {
    byId,
    resolve(ref) {
      let found = refs.get(ref);
      if (found === undefined) {
        found = identityRepository
          .resolve(db, ref)
          .then((i) => remember(i === undefined || isGone(i.state) ? undefined : i));
        refs.set(ref, found);
      }
      return found;
    },
    managerOf(person) {
      const key = person.attributes.managerId;
      if (key === null) return Promise.resolve(undefined);
      return Promise.resolve(data.bySourceKey.get(sourceKeyOf(person.source, key)));
    },
  };
}

/**
 * Resolves, before the transaction, every person the choices of `subjects` may name (the scoring pass
 * must not read: on SQLite's one connection, inside the transaction, a read would hang); gives their
 * items' count.
 */
export async function resolveNamed(
  subjects: readonly ReviewSubject[],
  config: TenureConfig,
  rule: ReviewerRule,
  people: PeopleCache,
): Promise<number> {
  const refs = new Set<string>();
  let total = 0;
  for (const subject of subjects) {
    total += subject.candidates.length;
    for (const item of subject.candidates) refs.add(ruleRef(rule, config, item));
    // A service identity's owner (its managerId, an HR key of another source) is resolved by name.
    const owner = subject.identity.attributes.managerId;
    if (subject.identity.kind === "service" && owner !== null && subject.candidates.length > 0)
      refs.add(owner);
  }
  refs.delete("");
  for (const ref of refs) await people.resolve(ref);
  return total;
}

/** Totals of nothing scored yet. */
export function noTotals(): ScoringTotals {
  return {
    levels: { high: 0, medium: 0, low: 0 },
    reroutes: { "self-review": 0, "no-reviewer": 0 },
    byReviewer: new Map(),
  };
}

/** Adds `other` into `into` (the totals of another part of the campaign). */
export function addTotals(into: ScoringTotals, other: ScoringTotals): void {
  for (const k of ["high", "medium", "low"] as const) into.levels[k] += other.levels[k];
  for (const k of ["self-review", "no-reviewer"] as const) into.reroutes[k] += other.reroutes[k];
  for (const [reviewer, load] of other.byReviewer) {
    const mine = into.byReviewer.get(reviewer);
    if (mine === undefined) into.byReviewer.set(reviewer, { ...load });
    else {
      mine.items += load.items;
      mine.high += load.high;
    }
  }
}

/**
 * Scores `queue`'s subjects in order, handing their packs to `flush` a batch at a time. Scored subjects
 * are let go as the pass goes (their places set to null): the heap shrinks while the items are written.
 */
export async function scoreSubjects(
  queue: Array<ReviewSubject | null>,
  ctx: ScoringContext,
  flush: (packs: ScoredPack[]) => Promise<void>,
): Promise<ScoringTotals> {
  const { config, definition, data, people, nowIso, nowMs } = ctx;
  const rule = firstRule(definition);
  const totals = noTotals();
  const { levels, reroutes, byReviewer } = totals;
  let batch: ScoredPack[] = [];
  let batchChars = 0;
  for (let n = 0; n < queue.length; n++) {
    const subject = queue[n]!;
    const items = subject.candidates;
    queue[n] = null;
    const holder = subject.identity;
    // The choice depends on the holder and the person the rule names: one per name per holder.
    const choices = new Map<string, ReviewerChoice>();
    const packs = new Map<string | null, OpenPack>();
    for (const c of items) {
      const ref = ruleRef(rule, config, c);
      let choice = choices.get(ref);
      if (choice === undefined) {
        choice = await chooseReviewer(rule, holder, c.access, config.policy, people);
        choices.set(ref, choice);
      }
      const usageKnown = c.account !== null && data.usageSystems.has(c.account.system);
      const lastReview = data.lastReview(holder.id, c.accessKey);
      const sodRules = data.sodRules(holder.id, c.accessKey);
      const peers = data.peers.peersOf(subject.group, c.accessKey);
      const signals: RiskSignals = {
        privileged: c.privileged,
        sodRules,
        usage: usageKnown ? { at: c.account!.lastUsedAt } : null,
        peers,
        grant: grantOf(c),
        reviewedBefore: lastReview !== null,
      };
      const risk = judgeRisk(signals, definition.risk, nowMs);
      const high = risk.level === "high" ? 1 : 0;
      levels[risk.level]++;
      if (choice.rerouteReason === "self-review" || choice.rerouteReason === "no-reviewer")
        reroutes[choice.rerouteReason]++;
      const load = byReviewer.get(choice.reviewerId);
      if (load === undefined) byReviewer.set(choice.reviewerId, { items: 1, high });
      else {
        load.items++;
        load.high += high;
      }
      const element = encodeScoredPackItem(
        {
          access: c.access,
          accessKey: c.accessKey,
          source: c.source,
          assignmentId: c.assignmentId,
          privileged: c.privileged,
          evidence: {
            lineage: c.lineage,
            lastUsedAt: c.account?.lastUsedAt ?? null,
            peers,
            lastReview,
            sodRules,
          },
          ruleReviewerId: choice.ruleReviewerId,
          rerouteReason: choice.rerouteReason,
        },
        risk,
        signals,
        nowIso,
        nowMs,
      );
      const open = packs.get(choice.reviewerId);
      if (open === undefined) packs.set(choice.reviewerId, { items: [element], high, max: risk.score });
      else {
        open.items.push(element);
        open.high += high;
        if (risk.score > open.max) open.max = risk.score;
      }
    }
    for (const [reviewerId, p] of packs) {
      const text = `[${p.items.join(",")}]`;
      batchChars += text.length;
      batch.push([holder.id, reviewerId, p.items.length, p.high, p.max, text]);
    }
    if (batch.length >= BATCH || batchChars >= BATCH_CHARS) {
      await flush(batch);
      batch = [];
      batchChars = 0;
    }
  }
  if (batch.length > 0) await flush(batch);
  return totals;
}
