import { decodeEvidence, decodeReasons, encodeEvidence, encodeReasons } from "../domain/review-item-codec.js";
import type {
  CampaignStatus,
  ItemRisk,
  RemovalState,
  RerouteReason,
  ReviewAccess,
  ReviewDefinition,
  ReviewItemEvidence,
  ReviewItemState,
  ReviewRisk,
  ReviewSource,
} from "../domain/review-types.js";
import { bulkInsert } from "./bulk-insert.js";
import { chunk } from "./chunk.js";
import type { Db, ReviewCampaignsTable, ReviewItemsTable } from "./schema-types.js";

/** Campaigns and their items, as kept. Decisions and removals change items; nothing is deleted. */

export type CampaignKind = "scheduled" | "ad-hoc" | "mover";

export interface ReviewCampaign {
  id: string;
  definition: string;
  kind: CampaignKind;
  status: CampaignStatus;
  /** The definition as it was at the start. */
  settings: ReviewDefinition;
  subjectIdentityId: string | null;
  startedAt: string;
  /** An identity id, `token:NAME`, `scheduler` or `lifecycle`. */
  startedBy: string;
  deadline: string;
  closedAt: string | null;
  closedBy: string | null;
  items: number;
}

export interface ReviewItem {
  id: string;
  campaignId: string;
  identityId: string;
  access: ReviewAccess;
  /** `role:NAME` or `entitlement:SYSTEM:KEY`. */
  accessKey: string;
  source: ReviewSource;
  assignmentId: string | null;
  privileged: boolean;
  risk: ItemRisk;
  evidence: ReviewItemEvidence;
  stage: number;
  reviewerId: string | null;
  ruleReviewerId: string | null;
  rerouteReason: RerouteReason | null;
  state: ReviewItemState;
  decidedBy: string | null;
  decidedAt: string | null;
  comment: string | null;
  bulk: boolean;
  removalState: RemovalState | null;
  removalDetail: string | null;
  removalAttempts: number;
  removalNextAt: string | null;
  confirmedAt: string | null;
  version: number;
  createdAt: string;
}

/** The key an access is compared by across campaigns. */
export function accessKeyOf(access: ReviewAccess): string {
  return access.kind === "role"
    ? `role:${access.role}`
    : `entitlement:${access.system}:${access.entitlement}`;
}

function campaignFromRow(r: ReviewCampaignsTable): ReviewCampaign {
  return {
    id: r.id,
    definition: r.definition,
    kind: r.kind as CampaignKind,
    status: r.status as CampaignStatus,
    settings: JSON.parse(r.settings) as ReviewDefinition,
    subjectIdentityId: r.subject_identity_id,
    startedAt: r.started_at,
    startedBy: r.started_by,
    deadline: r.deadline,
    closedAt: r.closed_at,
    closedBy: r.closed_by,
    items: Number(r.items),
  };
}

function campaignToRow(c: ReviewCampaign): ReviewCampaignsTable {
  return {
    id: c.id,
    definition: c.definition,
    kind: c.kind,
    status: c.status,
    // A compiled rule (`where`) holds a function: only its source and location are kept.
    settings: JSON.stringify(c.settings),
    subject_identity_id: c.subjectIdentityId,
    started_at: c.startedAt,
    started_by: c.startedBy,
    deadline: c.deadline,
    closed_at: c.closedAt,
    closed_by: c.closedBy,
    items: c.items,
  };
}

