import { z } from "zod";
import { retryDeadOperation } from "../../engine/enqueue.js";
import { operationRepository } from "../../store/operation-repository.js";
import type { RouteModule } from "../route-types.js";
import { decodeCursor, toPage } from "../schemas/common-schemas.js";
import {
  operationCursor,
  operationIdParams,
  operationListQuery,
  operationPage,
  operationSchema,
} from "../schemas/operation-schemas.js";

/** Durable provisioning operations: list them by state, put a dead one back in the queue. */
export const operationRoutes: RouteModule = async (app, deps) => {
  const tags = ["operations"];

  app.get(
    "/api/operations",
    {
      config: { permission: "operations:read" },
      schema: {
        summary: "List operations in queue order, by state, system and trace id, a page at a time",
        tags,
        querystring: operationListQuery,
        response: { 200: operationPage },
      },
    },
    async (request) => {
      const q = request.query;
      const after = decodeCursor(q.cursor, operationCursor);
      const rows = await operationRepository.list(deps.store.db, {
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.system !== undefined ? { system: q.system } : {}),
        ...(q.traceId !== undefined ? { traceId: q.traceId } : {}),
        ...(after !== undefined ? { after } : {}),
        limit: q.limit + 1,
      });
      return toPage(rows, q.limit, (last) => ({ seq: last.seq, id: last.id }));
    },
  );

  app.post(
    "/api/operations/:id/retry",
    {
      config: { permission: "operations:retry" },
      schema: {
        summary: "Put a dead operation back in the queue (audited, as `tenure operations retry`)",
        description:
          "404 when no dead operation has this id; 409 when the same change is queued again already.",
        tags,
        params: operationIdParams,
        response: { 200: z.object({ operation: operationSchema }) },
      },
    },
    async (request) => {
      const operation = await retryDeadOperation(deps.store, request.params.id, {
        now: deps.now(),
        actor: request.principal?.actor ?? "api",
      });
      return { operation };
    },
  );
};
