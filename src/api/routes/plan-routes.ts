import { previewPlan } from "../../engine/access-queries.js";
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
};
