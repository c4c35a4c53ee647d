import { z } from "zod";
import { previewPlan } from "../../engine/access-queries.js";
import { previewConfigChange } from "../../engine/config-change-preview.js";
import { previewNhiDisables } from "../../workflows/nhi-plan-preview.js";
import { BadRequestError } from "../api-errors.js";
import { isConfiguredSystem, type RouteModule } from "../route-types.js";
import { planPreviewSchema, planQuery } from "../schemas/run-schemas.js";

const nhiDisableSchema = z
  .object({
    nhiId: z.string(),
    name: z.string(),
    at: z.string().describe("when it would be disabled (ISO-8601)"),
    why: z.string().describe("who left, who did not confirm by when"),
    system: z.string().nullable(),
    account: z.string().nullable().describe("the account's username in `system`"),
    accountAction: z
      .enum(["disable", "disabled-already", "unenforced"])
      .describe(
        "disable: a disable queued and applied; disabled-already: held as it is; unenforced: Tenure cannot disable it",
      ),
    accountNote: z.string().nullable().describe("why unenforced, or the caveat of a disable that only flags"),
  })
  .meta({ id: "NhiDisableForecast" });

const planAnswerSchema = planPreviewSchema
  .extend({
    nhiDisables: z
      .array(nhiDisableSchema)
      .describe(
        "non-human identities owner succession would disable by `at` (nobody confirming a pending ownership), " +
          'soonest first, with their accounts (docs/nhi.md "Previewing disables"); empty without `nhi.policy`',
      ),
  })
  .meta({ id: "PlanAnswer" });

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
        response: { 200: planAnswerSchema },
      },
    },
    async (request) => {
      const { at, system } = request.query;
      if (system !== undefined && !isConfiguredSystem(deps.config, system)) {
        throw new BadRequestError("query.system", `"${system}" is not a configured system`);
      }
      const now = deps.now();
      const when = at === undefined ? now : new Date(at);
      const plan = await previewPlan(deps.store, deps.config, {
        at: when,
        future: at !== undefined,
        ...(system !== undefined ? { system } : {}),
      });
      // As `tenure plan --at`: the NHIs owner succession would disable by then, and their accounts.
      return { ...plan, nhiDisables: await previewNhiDisables(deps.store, deps.config, now, when, system) };
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
