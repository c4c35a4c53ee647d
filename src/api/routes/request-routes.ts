import type { FastifyRequest } from "fastify";
import { z } from "zod";
import type { Identity } from "../../domain/identity-types.js";
import { approvalsIn } from "../../domain/request-machine.js";
import type { AccessRequest, RequestItem } from "../../domain/request-types.js";
import { NotFoundError, TenureError } from "../../shared/errors.js";
import { accessRequestRepository } from "../../store/access-request-repository.js";
import { delegationRepository } from "../../store/delegation-repository.js";
import { identityRepository } from "../../store/identity-repository.js";
import { createDelegation, standingInFor, waitingFor } from "../../workflows/delegations.js";
import { itemPolicy } from "../../workflows/request-approvers.js";
import type { CarriedOut } from "../../workflows/request-effects.js";
import { decide } from "../../workflows/request-effects.js";
import { revokeRequestAccess } from "../../workflows/request-revocation.js";
import { submitRequest } from "../../workflows/request-submission.js";
import { viewRequests } from "../../workflows/request-view.js";
import type { RouteDeps, RouteModule } from "../route-types.js";
import { decodeCursor, toPage } from "../schemas/common-schemas.js";
import {
  decisionBody,
  delegationBody,
  delegationSchema,
  elevationBody,
  extensionBody,
  newRequestBody,
  requestableSchema,
  requestCursor,
  requestIdParams,
  requestListQuery,
  requestOutcomeSchema,
  requestPage,
  requestSchema,
} from "../schemas/request-schemas.js";
import { actingPerson, actorOf } from "./acting-person.js";

/** Roles that see every request (an operator's and an auditor's view), not only their own. */
const SEES_ALL = new Set(["admin", "auditor"]);

/** The person the caller is; a token acting for nobody cannot ask, decide or revoke as a person. */
const caller = (deps: RouteDeps, request: FastifyRequest): Promise<Identity> =>
  actingPerson(deps, request, "requests and decisions are a person's");

/** Whether the caller may see `r`: a party, an approver, decider or stand-in of it, or an admin / auditor. */
async function maySee(deps: RouteDeps, request: FastifyRequest, r: AccessRequest): Promise<boolean> {
  if (SEES_ALL.has(request.principal?.role ?? "")) return true;
  const me = request.principal?.identityId;
  if (me === null || me === undefined) return false;
  return (
    r.requesterId === me ||
    r.beneficiaryId === me ||
    r.steps.some((s) => s.approvers.includes(me)) ||
    r.decisions.some((d) => d.by === me || d.onBehalfOf === me) ||
    (r.state === "pending" && (await standingInFor(deps.store, r, me, deps.now())) !== null)
  );
}

/**
 * Whether the caller may decide `r` now, and for whom: an approver of its waiting step who has not
 * approved it yet, or the stand-in of one (a delegation in force); never a party of it.
 */
async function decisionOf(
  deps: RouteDeps,
  request: FastifyRequest,
  r: AccessRequest,
): Promise<{ mayDecide: boolean; standingInFor: string | null }> {
  const me = request.principal?.identityId ?? null;
  const step = r.steps[r.currentStep];
  const no = { mayDecide: false, standingInFor: null };
  if (me === null || r.state !== "pending" || step === undefined) return no;
  if (me === r.requesterId || me === r.beneficiaryId) return no;
  const principal = step.approvers.includes(me) ? me : await standingInFor(deps.store, r, me, deps.now());
  if (principal === null || principal === r.requesterId || principal === r.beneficiaryId) return no;
  if (approvalsIn(r, r.currentStep).has(principal)) return no;
  return { mayDecide: true, standingInFor: principal === me ? null : principal };
}

/** The item in words: the role's description, or the entitlement's display name. */
function describeItem(deps: RouteDeps, item: RequestItem): string | null {
  const { policy } = deps.config;
  if (item.kind === "role") return policy.roles[item.role]?.description ?? null;
  return policy.entitlements[item.system]?.[item.entitlement]?.displayName ?? null;
}