function itemFromRow(r: ReviewItemsTable): ReviewItem {
  const access: ReviewAccess =
    r.role !== null
      ? { kind: "role", role: r.role }
      : { kind: "entitlement", system: r.system ?? "", entitlement: r.entitlement ?? "" };
  // Kept compactly (review-item-codec.ts): the reasons' words come back from the evidence and the row.
  const facts = { access, assignmentId: r.assignment_id, createdAt: r.created_at };
  const evidence = decodeEvidence(r.evidence, facts);
  return {
    id: r.id,
    campaignId: r.campaign_id,
    identityId: r.identity_id,
    access,
    accessKey: r.access_key,
    source: r.source as ReviewSource,
    assignmentId: r.assignment_id,
    privileged: Number(r.privileged) === 1,
    risk: {
      score: Number(r.risk_score),
      level: r.risk_level as ReviewRisk,
      reasons: decodeReasons(r.reasons, evidence, facts),
      recommendation: r.recommendation as ItemRisk["recommendation"],
    },
    evidence,
    stage: Number(r.stage),
    reviewerId: r.reviewer_id,
    ruleReviewerId: r.rule_reviewer_id,
    rerouteReason: r.reroute_reason as RerouteReason | null,
    state: r.state as ReviewItemState,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    comment: r.comment,
    bulk: Number(r.bulk) === 1,
    removalState: r.removal_state as RemovalState | null,
    removalDetail: r.removal_detail,
    removalAttempts: Number(r.removal_attempts),
    removalNextAt: r.removal_next_at,
    confirmedAt: r.confirmed_at,
    version: Number(r.version),
    createdAt: r.created_at,
  };
}

const ITEM_COLUMNS = [
  "id",
  "campaign_id",
  "identity_id",
  "access_key",
  "role",
  "system",
  "entitlement",
  "source",
  "assignment_id",
  "privileged",
  "risk_score",
  "risk_level",
  "reasons",
  "recommendation",
  "evidence",
  "stage",
  "reviewer_id",
  "rule_reviewer_id",
  "reroute_reason",
  "state",
  "created_at",
] as const;

function itemValues(i: ReviewItem): unknown[] {
  const facts = { access: i.access, assignmentId: i.assignmentId, createdAt: i.createdAt };
  return [
    i.id,
    i.campaignId,
    i.identityId,
    i.accessKey,
    i.access.kind === "role" ? i.access.role : null,
    i.access.kind === "entitlement" ? i.access.system : null,
    i.access.kind === "entitlement" ? i.access.entitlement : null,
    i.source,
    i.assignmentId,
    i.privileged ? 1 : 0,
    i.risk.score,
    i.risk.level,
    encodeReasons(i.risk.reasons, i.evidence, facts),
    i.risk.recommendation,
    encodeEvidence(i.evidence, facts),
    i.stage,
    i.reviewerId,
    i.ruleReviewerId,
    i.rerouteReason,
    i.state,
    i.createdAt,
  ];
}

export interface ItemFilter {
  campaignId?: string;
  reviewerId?: string;
  identityId?: string;
  states?: readonly ReviewItemState[];
  /** Keyset paging, riskiest first: the (score, id) of the last item of the previous page. */
  after?: { score: number; id: string };
  limit?: number;
}

/** A changed item, written only if nobody changed it since it was read (its version). */
export type ItemChange = Partial<
  Pick<
    ReviewItem,
    | "stage"
    | "reviewerId"
    | "ruleReviewerId"
    | "rerouteReason"
    | "state"
    | "decidedBy"
    | "decidedAt"
    | "comment"
    | "bulk"
    | "removalState"
    | "removalDetail"
    | "removalAttempts"
    | "removalNextAt"
    | "confirmedAt"
  >
>;

function changeToRow(change: ItemChange): Partial<ReviewItemsTable> {
  const row: Partial<ReviewItemsTable> = {};
  if (change.stage !== undefined) row.stage = change.stage;
  if (change.reviewerId !== undefined) row.reviewer_id = change.reviewerId;
  if (change.ruleReviewerId !== undefined) row.rule_reviewer_id = change.ruleReviewerId;
  if (change.rerouteReason !== undefined) row.reroute_reason = change.rerouteReason;
  if (change.state !== undefined) row.state = change.state;
  if (change.decidedBy !== undefined) row.decided_by = change.decidedBy;
  if (change.decidedAt !== undefined) row.decided_at = change.decidedAt;
  if (change.comment !== undefined) row.comment = change.comment;
  if (change.bulk !== undefined) row.bulk = change.bulk ? 1 : 0;
  if (change.removalState !== undefined) row.removal_state = change.removalState;
  if (change.removalDetail !== undefined) row.removal_detail = change.removalDetail;
  if (change.removalAttempts !== undefined) row.removal_attempts = change.removalAttempts;
  if (change.removalNextAt !== undefined) row.removal_next_at = change.removalNextAt;
  if (change.confirmedAt !== undefined) row.confirmed_at = change.confirmedAt;
  return row;
}

