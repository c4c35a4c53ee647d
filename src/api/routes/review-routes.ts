import type { FastifyRequest } from "fastify";
import { z } from "zod";
import type { Identity } from "../../domain/identity-types.js";
import { NotFoundError, TenureError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { reviewCampaignRepository, reviewItemRepository } from "../../store/review-repository.js";
import { closeCampaign } from "../../workflows/review-closing.js";
import { decideBulk, decideItem, delegateItem, type ReviewActor } from "../../workflows/review-decisions.js";
import { liftExclusion, listExclusions } from "../../workflows/review-exclusions.js";
import { startCampaign } from "../../workflows/review-generation.js";
import { campaignReport, ITEM_COLUMNS, itemRows } from "../../workflows/review-report.js";
import {
  campaignItems,
  type ItemScope,
  itemVisibleTo,
  listReviewItems,
  reviewerIdsFor,
  viewCampaigns,
  viewReviewItems,
} from "../../workflows/review-view.js";
import { toCsv } from "../../workflows/sod-reports.js";
import { BadRequestError } from "../api-errors.js";
import type { RouteDeps, RouteModule } from "../route-types.js";
import { decodeCursor, toPage } from "../schemas/common-schemas.js";
import {
  bulkBody,
  campaignDetailSchema,
  campaignListQuery,
  decisionBody,
  delegateBody,
  exclusionListQuery,
  exclusionSchema,
  idParams,
  itemCursor,
  itemListQuery,
  itemPage,
  liftBody,
  reportQuery,
  reviewCampaignSchema,
  reviewItemSchema,
  startBody,
  startOutcome,
} from "../schemas/review-schemas.js";
import { actorOf } from "./acting-person.js";

/** Roles that see every campaign's report and every item, not only their own. */
const SEES_ALL = new Set(["admin", "auditor"]);

const seesAll = (request: FastifyRequest): boolean => SEES_ALL.has(request.principal?.role ?? "");

/** The identity the token or session stands for, if any. */
async function personOf(deps: RouteDeps, request: FastifyRequest): Promise<Identity | null> {
  const id = request.principal?.identityId ?? null;
  return id === null ? null : ((await identityRepository.findById(deps.store.db, id)) ?? null);
}

/**
 * Who decides: the person (null for a token of nobody, which the workflow refuses), whether as admin,
 * and the actor the ledger records.
 */
async function reviewActor(deps: RouteDeps, request: FastifyRequest): Promise<ReviewActor> {
  return {
    person: await personOf(deps, request),
    asAdmin: request.principal?.role === "admin",
    label: actorOf(request),
  };
}

/** The caller's items when they do not see every item; null for admin and auditor; nothing for nobody. */
async function scopeOf(deps: RouteDeps, request: FastifyRequest): Promise<ItemScope | null | "none"> {
  if (seesAll(request)) return null;
  const me = request.principal?.identityId ?? null;
  if (me === null) return "none";
  return { personId: me, reviewerIds: await reviewerIdsFor(deps.store, me, deps.now()) };
}

const noSuchItem = (id: string) => new NotFoundError(`no review item has the id "${id}"`);

/** An item the caller may see: 404 alike for one that does not exist and one that is not theirs. */
async function visibleItem(deps: RouteDeps, request: FastifyRequest, id: string) {
  const item = await reviewItemRepository.find(deps.store.db, id);
  if (item === undefined) throw noSuchItem(id);
  const scope = await scopeOf(deps, request);
  if (scope === "none" || (scope !== null && !itemVisibleTo(item, scope))) throw noSuchItem(id);
  return item;
}

async function campaignOf(deps: RouteDeps, id: string) {
  const c = await reviewCampaignRepository.find(deps.store.db, id);
  if (c === undefined) throw new NotFoundError(`no campaign has the id "${id}"`);
  return c;
}

/**
 * Access reviews (docs/configuration.md `reviews`): campaigns with their counts and report, a reviewer's items
 * riskiest first with the evidence behind the risk, decisions one at a time or in bulk, delegation,
 * ad hoc starts and early closes, and the auditors' item report. A person sees and decides only the
 * items they review (or review for someone who delegated to them); admin and auditor see all.
 */
export const reviewRoutes: RouteModule = async (app, deps) => {
  const tags = ["reviews"];

  app.get(
    "/api/reviews/campaigns",
    {
      config: { permission: "review:read" },
      schema: {
        summary: "Campaigns, newest first, with their items by state and your own undecided ones",
        tags,
        querystring: campaignListQuery,
        response: { 200: z.object({ campaigns: z.array(reviewCampaignSchema) }) },
      },
    },
    async (request) => {
      const q = request.query;
      const campaigns = await reviewCampaignRepository.list(deps.store.db, {
        limit: q.limit,
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.definition !== undefined ? { definition: q.definition } : {}),
      });
      const me = request.principal?.identityId ?? null;
      const mine = me === null ? undefined : await reviewerIdsFor(deps.store, me, deps.now());
      return { campaigns: await viewCampaigns(deps.store, campaigns, mine) };
    },
  );

  app.post(
    "/api/reviews/campaigns",
    {
      config: { permission: "review:manage" },
      schema: {
        summary:
          "Start a campaign of tenure.yaml `reviews.campaigns` now (ad hoc); its reviewers are notified",
        description:
          "404 `not_found` for a name tenure.yaml does not define; 200 with campaign null when nothing is in scope.",
        tags,
        body: startBody,
        response: { 200: startOutcome, 201: startOutcome },
      },
    },
    async (request, reply) => {
      const started = await startCampaign(deps.store.db, deps.config, request.body.definition, {
        now: deps.now(),
        startedBy: request.principal?.identityId ?? actorOf(request),
        kind: "ad-hoc",
      });
      if (started.campaign === null) return reply.code(200).send({ campaign: null, items: 0 });
      const me = request.principal?.identityId ?? null;
      const mine = me === null ? undefined : await reviewerIdsFor(deps.store, me, deps.now());
      const [view] = await viewCampaigns(deps.store, [started.campaign], mine);
      return reply.code(201).send({ campaign: view!, items: started.items });
    },
  );

  app.get(
    "/api/reviews/campaigns/:id",
    {
      config: { permission: "review:read" },
      schema: {
        summary: "One campaign with its counts, and its report for admin and auditor",
        tags,
        params: idParams,
        response: { 200: campaignDetailSchema },
      },
    },
    async (request) => {
      const c = await campaignOf(deps, request.params.id);
      const me = request.principal?.identityId ?? null;
      const mine = me === null ? undefined : await reviewerIdsFor(deps.store, me, deps.now());
      const [campaign] = await viewCampaigns(deps.store, [c], mine);
      return {
        campaign: campaign!,
        report: seesAll(request) ? await campaignReport(deps.store, c.id, deps.now()) : null,
      };
    },
  );

  app.get(
    "/api/reviews/exclusions",
    {
      config: { permission: "review:manage" },
      schema: {
        summary: "Birthright access reviewers refused: kept out of the plan for the holder's employment",
        tags,
        querystring: exclusionListQuery,
        response: { 200: z.object({ exclusions: z.array(exclusionSchema) }) },
      },
    },
    async (request) => {
      const identity = request.query.identity;
      const who =
        identity === undefined ? undefined : await identityRepository.resolve(deps.store.db, identity);
      if (identity !== undefined && who === undefined)
        throw new NotFoundError(`no identity is "${identity}"`);
      return {
        exclusions: await listExclusions(deps.store, who === undefined ? {} : { identityId: who.id }),
      };
    },
  );

  app.post(
    "/api/reviews/exclusions/:id/lift",
    {
      config: { permission: "review:manage" },
      schema: {
        summary: "Lift an exclusion (the refusal was a mistake): the plan gives the access again, at once",
        description:
          "422 `reason_required` without a reason; 404 for an unknown or already lifted exclusion.",
        tags,
        params: idParams,
        body: liftBody,
        response: { 200: z.object({ exclusion: exclusionSchema }) },
      },
    },
    async (request) => {
      const { exclusion } = await liftExclusion(
        deps.store,
        deps.config,
        { id: request.params.id, reason: request.body.reason },
        { now: deps.now(), actor: actorOf(request) },
      );
      return { exclusion };
    },
  );

  app.post(
    "/api/reviews/campaigns/:id/close",
    {
      config: { permission: "review:manage" },
      schema: {
        summary:
          "Close a campaign before its deadline: each undecided item follows onNoResponse for its risk",
        description:
          "An `escalate` outcome moves the items to their reviewers' managers and extends the deadline once instead: the campaign stays open. 409 `campaign_closed` when it is closed already.",
        tags,
        params: idParams,
        response: { 200: campaignDetailSchema },
      },
    },
    async (request) => {
      const now = deps.now();
      const c = await closeCampaign(deps.store, deps.config, request.params.id, {
        now,
        actor: actorOf(request),
        by: await personOf(deps, request),
      });
      const [campaign] = await viewCampaigns(deps.store, [c]);
      return { campaign: campaign!, report: await campaignReport(deps.store, c.id, now) };
    },
  );

  app.get(
    "/api/reviews/campaigns/:id/report",
    {
      config: { permission: "review:read" },
      schema: {
        summary:
          "Every item of a campaign with its decision, as CSV or JSON for auditors (a reviewer: only their own items)",
        tags,
        params: idParams,
        querystring: reportQuery,
        response: {
          200: z.union([
            z.object({ campaign: z.string(), rows: z.array(z.record(z.string(), z.unknown())) }),
            z.string(),
          ]),
        },
      },
    },
    async (request, reply) => {
      const c = await campaignOf(deps, request.params.id);
      const scope = await scopeOf(deps, request);
      let rows = await itemRows(deps.store, c.id);
      if (scope !== null) {
        const visible =
          scope === "none"
            ? new Set<string>()
            : new Set((await campaignItems(deps.store, c.id, scope)).map((i) => i.id));
        rows = rows.filter((r) => visible.has(String(r.item)));
      }
      if (request.query.format === "csv") {
        return reply
          .header("content-type", "text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="review-${c.id}.csv"`)
          .send(toCsv(rows, ITEM_COLUMNS));
      }
      return { campaign: c.id, rows };
    },
  );

  app.get(
    "/api/reviews/items",
    {
      config: { permission: "review:read" },
      schema: {
        summary:
          "Review items riskiest first: yours (and those of whoever delegated to you), or every item (admin, auditor)",
        tags,
        querystring: itemListQuery,
        response: { 200: itemPage },
      },
    },
    async (request) => {
      const q = request.query;
      const all = seesAll(request);
      const me = request.principal?.identityId ?? null;
      const view = q.view ?? (me === null && all ? "all" : "mine");
      if (view === "all" && !all) {
        throw new TenureError(
          "forbidden",
          "only admin and auditor see every review item: ask for view=mine",
          {
            httpStatus: 403,
          },
        );
      }
      if (q.reviewer !== undefined && view !== "all") {
        throw new BadRequestError("query.reviewer", "filters view=all only");
      }
      const after = decodeCursor(q.cursor, itemCursor);
      let reviewerIds: string[] | undefined;
      if (view === "mine") {
        reviewerIds = me === null ? [] : await reviewerIdsFor(deps.store, me, deps.now());
      } else if (q.reviewer !== undefined) {
        const found = await identityRepository.resolve(deps.store.db, q.reviewer);
        if (found === undefined) throw new NotFoundError(`no identity matches "${q.reviewer}"`);
        reviewerIds = [found.id];
      }
      const rows =
        reviewerIds !== undefined && reviewerIds.length === 0
          ? []
          : await listReviewItems(deps.store, {
              limit: q.limit + 1,
              ...(reviewerIds !== undefined ? { reviewerIds } : {}),
              ...(q.campaign !== undefined ? { campaignId: q.campaign } : {}),
              ...(q.state !== undefined ? { states: [q.state] } : {}),
              ...(after !== undefined ? { after } : {}),
            });
      const page = toPage(rows, q.limit, (last) => ({ score: last.risk.score, id: last.id }));
      return { items: await viewReviewItems(deps.store, page.items), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/api/reviews/items/:id",
    {
      config: { permission: "review:read" },
      schema: {
        summary:
          "One item: the holder, the access, the risk with its reasons, and the evidence with its lineage",
        description: "404 alike for an item that does not exist and one that is not yours.",
        tags,
        params: idParams,
        response: { 200: reviewItemSchema },
      },
    },
    async (request) => {
      const item = await visibleItem(deps, request, request.params.id);
      return (await viewReviewItems(deps.store, [item]))[0]!;
    },
  );

  app.post(
    "/api/reviews/items/:id/decision",
    {
      config: { permission: "review:decide" },
      schema: {
        summary: "Certify or revoke one item (a revocation needs a comment saying why)",
        description:
          "By the item's reviewer or someone they delegated to, never its holder. 404 for an item the caller may not see (as if it did not exist); 403 `self_review`, `not_your_item`, `no_person`; 409 `campaign_closed`, `already_decided`, `decided_concurrently`; 422 `reason_required`. A refusal changes nothing.",
        tags,
        params: idParams,
        body: decisionBody,
        response: { 200: reviewItemSchema },
      },
    },
    async (request) => {
      // Someone who may not see the item learns nothing of it, not even that it exists.
      await visibleItem(deps, request, request.params.id);
      const item = await decideItem(
        deps.store,
        deps.config,
        {
          itemId: request.params.id,
          decision: request.body.decision,
          ...(request.body.comment !== undefined ? { comment: request.body.comment } : {}),
        },
        await reviewActor(deps, request),
        deps.now(),
      );
      return (await viewReviewItems(deps.store, [item]))[0]!;
    },
  );

  app.post(
    "/api/reviews/items/decisions",
    {
      config: { permission: "review:decide" },
      schema: {
        summary: "One decision on many items with one comment: low-risk, non-privileged items only",
        description:
          "All or nothing: one item that may not be decided in bulk (privileged, over the campaign's bulkMaxRisk, not yours) refuses the whole batch, naming it.",
        tags,
        body: bulkBody,
        response: { 200: z.object({ decided: z.array(reviewItemSchema) }) },
      },
    },
    async (request) => {
      const result = await decideBulk(
        deps.store,
        deps.config,
        request.body,
        await reviewActor(deps, request),
        deps.now(),
      );
      return { decided: await viewReviewItems(deps.store, result.decided) };
    },
  );

  app.post(
    "/api/reviews/items/:id/delegate",
    {
      config: { permission: "review:decide" },
      schema: {
        summary: "Hand an undecided item to another reviewer (its reviewer, or an admin reassigning it)",
        description: "Never to the holder (403 `self_review`) nor to its reviewer (409 `same_reviewer`).",
        tags,
        params: idParams,
        body: delegateBody,
        response: { 200: reviewItemSchema },
      },
    },
    async (request) => {
      await visibleItem(deps, request, request.params.id);
      const item = await delegateItem(
        deps.store,
        deps.config,
        {
          itemId: request.params.id,
          to: request.body.to,
          ...(request.body.comment !== undefined ? { comment: request.body.comment } : {}),
        },
        await reviewActor(deps, request),
        deps.now(),
      );
      return (await viewReviewItems(deps.store, [item]))[0]!;
    },
  );
};
