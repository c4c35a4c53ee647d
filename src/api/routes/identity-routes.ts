import { z } from "zod";
import { identitySubjects, queryEvents } from "../../audit/ledger.js";
import type { Identity } from "../../domain/identity-types.js";
import { explainIdentity } from "../../engine/access-queries.js";
import { NotFoundError } from "../../shared/errors.js";
import type { Store } from "../../store/database.js";
import { identityRepository } from "../../store/identity-repository.js";
import { unprovisionedRepository } from "../../store/unprovisioned-repository.js";
import { BadRequestError } from "../api-errors.js";
import { isConfiguredSystem, type RouteModule } from "../route-types.js";
import { auditEventPage, seqCursor, timelineQuery, withSummary } from "../schemas/audit-schemas.js";
import { decodeCursor, toPage } from "../schemas/common-schemas.js";
import {
  accessQuery,
  explanationSchema,
  identityListQuery,
  identityPage,
  identityRefParams,
  identitySchema,
} from "../schemas/identity-schemas.js";

const idCursor = z.object({ id: z.string() });

const unprovisionedList = z
  .object({
    identities: z.array(
      z.object({
        identityId: z.string(),
        sourceKey: z.string().nullable().describe("the HR key"),
        system: z.string(),
        kind: z.string().describe("username-empty or username-taken"),
        message: z.string(),
        recordedAt: z.string(),
      }),
    ),
  })
  .meta({ id: "UnprovisionedIdentities" });

/** The identity a path names by id, source key or email, as the CLI resolves it. */
export async function resolveIdentity(store: Pick<Store, "db">, ref: string): Promise<Identity> {
  const identity = await identityRepository.resolve(store.db, ref);
  if (identity === undefined)
    throw new NotFoundError(`no identity matches "${ref}" (by id, source key or email)`);
  return identity;
}

/** Identities: the list, one, its effective access with lineage, its timeline. */
export const identityRoutes: RouteModule = async (app, deps) => {
  const tags = ["identities"];

  app.get(
    "/api/unprovisioned",
    {
      config: { permission: "identities:read" },
      schema: {
        summary: "Identities the last provisioning run could not give an account, per system, and why",
        description:
          "A username that renders empty (a name of symbols only, no usernameFallback) or is taken under " +
          "`collision: fail`. Replaced by every provisioning run; `tenure status` shows the same.",
        tags,
        response: { 200: unprovisionedList },
      },
    },
    async () => {
      const rows = await unprovisionedRepository.list(deps.store.db);
      const identities = await identityRepository.findByIds(
        deps.store.db,
        rows.map((r) => r.identityId),
      );
      return {
        identities: rows.map((r) => ({
          identityId: r.identityId,
          sourceKey: identities.get(r.identityId)?.sourceKey ?? null,
          system: r.system,
          kind: r.kind,
          message: r.message,
          recordedAt: r.recordedAt,
        })),
      };
    },
  );

  app.get(
    "/api/identities",
    {
      config: { permission: "identities:read" },
      schema: {
        summary: "List identities, filtered, a page at a time (by id)",
        tags,
        querystring: identityListQuery,
        response: { 200: identityPage },
      },
    },
    async (request) => {
      const q = request.query;
      const after = decodeCursor(q.cursor, idCursor);
      const rows = await identityRepository.list(deps.store.db, {
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.source !== undefined ? { source: q.source } : {}),
        ...(q.department !== undefined ? { department: q.department } : {}),
        ...(q.q !== undefined ? { search: q.q } : {}),
        ...(after !== undefined ? { after: after.id } : {}),
        limit: q.limit + 1,
      });
      return toPage(rows, q.limit, (last) => ({ id: last.id }));
    },
  );

  app.get(
    "/api/identities/:ref",
    {
      config: { permission: "identities:read" },
      schema: {
        summary: "One identity, by id, source key or email",
        tags,
        params: identityRefParams,
        response: { 200: identitySchema },
      },
    },
    async (request) => resolveIdentity(deps.store, request.params.ref),
  );

  app.get(
    "/api/identities/:ref/access",
    {
      config: { permission: "identities:read" },
      schema: {
        summary: "Effective access with lineage: why each role, account and entitlement is desired, or not",
        description: "What `tenure explain` computes, at the server's current time.",
        tags,
        params: identityRefParams,
        querystring: accessQuery,
        response: { 200: explanationSchema },
      },
    },
    async (request) => {
      const identity = await resolveIdentity(deps.store, request.params.ref);
      const { system, entitlement } = request.query;
      if (system !== undefined && !isConfiguredSystem(deps.config, system)) {
        throw new BadRequestError("query.system", `"${system}" is not a configured system`);
      }
      return explainIdentity(deps.store, deps.config, identity, deps.now(), {
        ...(system !== undefined ? { system } : {}),
        ...(entitlement !== undefined ? { entitlement } : {}),
      });
    },
  );

  app.get(
    "/api/identities/:ref/timeline",
    {
      config: { permission: "identities:read" },
      schema: {
        summary: "The identity's audit events, oldest first, a page at a time",
        tags,
        params: identityRefParams,
        querystring: timelineQuery,
        response: { 200: auditEventPage },
      },
    },
    async (request) => {
      const identity = await resolveIdentity(deps.store, request.params.ref);
      const after = decodeCursor(request.query.cursor, seqCursor);
      const events = await queryEvents(deps.store.db, {
        subject: identitySubjects(identity.id),
        ...(after !== undefined ? { afterSeq: after.seq } : {}),
        limit: request.query.limit + 1,
      });
      return toPage(events.map(withSummary), request.query.limit, (last) => ({ seq: last.seq }));
    },
  );
};
