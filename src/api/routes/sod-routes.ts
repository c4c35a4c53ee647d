import type { FastifyRequest } from "fastify";
import { z } from "zod";
import type { Identity } from "../../domain/identity-types.js";
import { scanSod } from "../../engine/sod-scan.js";
import { NotFoundError, TenureError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { sodExceptionRepository } from "../../store/sod-repository.js";
import { acceptViolation, revokeException } from "../../workflows/sod-exceptions.js";
import {
  listExceptions,
  listRules,
  listViolations,
  REPORT_COLUMNS,
  reportRows,
  scanTrend,
  showViolation,
  toCsv,
} from "../../workflows/sod-reports.js";
import type { RouteDeps, RouteModule } from "../route-types.js";
import {
  exceptionBody,
  exceptionQuery,
  idParams,
  reportParams,
  reportQuery,
  scanBody,
  scanOutcome,
  sodExceptionSchema,
  sodRuleSchema,
  sodScanSchema,
  sodViolationSchema,
  violationQuery,
} from "../schemas/sod-schemas.js";
import { actingPerson, actorOf } from "./acting-person.js";

/** The person deciding: exceptions are a person's act, recorded as theirs. */
const decider = (deps: RouteDeps, request: FastifyRequest): Promise<Identity> =>
  actingPerson(deps, request, "an exception is approved by a person");

/** An identity named in a query: its id, HR key or email. */
async function identityParam(deps: RouteDeps, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  const found = await identityRepository.resolve(deps.store.db, ref);
  if (found === undefined) throw new NotFoundError(`no identity matches "${ref}"`);
  return found.id;
}

/**
 * Separation of duties (docs/sod.md): the rules, open violations with their lineage, scans, exceptions
 * (accepted by the rule's owner or an admin, never the holder), the trend and the auditors' reports.
 */
export const sodRoutes: RouteModule = async (app, deps) => {
  const tags = ["sod"];

  app.get(
    "/api/sod/rules",
    {
      config: { permission: "sod:read" },
      schema: {
        summary: "The separation-of-duties rules, with their open violations",
        tags,
        response: { 200: z.object({ rules: z.array(sodRuleSchema) }) },
      },
    },
    async () => ({ rules: await listRules(deps.store, deps.config) }),
  );

  app.get(
    "/api/sod/violations",
    {
      config: { permission: "sod:read" },
      schema: {
        summary:
          "Open violations, riskiest first: who, which rule, the access on each side and why it is held",
        tags,
        querystring: violationQuery,
        response: { 200: z.object({ violations: z.array(sodViolationSchema) }) },
      },
    },
    async (request) => {
      const q = request.query;
      const identityId = await identityParam(deps, q.identity);
      return {
        violations: await listViolations(
          deps.store,
          deps.config,
          {
            ...(identityId !== undefined ? { identityId } : {}),
            ...(q.rule !== undefined ? { rule: q.rule } : {}),
            ...(q.severity !== undefined ? { severity: q.severity } : {}),
          },
          deps.now(),
        ),
      };
    },
  );

  app.get(
    "/api/sod/violations/:id",
    {
      config: { permission: "sod:read" },
      schema: {
        summary: "One violation, open or closed",
        tags,
        params: idParams,
        response: { 200: sodViolationSchema },
      },
    },
    async (request) => {
      const v = await showViolation(deps.store, deps.config, request.params.id, deps.now());
      if (v === undefined) throw new NotFoundError(`no violation has the id "${request.params.id}"`);
      return v;
    },
  );

  app.post(
    "/api/sod/scan",
    {
      config: { permission: "sod:scan" },
      schema: {
        summary: "Scan everyone (or one identity) against every rule now; new violations notify their owners",
        tags,
        body: scanBody,
        response: { 200: scanOutcome },
      },
    },
    async (request) => {
      const identityId = await identityParam(deps, request.body?.identity);
      const result = await scanSod(deps.store, deps.config, {
        now: deps.now(),
        actor: actorOf(request),
        ...(identityId !== undefined ? { identityIds: [identityId] } : {}),
      });
      return {
        scan: result.scan,
        opened: result.opened.length,
        closed: result.closed.length,
        open: result.open.length,
        upcoming: result.upcoming.length,
      };
    },
  );

  app.post(
    "/api/sod/violations/:id/exception",
    {
      config: { permission: "sod:decide" },
      schema: {
        summary:
          "Accept a violation until a date, with a mitigating control and a justification (rule owner or admin; never the holder)",
        tags,
        params: idParams,
        body: exceptionBody,
        response: { 201: sodExceptionSchema },
      },
    },
    async (request, reply) => {
      const me = await decider(deps, request);
      const now = deps.now();
      const e = await acceptViolation(
        deps.store,
        deps.config,
        {
          violationId: request.params.id,
          approverId: me.id,
          asAdmin: request.principal?.role === "admin",
          ...(request.body.control !== undefined ? { control: request.body.control } : {}),
          justification: request.body.justification,
          expiresAt: new Date(request.body.expiresAt),
        },
        { now, actor: actorOf(request) },
      );
      const [view] = (
        await listExceptions(deps.store, { identityId: e.identityId, rule: e.rule }, now)
      ).filter((x) => x.id === e.id);
      return reply.code(201).send(view!);
    },
  );

  app.get(
    "/api/sod/exceptions",
    {
      config: { permission: "sod:read" },
      schema: {
        summary: "Exceptions, newest first, with approver, control and expiry",
        tags,
        querystring: exceptionQuery,
        response: { 200: z.object({ exceptions: z.array(sodExceptionSchema) }) },
      },
    },
    async (request) => {
      const q = request.query;
      const identityId = await identityParam(deps, q.identity);
      return {
        exceptions: await listExceptions(
          deps.store,
          {
            ...(q.state !== undefined ? { state: q.state } : {}),
            ...(identityId !== undefined ? { identityId } : {}),
            ...(q.rule !== undefined ? { rule: q.rule } : {}),
          },
          deps.now(),
        ),
      };
    },
  );

  app.post(
    "/api/sod/exceptions/:id/revoke",
    {
      config: { permission: "sod:decide" },
      schema: {
        summary: "End an exception now: the violation is open again",
        tags,
        params: idParams,
        response: { 200: sodExceptionSchema },
      },
    },
    async (request) => {
      const me = await decider(deps, request);
      const now = deps.now();
      const e = await sodExceptionRepository.find(deps.store.db, request.params.id);
      if (e === undefined) throw new NotFoundError(`no exception has the id "${request.params.id}"`);
      const rule = deps.config.policy.sod?.rules[e.rule];
      const owner = rule?.owner ? await identityRepository.resolve(deps.store.db, rule.owner) : undefined;
      if (request.principal?.role !== "admin" && owner?.id !== me.id && e.approvedBy !== me.id) {
        throw new TenureError(
          "forbidden",
          `only the owner of rule ${e.rule}, the exception's approver or an admin revokes it; nothing was changed`,
          { httpStatus: 403 },
        );
      }
      await revokeException(deps.store, deps.config, e.id, me, { now, actor: actorOf(request) });
      const [view] = (
        await listExceptions(deps.store, { identityId: e.identityId, rule: e.rule }, now)
      ).filter((x) => x.id === e.id);
      return view!;
    },
  );

  app.get(
    "/api/sod/trend",
    {
      config: { permission: "sod:read" },
      schema: {
        summary: "Recent scans, oldest first: open violations by severity over time",
        tags,
        response: { 200: z.object({ scans: z.array(sodScanSchema) }) },
      },
    },
    async () => ({ scans: await scanTrend(deps.store) }),
  );

  app.get(
    "/api/sod/reports/:kind",
    {
      config: { permission: "sod:read" },
      schema: {
        summary:
          "Auditor reports as CSV or JSON: rules, violations (current), exceptions, history (opened/closed in from–to)",
        tags,
        params: reportParams,
        querystring: reportQuery,
        response: {
          200: z.union([z.object({ rows: z.array(z.record(z.string(), z.unknown())) }), z.string()]),
        },
      },
    },
    async (request, reply) => {
      const { kind } = request.params;
      const q = request.query;
      const rows = await reportRows(deps.store, deps.config, kind, {
        now: deps.now(),
        ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
        ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
      });
      if (q.format === "csv") {
        return reply
          .header("content-type", "text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="sod-${kind}.csv"`)
          .send(toCsv(rows, REPORT_COLUMNS[kind]));
      }
      return { rows };
    },
  );
};