/** What holding the item gives, system by system (a role's own grants and those of the roles it includes). */
function grantsOf(deps: RouteDeps, item: RequestItem): Array<{ system: string; entitlements: string[] }> {
  const { policy } = deps.config;
  if (item.kind === "entitlement") return [{ system: item.system, entitlements: [item.entitlement] }];
  const bySystem = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    const role = Object.hasOwn(policy.roles, name) ? policy.roles[name] : undefined;
    if (role === undefined || seen.has(name)) return;
    seen.add(name);
    for (const g of role.grants) {
      const set = bySystem.get(g.system) ?? new Set<string>();
      for (const e of g.entitlements) set.add(e);
      bySystem.set(g.system, set);
    }
    for (const included of role.includes) visit(included);
  };
  visit(item.role);
  return [...bySystem].map(([system, entitlements]) => ({ system, entitlements: [...entitlements] }));
}

async function outcome(deps: RouteDeps, carried: CarriedOut) {
  const [view] = await viewRequests(deps.store, [carried.request], { withGrants: true });
  return { request: view!, provisioning: carried.provisioning };
}

/**
 * Access requests and elevation (docs/requests.md): what the caller may ask for, their requests and those
 * waiting for them, asking, deciding, cancelling and ending granted access early. Person-level acts use
 * the identity the token or session stands for; the platform role only says which kinds are allowed.
 */
