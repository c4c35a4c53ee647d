import { appendEvents } from "../audit/ledger.js";
import { identityInScope, itemInScope } from "../domain/review-scope.js";
import type { ReviewDefinition, ReviewPolicy } from "../domain/review-types.js";
import { type IdRange, loadReviewAccess } from "../engine/review-access.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { largeWriteTransaction } from "../store/large-write-transaction.js";
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
  addTotals,
  campaignPeople,
  firstRule,
  type ReviewerLoad,
  resolveNamed,
  type ScoredPack,
  scoreSubjects,
} from "./review-scoring.js";
import { type OtherPart, SPLIT_IDENTITIES, startOtherPart } from "./review-split.js";

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
  /**
   * Identities still here from which everyone's campaign is computed in two threads (review-split.ts);
   * default SPLIT_IDENTITIES (tests set 0 to take that path with a few people, Infinity to leave it).
   */
  splitIdentities?: number;
}

export interface CampaignStart {
  /** Null when nothing was in scope: no campaign is recorded then. */
  campaign: ReviewCampaign | null;
  /** How many items were generated. */
  items: number;
  /** Reviewer id (null: nobody could be found) → their items. */
  byReviewer: ReadonlyMap<string | null, ReviewerLoad>;
  /** The threads that read and scored the population: 2 when split (review-split.ts). */
  threads: 1 | 2;
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
  const rule = firstRule(definition);
  const load = (part?: IdRange) =>
    loadReviewAccess(db, config, now, {
      ...(options.identityIds === undefined ? {} : { identityIds: options.identityIds }),
      withRoles: scope.roles.length > 0,
      select: {
        identity: (identity) => identityInScope(identity, scope),
        candidate: (c) => itemInScope(c, scope),
      },
      ...(part === undefined ? {} : { part }),
    });

  // Everyone's campaign, when large, in two threads: the second half of everyone by id in a worker.
  let other: OtherPart | null = null;
  let mine: IdRange | undefined;
  if (options.identityIds === undefined) {
    const split = await startOtherPart(
      db,
      config,
      definitionOrName,
      now,
      options.splitIdentities ?? SPLIT_IDENTITIES,
    );
    if (split !== null) ({ other, mine } = split);
  }
  try {
    // Only what the scope keeps is held: identities out of scope and candidates it leaves out are dropped
    // as each page of 5,000 identities is computed (the peer statistics still count everyone).
    let data = await load(mine);
    // Null when the worker refused (the configuration it read is not the campaign's) or failed before
    // it had read its half (it could not start, or open the store): everyone is computed here then.
    const otherLoad = other === null ? null : await other.loaded.catch(() => null);
    if (other !== null && otherLoad === null) {
      await other.close();
      other = null;
      data = await load();
    }

    // Every person a reviewer choice may name, resolved before the transaction.
    const people = campaignPeople(db, data);
    const inScope = data.subjects;
    const total = (await resolveNamed(inScope, config, rule, people)) + (otherLoad?.items ?? 0);
    const identities = inScope.length + (otherLoad?.subjects ?? 0);
    const byReviewer = new Map<string | null, ReviewerLoad>();
    const threads = other === null ? 1 : 2;
    if (total === 0) return { campaign: null, items: 0, byReviewer, threads };

    const campaign: ReviewCampaign = {
      id: newId(),
      definition: definition.name,
      kind: options.kind,
      status: "open",
      settings: settingsSnapshot(definition),
      subjectIdentityId: options.subjectIdentityId ?? null,
      startedAt: nowIso,
      startedBy,
      deadline: (
        options.deadline ?? new Date(now.getTime() + definition.durationDays * DAY_MS)
      ).toISOString(),
      closedAt: null,
      closedBy: null,
      items: total,
    };

    // On a SQLite store in a file, a large campaign's transaction runs in a thread of its own: SQLite
    // writes one batch of packs while the next is scored (store/large-write-transaction.ts).
    const thread = { threadRows: options.writerThreadRows };
    const write = largeWriteTransaction(db, identities, thread, async (trx, insert) => {
      // Packs: one row per (identity, first-stage reviewer), numbered as they are written.
      let pack = 0;
      const insertPacks = (packs: ScoredPack[]) =>
        insert(
          PACK_INSERT,
          packs.map((p) => [campaign.id, pack++, p[0], p[1], p[2], p[3], p[4], p[5], nowIso]),
        );
      // The other half is scored beside this one, with this half's counts added to its own (taken
      // before the other's are added here).
      const otherScored = other === null ? null : other.score(data.peers.counts(), insertPacks);
      otherScored?.catch(() => {});
      if (otherLoad !== null) data.peers.merge(otherLoad.counts);
      const totals = await scoreSubjects(
        inScope,
        { config, definition, data, people, nowIso, nowMs },
        insertPacks,
      );
      if (otherScored !== null) {
        const theirs = await otherScored;
        addTotals(totals, theirs.totals);
        for (const r of theirs.reviewers) people.byId.set(r.id, r);
      }
      for (const [reviewer, load] of totals.byReviewer) byReviewer.set(reviewer, load);
      const { levels, reroutes } = totals;
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
            identities,
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
    return { campaign, items: total, byReviewer, threads };
  } finally {
    await other?.close();
  }
}
