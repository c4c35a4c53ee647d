import { appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { judgeRisk, type RiskGrant, type RiskSignals } from "../domain/review-risk.js";
import { type CandidateItem, identityInScope, itemInScope } from "../domain/review-scope.js";
import type { ReviewDefinition, ReviewerRule, ReviewPolicy } from "../domain/review-types.js";
import {
  loadReviewAccess,
  type ReviewAccessData,
  type ReviewSubject,
  sourceKeyOf,
} from "../engine/review-access.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { identityRepository } from "../store/identity-repository.js";
import { largeWriteTransaction } from "../store/large-write-transaction.js";
import { encodeScoredPackItem } from "../store/review-pack-codec.js";
import { PACK_INSERT } from "../store/review-pack-repository.js";
import { reviewNoticeRepository } from "../store/review-progress-repository.js";
import {
  type CampaignKind,
  type ReviewCampaign,
  reviewCampaignRepository,
} from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";
import { isUniqueViolation } from "../store/store-errors.js";
import { ReviewRefusedError } from "./review-decisions.js";
import { reviewLink } from "./review-notices.js";
import {
  accessOwner,
  chooseReviewer,
  type PeopleCache,
  type ReviewerChoice,
  systemOwner,
} from "./review-reviewers.js";

/**
 * Starting a campaign: one item per (identity, access) in the definition's scope, from effective access
 * (birthright, assignments, mover grace, entitlements found in the targets), each with its risk, the
 * reasons and evidence behind it, a recommendation, and its first-stage reviewer — never the holder
 * (their manager instead, or nobody). The campaign, its items, the audit event and one `review.assigned`
 * notification per reviewer are written in one transaction: a failure leaves no campaign at all. The
 * items are written packed, one row per (identity, reviewer) (store/review-pack-codec.ts): an item is
 * written out as a row of its own when it first changes.
 *
 * Reads happen before the transaction; on SQLite the transaction then holds the write lock while the
 * items are scored and written (about as long as the inserts take).
 */

const DAY_MS = 86_400_000;
/** Packs written per insert batch at most. */
const BATCH = 1_000;
/**
 * Characters of pack text held before they are written. A batch's texts outlive the young generation's
 * collections while it fills, and each collection copies them (then moves them to the old generation):
 * 1,000 packs of a campaign of a million items are about 2 MB, copied twice each. A smaller batch is
 * written before most of its texts are copied at all (a campaign of 1,105,001 items on SQLite: 300 MB
 * less peak memory, and its young collections after the load took 2 ms instead of 6).
 */
const BATCH_CHARS = 256 * 1024;

/** The items of one (identity, reviewer) as they are scored. */
interface OpenPack {
  items: string[];
  high: number;
  max: number;
}

export interface StartCampaignOptions {
  now: Date;
  /** An identity id, `token:NAME`, `scheduler` or `lifecycle`. */
  startedBy: string;
  kind: CampaignKind;
  /** The identity a mover micro-review is about. */
  subjectIdentityId?: string;
  /** Default: `now` + the definition's `durationDays`. */
  deadline?: Date;
  /** Only these identities (a mover review); absent: everyone still here. */
  identityIds?: readonly string[];
  /**
   * Packs from which a SQLite store in a file writes the campaign from a thread of its own; default
   * that of store/large-write-transaction.ts (tests set 0 to take that path with a few items).
   */
  writerThreadRows?: number;
}

/** What one reviewer was given. */
export interface ReviewerLoad {
  items: number;
  high: number;
}

export interface CampaignStart {
  /** Null when nothing was in scope: no campaign is recorded then. */
  campaign: ReviewCampaign | null;
  /** How many items were generated. */
  items: number;
  /** Reviewer id (null: nobody could be found) → their items. */
  byReviewer: ReadonlyMap<string | null, ReviewerLoad>;
}

/** The definition called `name` in `reviews.campaigns`, or one given as is. */
export function campaignDefinition(
  config: TenureConfig,
  definition: string | ReviewDefinition,
): ReviewDefinition {
  if (typeof definition !== "string") return definition;
  const campaigns = (config as { reviews?: ReviewPolicy }).reviews?.campaigns ?? {};
  const found = Object.hasOwn(campaigns, definition) ? campaigns[definition] : undefined;
  if (found === undefined) {
    const known = Object.keys(campaigns).sort();
    throw new NotFoundError(
      `no review campaign "${definition}" in reviews.campaigns (${known.length === 0 ? "none is defined" : `known: ${known.join(", ")}`})`,
    );
  }
  return found;
}

/** The definition as a campaign keeps it: the compiled `where` rule reduced to its text and place. */
function settingsSnapshot(definition: ReviewDefinition): ReviewDefinition {
  const where = definition.scope.where;
  return {
    ...definition,
    scope: {
      ...definition.scope,
      // A compiled rule holds its evaluator (a function): only what can be written is kept.
      where:
        where === null
          ? null
          : ({
              source: where.source,
              location: where.location,
              reads: where.reads,
            } as unknown as typeof where),
    },
  };
}

/**
 * People resolved once per campaign: managers first from the identities already read (by HR key), then
 * from the store; named people (owners, `person`) from the store. Every answer is remembered, so the
 * scoring pass, run inside the transaction, never reads.
 */
function campaignPeople(db: Db, data: ReviewAccessData): PeopleCache & { byId: Map<string, Identity> } {
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

/** The reference a rule names a reviewer by, for the access: what the choice depends on besides the holder. */
function ruleRef(rule: ReviewerRule, config: TenureConfig, item: CandidateItem): string {
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

/** Starts a campaign of `definition` (a name in `reviews.campaigns`, or a definition) at `options.now`. */
/** A definition runs one campaign at a time: a second start while one is open would ask everyone twice. */
async function refuseIfOpen(db: Db, definition: string): Promise<void> {
  const [open] = await reviewCampaignRepository.list(db, { status: "open", definition, limit: 1 });
  if (open !== undefined) {
    throw new ReviewRefusedError(
      "campaign_open",
      `campaign ${open.id} of ${definition} is open until ${open.deadline}: close it first (tenure review close ${open.id})`,
      409,
    );
  }
}

export async function startCampaign(
  db: Db,
  config: TenureConfig,
  definitionOrName: string | ReviewDefinition,
  options: StartCampaignOptions,
): Promise<CampaignStart> {
  const definition = campaignDefinition(config, definitionOrName);
  const { now, startedBy } = options;
  if (options.kind !== "mover") await refuseIfOpen(db, definition.name);
  const nowIso = now.toISOString();
  const nowMs = now.getTime();
  const scope = definition.scope;
  const rule = definition.stages[0]?.reviewer ?? { kind: "manager" };
  // Only what the scope keeps is held: identities out of scope and candidates it leaves out are dropped
  // as each page of 5,000 identities is computed (the peer statistics still count everyone).
  const data = await loadReviewAccess(db, config, now, {
    ...(options.identityIds === undefined ? {} : { identityIds: options.identityIds }),
    withRoles: scope.roles.length > 0,
    select: {
      identity: (identity) => identityInScope(identity, scope),
      candidate: (c) => itemInScope(c, scope),
    },
  });

  // Every person a reviewer choice may name, resolved before the transaction.
  const people = campaignPeople(db, data);
  const inScope = data.subjects;
  const refs = new Set<string>();
  let total = 0;
  for (const subject of inScope) {
    total += subject.candidates.length;
    for (const item of subject.candidates) refs.add(ruleRef(rule, config, item));
    // A service identity's owner (its managerId, an HR key of another source) is resolved by name: read
    // here, or the scoring pass would read inside the transaction (on SQLite's one connection: a hang).
    const owner = subject.identity.attributes.managerId;
    if (subject.identity.kind === "service" && owner !== null && subject.candidates.length > 0)
      refs.add(owner);
  }
  refs.delete("");
  for (const ref of refs) await people.resolve(ref);
  const byReviewer = new Map<string | null, ReviewerLoad>();
  if (total === 0) return { campaign: null, items: 0, byReviewer };

  const campaign: ReviewCampaign = {
    id: newId(),
    definition: definition.name,
    kind: options.kind,
    status: "open",
    settings: settingsSnapshot(definition),
    subjectIdentityId: options.subjectIdentityId ?? null,
    startedAt: nowIso,
    startedBy,
    deadline: (options.deadline ?? new Date(now.getTime() + definition.durationDays * DAY_MS)).toISOString(),
    closedAt: null,
    closedBy: null,
    items: total,
  };
  const levels = { high: 0, medium: 0, low: 0 };
  const reroutes = { "self-review": 0, "no-reviewer": 0 };

  // On a SQLite store in a file, a large campaign's transaction runs in a thread of its own: SQLite
  // writes one batch of packs while the next is scored (store/large-write-transaction.ts).
  const thread = { threadRows: options.writerThreadRows };
  const write = largeWriteTransaction(db, inScope.length, thread, async (trx, insert) => {
    // Packs: one row per (identity, first-stage reviewer), its items as the JSON text of their elements.
    let batch: unknown[][] = [];
    let batchChars = 0;
    let pack = 0;
    // Written subjects are let go as the pass goes: the heap shrinks while the items are written.
    const queue: Array<ReviewSubject | null> = inScope;
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
        batch.push([campaign.id, pack++, holder.id, reviewerId, p.items.length, p.high, p.max, text, nowIso]);
      }
      if (batch.length >= BATCH || batchChars >= BATCH_CHARS) {
        await insert(PACK_INSERT, batch);
        batch = [];
        batchChars = 0;
      }
    }
    await insert(PACK_INSERT, batch);
    await reviewCampaignRepository.insert(trx, campaign);
    await appendEvents(trx, [
      {
        time: nowIso,
        actor: startedBy,
        action: "review.campaign_started",
        subject: `campaign:${campaign.id}`,
        details: {
          campaign: campaign.id,
          definition: definition.name,
          kind: options.kind,
          items: total,
          identities: inScope.length,
          reviewers: [...byReviewer.keys()].filter((k) => k !== null).length,
          risk: levels,
          selfReview: reroutes["self-review"],
          noReviewer: reroutes["no-reviewer"],
          deadline: campaign.deadline,
          ...(campaign.subjectIdentityId === null ? {} : { subjectIdentity: campaign.subjectIdentityId }),
        },
      },
    ]);
    for (const [reviewerId, load] of byReviewer) {
      if (reviewerId === null) continue;
      const reviewer = people.byId.get(reviewerId);
      if (reviewer === undefined) continue;
      // The same notice key as later notices of the campaign use: a reviewer is told once per reason.
      await reviewNoticeRepository.claim(trx, `assigned:${campaign.id}:${reviewerId}:started`, nowIso);
      await enqueueNotifications(
        trx,
        {
          name: "review.assigned",
          data: {
            campaignId: campaign.id,
            campaign: definition.name,
            to: reviewer.attributes.email,
            reviewer: reviewer.attributes.displayName,
            items: load.items,
            highRisk: load.high,
            deadline: campaign.deadline,
            why: "started",
            link: reviewLink(config, campaign.id),
          },
        },
        config,
        now,
      );
    }
  });
  try {
    await write;
  } catch (err) {
    // Started twice at the same moment: the other start won. Asked after the transaction (on PostgreSQL
    // it is aborted; on SQLite its connection is the store's only one, held until it ends).
    if (isUniqueViolation(err)) await refuseIfOpen(db, definition.name);
    throw err;
  }
  return { campaign, items: total, byReviewer };
}
