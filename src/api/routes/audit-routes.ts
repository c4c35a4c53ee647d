import { queryEvents } from "../../audit/ledger.js";
import { listPublishedHeads } from "../../audit/ledger-publish.js";
import { loadSigningKey, publicKeyPem } from "../../audit/ledger-signing.js";
import type { RouteModule } from "../route-types.js";
import {
  auditEventPage,
  auditQuery,
  headsQuery,
  publishedHeadPage,
  seqCursor,
  withSummary,
} from "../schemas/audit-schemas.js";
import { decodeCursor, toPage } from "../schemas/common-schemas.js";
import { resolveIdentity } from "./identity-routes.js";

/** The audit ledger, read a page at a time. */
export const auditRoutes: RouteModule = async (app, deps) => {
  app.get(
    "/api/audit/events",
    {
      config: { permission: "audit:read" },
      schema: {
        summary: "Audit events, oldest first, filtered, a page at a time",
        tags: ["audit"],
        querystring: auditQuery,
        response: { 200: auditEventPage },
      },
    },
    async (request) => {
      const q = request.query;
      const subject =
        q.identity === undefined ? undefined : (await resolveIdentity(deps.store, q.identity)).id;
      const after = decodeCursor(q.cursor, seqCursor);
      const events = await queryEvents(deps.store.db, {
        ...(subject !== undefined ? { subject } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.until !== undefined ? { until: q.until } : {}),
        ...(after !== undefined ? { afterSeq: after.seq } : {}),
        limit: q.limit + 1,
      });
      return toPage(events.map(withSummary), q.limit, (last) => ({ seq: last.seq }));
    },
  );

  app.get(
    "/api/audit/heads",
    {
      config: { permission: "audit:read" },
      schema: {
        summary: "Signed ledger heads Tenure published, newest first, with the public key to check them",
        tags: ["audit"],
        querystring: headsQuery,
        response: { 200: publishedHeadPage },
      },
    },
    async (request) => {
      const q = request.query;
      const before = decodeCursor(q.cursor, seqCursor);
      const heads = await listPublishedHeads(deps.store.db, {
        limit: q.limit + 1,
        ...(before !== undefined ? { beforeSeq: before.seq } : {}),
      });
      // Only the public half leaves the server.
      const pem = deps.config.audit?.signing?.key;
      const key = pem === undefined ? undefined : loadSigningKey(pem);
      return {
        ...toPage(heads, q.limit, (last) => ({ seq: last.seq })),
        keyId: key?.keyId ?? null,
        publicKey: key === undefined ? null : publicKeyPem(key),
      };
    },
  );
};