export const requestRoutes: RouteModule = async (app, deps) => {
  const tags = ["requests"];

  app.get(
    "/api/requestable",
    {
      config: { permission: "requests:read" },
      schema: {
        summary: "What can be requested or elevated to, with durations, steps and whether you are eligible",
        tags,
        response: { 200: requestableSchema },
      },
    },
    async (request) => {
      const id = request.principal?.identityId ?? null;
      const me = id === null ? undefined : await identityRepository.findById(deps.store.db, id);
      const { policy } = deps.config;
      const items = [
        ...Object.keys(policy.roles).map((role) => ({ kind: "role" as const, role })),
        ...Object.entries(policy.entitlements).flatMap(([system, defs]) =>
          Object.keys(defs).map((entitlement) => ({ kind: "entitlement" as const, system, entitlement })),
        ),
      ];
      return {
        items: items.flatMap((item) => {
          const found = itemPolicy(policy, item);
          if (typeof found === "string") return [];
          const r = found.requestable;
          return [
            {
              item,
              label: found.label,
              displayName: describeItem(deps, item),
              grants: grantsOf(deps, item),
              autoApproveWhen: r.autoApprove?.when.source ?? null,
              autoApproveQuota:
                r.autoApprove?.quota === null || r.autoApprove === null
                  ? null
                  : { max: r.autoApprove.quota.max, periodMs: r.autoApprove.quota.periodMs },
              elevation: found.elevation,
              defaultDurationMs: r.defaultDurationMs,
              maxDurationMs: r.maxDurationMs,
              approval: r.approval.map((s) => s.name),
              autoApprove: r.autoApprove !== null,
              eligible:
                me === undefined ? null : r.eligible === null || r.eligible.evaluate(me.attributes).value,
            },
          ];
        }),
      };
    },
  );

  app.get(
    "/api/requests",
    {
      config: { permission: "requests:read" },
      schema: {
        summary: "Requests: yours, those waiting for your decision, or all (admin, auditor), newest first",
        tags,
        querystring: requestListQuery,
        response: { 200: requestPage },
      },
    },
    async (request) => {
      const q = request.query;
      const seesAll = SEES_ALL.has(request.principal?.role ?? "");
      const me = request.principal?.identityId ?? null;
      const view = q.view ?? (me === null && seesAll ? "all" : "mine");
      if (view === "all" && !seesAll) {
        throw new TenureError(
          "forbidden",
          "only admin and auditor see every request: ask for view=mine or view=waiting",
          {
            httpStatus: 403,
          },
        );
      }
      const before = decodeCursor(q.cursor, requestCursor)?.id;
      let rows: AccessRequest[];
      if (view !== "all" && me === null) rows = [];
      else if (view === "waiting") {
        rows = await waitingFor(deps.store, me!, deps.now(), {
          limit: q.limit + 1,
          ...(before !== undefined ? { after: before } : {}),
        });
      } else {
        rows = await accessRequestRepository.list(deps.store.db, {
          ...(view === "mine" ? { identityId: me! } : {}),
          ...(q.state !== undefined ? { state: q.state } : {}),
          ...(before !== undefined ? { before } : {}),
          limit: q.limit + 1,
        });
      }
      const page = toPage(rows, q.limit, (last) => ({ id: last.id }));
      return { items: await viewRequests(deps.store, page.items), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/api/requests/:id",
    {
      config: { permission: "requests:read" },
      schema: {
        summary: "One request: its steps, decisions and the access it granted",
        description: "404 also when the request is not yours to see.",
        tags,
        params: requestIdParams,
        response: {
          200: z.object({
            request: requestSchema,
            mayDecide: z
              .boolean()
              .describe("whether you may approve or deny it now (as an approver, or standing in for one)"),
            standingInFor: z
              .object({ id: z.string(), name: z.string() })
              .nullable()
              .describe(
                "the approver you would decide for, through a delegation in force; null when deciding as yourself",
              ),
          }),
        },
      },
    },
    async (request) => {
      const found = await accessRequestRepository.find(deps.store.db, request.params.id);
      if (found === undefined || !(await maySee(deps, request, found))) {
        throw new NotFoundError(`no access request "${request.params.id}" that you may see`);
      }
      const [view] = await viewRequests(deps.store, [found], { withGrants: true });
      const decision = await decisionOf(deps, request, found);
      const standIn =
        decision.standingInFor === null
          ? null
          : await identityRepository.findById(deps.store.db, decision.standingInFor);
      return {
        request: view!,
        mayDecide: decision.mayDecide,
        standingInFor:
          standIn === undefined || standIn === null
            ? null
            : { id: standIn.id, name: standIn.attributes.displayName },
      };
    },
  );

  app.post(
    "/api/requests",
    {
      config: { permission: "requests:create" },
      schema: {
        summary: "Ask for requestable access, for yourself or a direct report",
        description:
          "422 with the reason when refused (not eligible, over the maximum, no justification…); 409 for a second pending request of the same item.",
        tags,
        body: newRequestBody,
        response: { 201: requestOutcomeSchema },
      },
    },
    async (request, reply) => {
      const me = await caller(deps, request);
      const b = request.body;
      const beneficiary =
        b.beneficiary === undefined ? me : await identityRepository.resolve(deps.store.db, b.beneficiary);
      if (beneficiary === undefined)
        throw new NotFoundError(`beneficiary ${b.beneficiary}: no such identity`);
      const carried = await submitRequest(
        deps.store,
        deps.config,
        {
          requesterId: me.id,
          beneficiaryId: beneficiary.id,
          items: b.items,
          justification: b.justification,
          ticket: b.ticket ?? null,
          ...(b.duration !== undefined ? { durationMs: b.duration } : {}),
        },
        { now: deps.now(), actor: actorOf(request) },
      );
      reply.code(201);
      return outcome(deps, carried);
    },
  );

  app.post(
    "/api/elevations",
    {
      config: { permission: "requests:create" },
      schema: {
        summary:
          "Elevate to an elevation role for a short window (approval or auto-approval by policy; or break-glass)",
        tags,
        body: elevationBody,
        response: { 201: requestOutcomeSchema },
      },
    },
    async (request, reply) => {
      const me = await caller(deps, request);
      const b = request.body;
      const carried = await submitRequest(
        deps.store,
        deps.config,
        {
          requesterId: me.id,
          items: [{ kind: "role", role: b.role }],
          justification: b.justification,
          ticket: b.ticket ?? null,
          durationMs: b.duration,
          kind: b.breakGlass ? "break-glass" : "elevation",
        },
        { now: deps.now(), actor: actorOf(request) },
      );
      reply.code(201);
      return outcome(deps, carried);
    },
  );

  app.get(
    "/api/delegations",
    {
      config: { permission: "requests:decide" },
      schema: {
        summary: "Your delegations: those you gave (while away) and those you hold",
        tags,
        response: { 200: z.object({ items: z.array(delegationSchema) }) },
      },
    },
    async (request) => {
      const id = request.principal?.identityId ?? null;
      return { items: id === null ? [] : await delegationRepository.listFor(deps.store.db, id) };
    },
  );

  app.post(
    "/api/delegations",
    {
      config: { permission: "requests:decide" },
      schema: {
        summary: "Hand your approval decisions to someone else for a window (while away)",
        description: "They decide as your stand-in, recorded as both; never on their own requests or yours.",
        tags,
        body: delegationBody,
        response: { 201: delegationSchema },
      },
    },
    async (request, reply) => {
      const me = await caller(deps, request);
      const to = await identityRepository.resolve(deps.store.db, request.body.to);
      if (to === undefined)
        throw new NotFoundError(`to: no identity has the id, HR key or email "${request.body.to}"`);
      const now = deps.now();
      const delegation = await createDelegation(
        deps.store,
        {
          delegatorId: me.id,
          delegateId: to.id,
          from: request.body.from === undefined ? now : new Date(request.body.from),
          until: new Date(request.body.until),
        },
        { now, actor: actorOf(request) },
      );
      reply.code(201);
      return delegation;
    },
  );

  app.post(
    "/api/requests/:id/extend",
    {
      config: { permission: "requests:create" },
      schema: {
        summary:
          "Prolong running access before it ends, approved by the same steps (the same assignment, no gap)",
        description: "409 access_ended when the access has already ended: ask again instead.",
        tags,
        params: requestIdParams,
        body: extensionBody,
        response: { 201: requestOutcomeSchema },
      },
    },
    async (request, reply) => {
      const me = await caller(deps, request);
      const original = await accessRequestRepository.find(deps.store.db, request.params.id);
      if (original === undefined || !(await maySee(deps, request, original))) {
        throw new NotFoundError(`no access request "${request.params.id}" that you may see`);
      }
      const carried = await submitRequest(
        deps.store,
        deps.config,
        {
          requesterId: me.id,
          beneficiaryId: original.beneficiaryId,
          items: original.items,
          justification: request.body.justification,
          ticket: request.body.ticket ?? null,
          durationMs: request.body.duration,
          kind: "extension",
          extendsRequest: original.id,
        },
        { now: deps.now(), actor: actorOf(request) },
      );
      reply.code(201);
      return outcome(deps, carried);
    },
  );

  for (const verdict of ["approve", "deny"] as const) {
    app.post(
      `/api/requests/:id/${verdict}`,
      {
        config: { permission: "requests:decide" },
        schema: {
          summary: `${verdict === "approve" ? "Approve" : "Deny"} a request waiting for your decision`,
          description:
            "403 when you may not decide it (the requester and the beneficiary never may); 409 when it is closed or expired.",
          tags,
          params: requestIdParams,
          body: decisionBody,
          response: { 200: requestOutcomeSchema },
        },
      },
      async (request) => {
        const me = await caller(deps, request);
        const carried = await decide(
          deps.store,
          deps.config,
          request.params.id,
          { kind: verdict, by: me.id, comment: request.body?.comment ?? null },
          { now: deps.now(), actor: actorOf(request) },
        );
        return outcome(deps, carried);
      },
    );
  }

  app.post(
    "/api/requests/:id/cancel",
    {
      config: { permission: "requests:create" },
      schema: {
        summary: "Withdraw a pending request (its requester or beneficiary, or an admin)",
        tags,
        params: requestIdParams,
        response: { 200: requestOutcomeSchema },
      },
    },
    async (request) => {
      const admin = request.principal?.role === "admin";
      const me = admin && !request.principal?.identityId ? null : await caller(deps, request);
      const carried = await decide(
        deps.store,
        deps.config,
        request.params.id,
        { kind: "cancel", by: me?.id ?? actorOf(request), asAdmin: admin },
        { now: deps.now(), actor: actorOf(request) },
      );
      return outcome(deps, carried);
    },
  );

  app.post(
    "/api/requests/:id/revoke",
    {
      config: { permission: "requests:create" },
      schema: {
        summary:
          "End the access a request granted now (its holder, an approver, or an admin), with the read-back receipt",
        tags,
        params: requestIdParams,
        body: z.object({ reason: z.string().max(2000).optional() }).default({}),
        response: {
          200: z.object({
            ended: z.array(
              z.object({
                assignment: z.string(),
                confirmed: z.boolean(),
                checks: z.array(
                  z.object({
                    system: z.string(),
                    username: z.string().nullable(),
                    entitlement: z.string().nullable(),
                    outcome: z.string(),
                    detail: z.string().optional(),
                  }),
                ),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const admin = request.principal?.role === "admin";
      const me = admin && !request.principal?.identityId ? null : await caller(deps, request);
      const ended = await revokeRequestAccess(deps.store, deps.config, request.params.id, {
        by: me?.id ?? null,
        asAdmin: admin,
        now: deps.now(),
        actor: actorOf(request),
        ...(request.body?.reason ? { reason: request.body.reason } : {}),
      });
      return {
        ended: [
          ...ended.confirmed.map((e) => ({
            assignment: e.assignment.id,
            confirmed: true,
            checks: e.receipt.checks,
          })),
          ...ended.unconfirmed.map((e) => ({
            assignment: e.assignment.id,
            confirmed: false,
            checks: e.receipt.checks,
          })),
        ],
      };
    },
  );
};
