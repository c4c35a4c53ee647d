import { z } from "zod";
import { dashboardOf } from "../../engine/dashboard.js";
import type { RouteModule } from "../route-types.js";
import { lastReconcileSchema } from "../schemas/system-schemas.js";

const counts = z.record(z.string(), z.number().int());

const dashboardSchema = z
  .object({
    generatedAt: z.string(),
    identities: z.object({ total: z.number().int(), byState: counts }),
    leavers: z
      .object({
        withEnabledAccounts: z
          .number()
          .int()
          .describe("terminated identities with an enabled account: should be 0"),
        items: z.array(
          z.object({
            id: z.string(),
            sourceKey: z.string(),
            displayName: z.string(),
            state: z.string(),
            accounts: z.array(z.object({ system: z.string(), username: z.string() })),
          }),
        ),
      })
      .describe("the first 25 such leavers, with their enabled accounts"),
    operations: z.object({
      pending: z.number().int(),
      failed: z.number().int(),
      dead: z.number().int(),
      byState: counts,
    }),
    systems: z.array(
      z.object({
        name: z.string(),
        connector: z.string(),
        owner: z.string().nullable(),
        lastReconcile: lastReconcileSchema.nullable(),
      }),
    ),
    massChangeStops: z
      .array(
        z.object({
          seq: z.number().int(),
          time: z.string(),
          actor: z.string(),
          run: z.string(),
          planHash: z.string(),
          exceeded: z.array(
            z.looseObject({
              kind: z.string(),
              name: z.string(),
              disable: z.number(),
              delete: z.number(),
              total: z.number(),
            }),
          ),
        }),
      )
      .describe("runs stopped by mass-change protection in the last 7 days whose plan nobody confirmed"),
  })
  .meta({ id: "Dashboard" });

/** The console's first page in one read: identities, leavers still holding access, the queue, systems, stops. */
export const dashboardRoutes: RouteModule = async (app, deps) => {
  app.get(
    "/api/dashboard",
    {
      config: { permission: "identities:read" },
      schema: {
        summary:
          "The state of the installation: identities by state, leavers with access, operations, systems, mass-change stops",
        tags: ["dashboard"],
        response: { 200: dashboardSchema },
      },
    },
    async () => dashboardOf(deps.store, deps.config, deps.now()),
  );
};
