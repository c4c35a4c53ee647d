import { sql } from "kysely";
import { z } from "zod";
import { redactUrl } from "../../shared/redact.js";
import { pendingMigrations } from "../../store/database.js";
import { LATEST_MIGRATION } from "../../store/migrations/index.js";
import { apiErrorSchema } from "../api-errors.js";
import type { RouteDeps, RouteModule } from "../route-types.js";
import { openObject } from "../schemas/common-schemas.js";

const READY_TIMEOUT_MS = 3000;

const readySchema = z.object({
  status: z.literal("ready"),
  database: z.string().describe("the store, without credentials"),
  migration: z.string().describe("the latest migration, applied"),
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What keeps the store from serving, if anything: the database does not answer (within 3 s), or its
 * migrations are not all applied. `path` names the dependency: `database` or `migrations`.
 */
export async function storeProblems(
  deps: Pick<RouteDeps, "store">,
): Promise<Array<{ path: "database" | "migrations"; message: string }>> {
  try {
    await withTimeout(sql`select 1`.execute(deps.store.db), READY_TIMEOUT_MS, "the database");
    const pending = await withTimeout(
      pendingMigrations(deps.store.db, deps.store.schema),
      READY_TIMEOUT_MS,
      "the database",
    );
    return pending.length > 0
      ? [{ path: "migrations", message: `not applied yet: ${pending.join(", ")}` }]
      : [];
  } catch (err) {
    return [{ path: "database", message: `not reachable: ${redactUrl((err as Error).message)}` }];
  }
}

/** Probes and the API's own description: public, no token. */
export const healthRoutes: RouteModule = async (app, deps) => {
  app.get(
    "/api/health",
    {
      config: { public: true },
      schema: {
        summary: "Liveness: the process answers",
        tags: ["probes"],
        response: { 200: z.object({ status: z.literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/api/ready",
    {
      config: { public: true },
      schema: {
        summary: "Readiness: the database answers and its migrations are current (503 otherwise)",
        tags: ["probes"],
        response: { 200: readySchema, 503: apiErrorSchema },
      },
    },
    async (_request, reply) => {
      const problems = await storeProblems(deps);
      if (problems.length > 0) {
        return reply.code(503).send({
          error: { code: "not_ready", message: "not ready to serve requests", details: problems },
        });
      }
      return { status: "ready" as const, database: deps.store.describe, migration: LATEST_MIGRATION };
    },
  );

  app.get(
    "/api/openapi.json",
    {
      config: { public: true },
      schema: {
        summary: "This API's OpenAPI 3.1 document",
        tags: ["probes"],
        response: { 200: openObject({ openapi: z.string() }) },
      },
    },
    async () => app.swagger() as unknown as { openapi: string },
  );
};
