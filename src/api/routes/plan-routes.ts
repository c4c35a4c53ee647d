import { z } from "zod";
import { previewPlan } from "../../engine/access-queries.js";
import { previewConfigChange } from "../../engine/config-change-preview.js";
import { BadRequestError } from "../api-errors.js";
import { isConfiguredSystem, type RouteModule } from "../route-types.js";
import { planPreviewSchema, planQuery } from "../schemas/run-schemas.js";

/** The provisioning plan, previewed: what would change in every system, changing nothing. */
export const planRoutes: RouteModule = async (app, deps) => {
  app.get(
    "/api/plan",
    {
      config: { permission: "plan:read" },
      schema: {
        summary: "Preview the provisioning plan (as `tenure plan`), changing nothing",
        tags: ["plan"],
        querystring: planQuery,
        response: { 200: planPreviewSchema },
      },
    },
    async (request) => {
      const { at, system } = request.query;
      if (system !== undefined && !isConfiguredSystem(deps.config, system)) {
        throw new BadRequestError("query.system", `"${system}" is not a configured system`);
      }
      return previewPlan(deps.store, deps.config, {
        at: at === undefined ? deps.now() : new Date(at),
        future: at !== undefined,
        ...(system !== undefined ? { system } : {}),
      });
    },
  );

  const preview = planPreviewSchema.omit({ queue: true }).extend({ queue: planPreviewSchema.shape.queue });
  app.post(
    "/api/plan/preview",
    {
      config: { permission: "plan:read" },
      schema: {
        summary:
          "Preview a configuration change: the plan under a candidate tenure.yaml and its blast radius",
        description:
          "Changes nothing and contacts no system. 422 with every problem of the candidate at its line; " +
          "`$" +
          "{env:…}` and `$" +
          "{file:…}` references are refused (a preview never resolves them).",
        tags: ["plan"],
        body: z.strictObject({ config: z.string().min(1).describe("the candidate tenure.yaml, as text") }),
        response: {
          200: z.object({
            current: preview,
            candidate: preview,
            blastRadius: z.object({
              identities: z.number().int().describe("identities the change would touch"),
              operations: z.number().int(),
              bySystem: z.array(
                z.object({ system: z.string(), byKind: z.record(z.string(), z.number().int()) }),
              ),
            }),
            sod: z.object({
              newViolations: z
                .array(
                  z.object({
                    identityId: z.string(),
                    name: z.string(),
                    rule: z.string(),
                    severity: z.enum(["high", "medium", "low"]),
                    access: z.string(),
                    from: z.string(),
                    withheld: z.boolean(),
                  }),
                )
                .describe(
                  "identities the candidate would newly put in violation of a separation-of-duties rule",
                ),
            }),
          }),
        },
      },
    },
    async (request) => previewConfigChange(deps.store, deps.config, request.body.config, deps.now()),
  );
};
