import { z } from "zod";
import { explainAccess } from "../../workflows/provenance.js";
import type { RouteModule } from "../route-types.js";
import { instantQuery } from "../schemas/common-schemas.js";

const step = z.object({
  kind: z.string(),
  at: z.string().nullable(),
  seq: z.number().nullable(),
  text: z.string(),
  source: z.array(z.object({ line: z.number(), text: z.string() })).optional(),
});

const provenance = z.object({
  identity: z.object({ id: z.string(), key: z.string(), name: z.string().nullable() }),
  access: z.string(),
  at: z.string(),
  held: z.boolean(),
  configHash: z.string().nullable(),
  steps: z.array(step),
});

/** "Why did X have Y on date T", from the ledger (docs/audit.md). */
export const provenanceRoutes: RouteModule = async (app, deps) => {
  app.get(
    "/api/audit/why",
    {
      config: { permission: "audit:read" },
      schema: {
        summary:
          "Why an identity held an access at a date: HR record → rule as written then → role → grant, or request → approvals",
        tags: ["audit"],
        querystring: z.strictObject({
          identity: z.string().min(1).describe("id, HR key or email"),
          access: z.string().min(3).describe("SYSTEM:ENTITLEMENT"),
          at: instantQuery.optional().describe("default: now"),
        }),
        response: { 200: provenance },
      },
    },
    async (request) => {
      const q = request.query;
      return explainAccess(deps.store, deps.config, {
        identity: q.identity,
        access: q.access,
        at: q.at === undefined ? deps.now() : new Date(q.at),
      });
    },
  );
};
