import { planTotals } from "../../engine/access-queries.js";
import { connectorPool } from "../../engine/provision.js";
import { reconcileSystems } from "../../engine/reconcile.js";
import { runSync } from "../../engine/run-sync.js";
import { withSyncLock } from "../../store/run-lock.js";
import { BadRequestError } from "../api-errors.js";
import { requireConfirmer } from "../auth/mass-change-confirmer.js";
import { isConfiguredSystem, type RouteModule, unknownSystem } from "../route-types.js";
import { reconcileBody, reconcileResultSchema, syncBody, syncResultSchema } from "../schemas/run-schemas.js";

/**
 * Triggers: a sync (sources → identities → provisioning) and a reconcile (systems → accounts), the
 * same functions as `tenure sync` and `tenure reconcile`, one run at a time. A sync stopped by
 * mass-change protection answers 409 `mass_change` with the counts and the plan hash, and changes
 * nothing but its one `mass-change.stopped` audit event; `confirmMassChange: "<planHash>"` (admins only)
 * applies exactly that plan, or answers 409 `plan_changed` with the new hash, audited with the token's name.
 */
export const runRoutes: RouteModule = async (app, deps) => {
  const tags = ["runs"];

  app.post(
    "/api/sync",
    {
      config: { permission: "sync:run" },
      schema: {
        summary: "Run a sync: read the sources, apply the lifecycle, plan and apply provisioning",
        description:
          "With dryRun, only plans and changes nothing. 409 `mass_change` (with counts) when the run would " +
          "terminate, disable or delete more than lifecycle.massChangeThreshold (nothing written; error.planHash " +
          "names the plan); confirmMassChange with that hash applies exactly it, 409 `plan_changed` (with the " +
          "new hash) when the plan computed now differs; 409 `run_in_progress` when a run is going.",
        tags,
        body: syncBody,
        response: { 200: syncResultSchema },
      },
    },
    async (request) => {
      const body = request.body;
      if (body.confirmMassChange !== undefined) requireConfirmer(request.principal);
      if (body.source !== undefined && !Object.hasOwn(deps.config.sources, body.source)) {
        throw new BadRequestError("body.source", `"${body.source}" is not a configured source`);
      }
      const run = await deps.runs.exclusive("sync", () =>
        withSyncLock(
          deps.store,
          { dryRun: body.dryRun, command: "api POST /api/sync", now: deps.now() },
          () =>
            runSync(deps.store, deps.config, {
              now: deps.now(),
              actor: request.principal?.actor ?? "api",
              dryRun: body.dryRun,
              ...(body.confirmMassChange !== undefined ? { confirmMassChange: body.confirmMassChange } : {}),
              ...(body.source !== undefined ? { source: body.source } : {}),
            }),
        ),
      );
      const { sources, plan, provisioned, massChange } = run;
      return {
        massChange,
        sources,
        plan:
          body.dryRun && plan
            ? { totals: planTotals(plan.operations), operations: plan.operations, problems: plan.problems }
            : null,
        provisioning: provisioned && {
          planned: provisioned.plan.operations.length,
          queued: provisioned.queued?.queued.length ?? 0,
          problems: provisioned.plan.problems,
          applied: provisioned.applied?.summary ?? null,
          dead: provisioned.applied?.dead ?? [],
        },
      };
    },
  );

  app.post(
    "/api/reconcile",
    {
      config: { permission: "reconcile:run" },
      schema: {
        summary: "Reconcile: read every account from the systems, report orphans and drift",
        description:
          "Each system is reconciled in turn, and one that cannot be reached or read does not stop the others: " +
          "200 when every system was reconciled, 207 when any failed, with each system's outcome " +
          "(`reconciled` with its report, or `failed` with the reason). 409 `run_in_progress` when a run is going.",
        tags,
        body: reconcileBody,
        response: { 200: reconcileResultSchema, 207: reconcileResultSchema },
      },
    },
    async (request, reply) => {
      const { system } = request.body;
      if (system !== undefined && !isConfiguredSystem(deps.config, system)) {
        throw unknownSystem(deps.config, system);
      }
      const names = system === undefined ? Object.keys(deps.config.policy.systems) : [system];
      const run = await deps.runs.exclusive("reconcile", async () => {
        const pool = connectorPool(deps.config);
        try {
          return await reconcileSystems(deps.store, deps.config, names, pool, {
            now: deps.now,
            actor: request.principal?.actor ?? "api",
          });
        } finally {
          await pool.closeAll();
        }
      });
      reply.code(run.failed > 0 ? 207 : 200);
      return run;
    },
  );
};
