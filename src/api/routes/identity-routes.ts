import { z } from "zod";
import { queryEvents } from "../../audit/ledger.js";
import type { Identity } from "../../domain/identity-types.js";
import { explainIdentity } from "../../engine/access-queries.js";
import { NotFoundError } from "../../shared/errors.js";
import type { Store } from "../../store/database.js";
import { identityRepository } from "../../store/identity-repository.js";
import { BadRequestError } from "../api-errors.js";
import { isConfiguredSystem, type RouteModule } from "../route-types.js";
import { auditEventPage, seqCursor, timelineQuery } from "../schemas/audit-schemas.js";
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
        subject: identity.id,
        ...(after !== undefined ? { afterSeq: after.seq } : {}),
        limit: request.query.limit + 1,
      });
      return toPage(events, request.query.limit, (last) => ({ seq: last.seq }));
    },
  );
};