export const reviewCampaignRepository = {
  async insert(db: Db, campaign: ReviewCampaign): Promise<void> {
    await db.insertInto("review_campaigns").values(campaignToRow(campaign)).execute();
  },

  async find(db: Db, id: string): Promise<ReviewCampaign | undefined> {
    const row = await db.selectFrom("review_campaigns").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : campaignFromRow(row);
  },

  /** Newest first. */
  async list(
    db: Db,
    filter: { status?: CampaignStatus; definition?: string; limit?: number } = {},
  ): Promise<ReviewCampaign[]> {
    let q = db.selectFrom("review_campaigns").selectAll();
    if (filter.status !== undefined) q = q.where("status", "=", filter.status);
    if (filter.definition !== undefined) q = q.where("definition", "=", filter.definition);
    const rows = await q
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .limit(filter.limit ?? 1000)
      .execute();
    return rows.map(campaignFromRow);
  },

  /** Open campaigns whose deadline is at or before `at`. */
  async due(db: Db, at: string): Promise<ReviewCampaign[]> {
    const rows = await db
      .selectFrom("review_campaigns")
      .selectAll()
      .where("status", "=", "open")
      .where("deadline", "<=", at)
      .orderBy("deadline")
      .execute();
    return rows.map(campaignFromRow);
  },

  async setItemCount(db: Db, id: string, items: number): Promise<void> {
    await db.updateTable("review_campaigns").set({ items }).where("id", "=", id).execute();
  },

  async extendDeadline(db: Db, id: string, deadline: string): Promise<void> {
    await db.updateTable("review_campaigns").set({ deadline }).where("id", "=", id).execute();
  },

  /** Closes an open campaign; false when it was already closed (someone else closed it first). */
  async close(db: Db, id: string, at: string, by: string): Promise<boolean> {
    const result = await db
      .updateTable("review_campaigns")
      .set({ status: "closed", closed_at: at, closed_by: by })
      .where("id", "=", id)
      .where("status", "=", "open")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};

export const reviewItemRepository = {
  async insertMany(db: Db, items: readonly ReviewItem[]): Promise<void> {
    if (items.length === 0) return;
    await bulkInsert(db, { table: "review_items", columns: ITEM_COLUMNS }, items.map(itemValues));
  },

  async find(db: Db, id: string): Promise<ReviewItem | undefined> {
    const row = await db.selectFrom("review_items").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : itemFromRow(row);
  },

  async findMany(db: Db, ids: readonly string[]): Promise<ReviewItem[]> {
    const out: ReviewItem[] = [];
    for (const part of chunk(ids, 500)) {
      const rows = await db.selectFrom("review_items").selectAll().where("id", "in", part).execute();
      for (const r of rows) out.push(itemFromRow(r));
    }
    return out;
  },

  /** Riskiest first, then by id; keyset-paged with `after`. */
  async list(db: Db, filter: ItemFilter): Promise<ReviewItem[]> {
    let q = db.selectFrom("review_items").selectAll();
    if (filter.reviewerId !== undefined) q = q.where("reviewer_id", "=", filter.reviewerId);
    if (filter.campaignId !== undefined) q = q.where("campaign_id", "=", filter.campaignId);
    if (filter.identityId !== undefined) q = q.where("identity_id", "=", filter.identityId);
    if (filter.states !== undefined) {
      if (filter.states.length === 0) return [];
      q = q.where("state", "in", filter.states);
    }
    const after = filter.after;
    if (after !== undefined) {
      q = q.where((eb) =>
        eb.or([
          eb("risk_score", "<", after.score),
          eb.and([eb("risk_score", "=", after.score), eb("id", ">", after.id)]),
        ]),
      );
    }
    const rows = await q
      .orderBy("risk_score", "desc")
      .orderBy("id")
      .limit(filter.limit ?? 50)
      .execute();
    return rows.map(itemFromRow);
  },

  /** Every item matching `filter` (without `after`/`limit`), riskiest first, read a page at a time. */
  async all(db: Db, filter: Omit<ItemFilter, "after" | "limit">, pageSize = 1000): Promise<ReviewItem[]> {
    const out: ReviewItem[] = [];
    let after: { score: number; id: string } | undefined;
    for (;;) {
      const page = await this.list(db, {
        ...filter,
        limit: pageSize,
        ...(after === undefined ? {} : { after }),
      });
      out.push(...page);
      const last = page.at(-1);
      if (page.length < pageSize || last === undefined) return out;
      after = { score: last.risk.score, id: last.id };
    }
  },

  /** How many items of a campaign are in each state. */
  async countByState(db: Db, campaignId: string): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom("review_items")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
      .where("campaign_id", "=", campaignId)
      .groupBy("state")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  },

  /**
   * Applies `change` if the item is still at `version` (and, when given, still in one of `states`);
   * false when someone changed it first. Bumps the version.
   */
  async update(
    db: Db,
    id: string,
    version: number,
    change: ItemChange,
    states?: readonly ReviewItemState[],
  ): Promise<boolean> {
    let q = db
      .updateTable("review_items")
      .set({ ...changeToRow(change), version: version + 1 })
      .where("id", "=", id)
      .where("version", "=", version);
    if (states !== undefined) q = q.where("state", "in", states);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * The latest decision a person made per access of `identityIds` (for `never reviewed before` and the
   * evidence): certified or revoked by a reviewer, not what a deadline or a leaver decided.
   */
  async lastDecisions(
    db: Db,
    identityIds: readonly string[] | undefined,
  ): Promise<Map<string, { campaignId: string; state: ReviewItemState; at: string }>> {
    const out = new Map<string, { campaignId: string; state: ReviewItemState; at: string }>();
    const parts = identityIds === undefined ? [undefined] : chunk(identityIds, 500);
    for (const part of parts) {
      let q = db
        .selectFrom("review_items")
        .select(["identity_id", "access_key", "campaign_id", "state", "decided_at"])
        // A person's decision only: the deadline keeping an item nobody looked at is not a review.
        .where("decided_at", "is not", null)
        .where("decided_by", "is not", null)
        .where("state", "in", ["certified", "revoked"]);
      if (part !== undefined) q = q.where("identity_id", "in", part);
      for (const r of await q.execute()) {
        const key = `${r.identity_id}|${r.access_key}`;
        const seen = out.get(key);
        if (seen === undefined || seen.at < r.decided_at!)
          out.set(key, { campaignId: r.campaign_id, state: r.state as ReviewItemState, at: r.decided_at! });
      }
    }
    return out;
  },

  /** Revocations whose removal is still to run (pending, or failed and due again at `at`). */
  async removalsDue(db: Db, at: string, limit = 500): Promise<ReviewItem[]> {
    const rows = await db
      .selectFrom("review_items")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb("removal_state", "=", "pending"),
          eb.and([eb("removal_state", "=", "failed"), eb("removal_next_at", "<=", at)]),
          eb.and([eb("removal_state", "=", "applied"), eb("removal_next_at", "<=", at)]),
        ]),
      )
      .orderBy("decided_at")
      .limit(limit)
      .execute();
    return rows.map(itemFromRow);
  },
};
