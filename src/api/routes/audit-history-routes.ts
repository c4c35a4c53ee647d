import { z } from "zod";
import { accessAt, whoHad } from "../../audit/access-history.js";
import { NotFoundError } from "../../shared/errors.js";
import type { RouteModule } from "../route-types.js";
import { instantQuery } from "../schemas/common-schemas.js";

const source = z.object({
  checkpointSeq: z
    .number()
    .nullable()
    .describe("the access checkpoint replay started from; null: the first event"),
  cutSeq: z.number().nullable().describe("the first event after `at`, not replayed; null: none"),
  events: z.number().describe("events replayed after the checkpoint"),
});

const row = z.object({
  identityId: z.string().nullable(),
  system: z.string(),
  username: z.string().nullable(),
  entitlement: z.string().nullable().describe("null: the account itself"),
  confirmed: z.object({
    held: z.boolean(),
    enabled: z.boolean().nullable(),
    since: z.string().nullable(),
    seq: z.number().nullable(),
    cause: z.string().nullable(),
  }),
  desired: z.object({
    wanted: z.boolean(),
    why: z.string(),
    source: z.enum(["operation", "assignment", "none"]),
    stage: z.enum(["queued", "succeeded"]).nullable(),
    kind: z.string().nullable(),
    at: z.string().nullable(),
    seq: z.number().nullable(),
  }),
});

const assignment = z.object({
  id: z.string(),
  identityId: z.string(),
  target: z.union([
    z.object({ system: z.string(), entitlement: z.string() }),
    z.object({ role: z.string() }),
  ]),
  validFrom: z.string(),
  validUntil: z.string().nullable(),
  request: z.string().nullable(),
  approvedBy: z.string().nullable(),
  endedAt: z.string().nullable(),
  inForce: z.boolean(),
  seq: z.number(),
});

/** Point in time (docs/audit.md): who had an access, and what one identity had, at any instant — from the ledger. */
export const auditHistoryRoutes: RouteModule = async (app, deps) => {
  app.get(
    "/api/audit/who-had",
    {
      config: { permission: "audit:read" },
      schema: {
        summary:
          "Who had an access (or any access) of a system at an instant: confirmed in the target and desired",
        tags: ["audit"],
        querystring: z.strictObject({
          system: z.string().min(1),
          entitlement: z.string().min(1).optional(),
          at: instantQuery.optional().describe("default: now"),
        }),
        response: {
          200: z.object({
            system: z.string(),
            entitlement: z.string().nullable(),
            at: z.string(),
            source,
            rows: z.array(row),
            identities: z.record(z.string(), z.object({ key: z.string(), name: z.string().nullable() })),
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const answer = await whoHad(deps.store.db, {
        system: q.system,
        ...(q.entitlement === undefined ? {} : { entitlement: q.entitlement }),
        at: q.at === undefined ? deps.now() : new Date(q.at),
      });
      if (answer.rows.length === 0 && deps.config.policy.systems[q.system] === undefined)
        throw new NotFoundError(`no system named ${q.system} is configured or recorded in the ledger`);
      return answer;
    },
  );

  app.get(
    "/api/audit/access",
    {
      config: { permission: "audit:read" },
      schema: {
        summary: "Every access one identity held, and was meant to hold, at an instant",
        tags: ["audit"],
        querystring: z.strictObject({
          identity: z.string().min(1).describe("id, HR key (as it was then) or email"),
          at: instantQuery.optional().describe("default: now"),
        }),
        response: {
          200: z.object({
            at: z.string(),
            identity: z.object({
              id: z.string(),
              key: z.string(),
              name: z.string().nullable(),
              state: z.string().nullable(),
              employment: z.number(),
              attributes: z.record(z.string(), z.unknown()),
              employments: z.array(z.object({ employment: z.number(), from: z.string() })),
            }),
            source,
            rows: z.array(row.extend({ employment: z.number().nullable() })),
            assignments: z.array(assignment),
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      return accessAt(deps.store.db, {
        identity: q.identity,
        at: q.at === undefined ? deps.now() : new Date(q.at),
      });
    },
  );
};
