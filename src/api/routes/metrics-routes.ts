import { z } from "zod";
import { connectorPool } from "../../engine/provision.js";
import { metricsRepository } from "../../store/metrics-repository.js";
import type { RouteModule } from "../route-types.js";
import { checkHealth } from "../system-health.js";
import { storeProblems } from "./health-routes.js";

/** An outbox message older than this, not yet sent, means delivery is stuck (SMTP or a webhook down). */
const OUTBOX_STUCK_SECONDS = 3600;

const dependencySchema = z.object({
  name: z.string().describe("database, migrations, system:NAME or outbox"),
  status: z.enum(["ok", "degraded", "failing"]),
  message: z.string().nullable().describe("what is wrong, when something is (no secret)"),
});

const dependenciesSchema = z.object({
  status: z.enum(["ok", "degraded", "failing"]).describe("the worst of the dependencies'"),
  checkedAt: z.string(),
  dependencies: z.array(dependencySchema),
});

type Dependency = z.output<typeof dependencySchema>;

/**
 * Monitoring (docs/operations.md "Monitoring"): the Prometheus exposition at `/metrics`, and which
 * dependency is failing at `/api/health/dependencies`. Both need a token whose role holds
 * `metrics:read` (the `monitor` role holds only that), since the counts say how big the organisation is.
 */
export const metricsRoutes: RouteModule = async (app, deps) => {
  app.get(
    "/metrics",
    {
      config: { permission: "metrics:read" },
      schema: {
        summary: "Prometheus metrics: operations, queue depth, leaver SLA, sources, scheduler, HTTP, process",
        tags: ["probes"],
        produces: ["text/plain"],
      },
    },
    async (_request, reply) => {
      const { text, contentType } = await deps.metrics.scrape(deps);
      return reply.type(contentType).send(text);
    },
  );

  app.get(
    "/api/health/dependencies",
    {
      config: { permission: "metrics:read" },
      schema: {
        summary:
          "Which dependency is failing: the database, migrations, each system (one read, bounded by server.healthTimeoutMs) and the outbox; 503 when one fails",
        tags: ["probes"],
        response: { 200: dependenciesSchema, 503: dependenciesSchema },
      },
    },
    async (_request, reply) => {
      const names = Object.keys(deps.config.policy.systems);
      const pool = connectorPool(deps.config);
      const dependencies: Dependency[] = [];
      try {
        const problems = await storeProblems(deps);
        for (const name of ["database", "migrations"] as const) {
          const problem = problems.find((p) => p.path === name);
          const skipped = name === "migrations" && problems.some((p) => p.path === "database");
          dependencies.push({
            name,
            status: problem !== undefined || skipped ? "failing" : "ok",
            message: problem?.message ?? (skipped ? "not checked: the database does not answer" : null),
          });
        }
        const health = await Promise.all(
          names.map((name) => checkHealth(() => pool.get(name), deps.config.server.healthTimeoutMs)),
        );
        names.forEach((name, i) => {
          const h = health[i]!;
          dependencies.push({
            name: `system:${name}`,
            status: h.status === "ok" ? "ok" : "failing",
            message: h.message,
          });
        });
        if (problems.length === 0) {
          const outbox = await metricsRepository.notifications(deps.store.db);
          const dead = outbox.byState.dead ?? 0;
          const waitingSeconds =
            outbox.oldestWaiting === null
              ? 0
              : (deps.now().getTime() - Date.parse(outbox.oldestWaiting)) / 1000;
          const issues = [
            ...(dead > 0 ? [`${dead} message(s) dead: every delivery attempt failed`] : []),
            ...(waitingSeconds > OUTBOX_STUCK_SECONDS
              ? [`the oldest message has waited ${Math.round(waitingSeconds / 60)} minutes`]
              : []),
          ];
          dependencies.push({
            name: "outbox",
            status: issues.length > 0 ? "degraded" : "ok",
            message: issues.length > 0 ? issues.join("; ") : null,
          });
        }
      } finally {
        await pool.closeAll();
      }
      const status = dependencies.some((d) => d.status === "failing")
        ? "failing"
        : dependencies.some((d) => d.status === "degraded")
          ? "degraded"
          : "ok";
      return reply
        .code(status === "failing" ? 503 : 200)
        .send({ status, checkedAt: deps.now().toISOString(), dependencies });
    },
  );
};
