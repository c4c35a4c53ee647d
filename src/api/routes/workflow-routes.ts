import { z } from "zod";
import { closestMatch } from "../../shared/did-you-mean.js";
import { TenureError } from "../../shared/errors.js";
import { handleWorkflowEvent, verifyWorkflowEvent } from "../../workflows/workflow-events.js";
import type { RouteModule } from "../route-types.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The body as received, for routes that check a signature over it. */
    rawBody?: string;
  }
}

/**
 * Elevation bound to a workflow (docs/requests.md "Workflow-bound elevation"): an incident or change
 * system posts signed open / close events; open elevates the responders, close revokes. Public in the
 * sense of needing no token: the HMAC signature with the workflow's shared secret is the authentication.
 */
export const workflowRoutes: RouteModule = async (app, deps) => {
  // The signature is over the bytes sent: keep them (this parser applies to this module's routes only).
  app.addContentTypeParser(
    "application/json",
    { parseAs: "string", bodyLimit: 256 * 1024 },
    (request, body, done) => {
      request.rawBody = body as string;
      try {
        done(null, body === "" ? {} : JSON.parse(body as string));
      } catch {
        done(null, {});
      }
    },
  );

  app.post(
    "/api/workflows/:name/events",
    {
      config: { public: true },
      schema: {
        summary: "A signed open / close event of a workflow: elevates its responders, or revokes them",
        description:
          "Authenticated by an HMAC-SHA256 signature with the workflow's shared secret (X-Tenure-Timestamp and X-Tenure-Signature, or X-PagerDuty-Signature), not by a token. 401 unsigned or badly signed; 409 a replay (an event id seen before, or a timestamp outside the tolerance); 404 an unknown workflow.",
        tags: ["requests"],
        params: z.object({ name: z.string().min(1).max(100) }),
        body: z.unknown(),
        response: {
          200: z.object({
            event: z.object({ id: z.string(), kind: z.enum(["open", "close"]), incident: z.string() }),
            granted: z.array(
              z.object({ identity: z.string(), request: z.string(), until: z.string().nullable() }),
            ),
            refused: z.array(z.object({ responder: z.string(), reason: z.string() })),
            revoked: z.number().int(),
          }),
        },
      },
    },
    async (request) => {
      const workflows = deps.config.requests?.workflows ?? {};
      const name = request.params.name;
      const workflow = Object.hasOwn(workflows, name) ? workflows[name] : undefined;
      if (workflow === undefined) {
        const suggestion = closestMatch(name, Object.keys(workflows));
        throw new TenureError(
          "unknown_workflow",
          `no workflow named "${name}" under requests.workflows${suggestion ? ` — did you mean "${suggestion}"?` : ""}`,
          { httpStatus: 404 },
        );
      }
      const now = deps.now();
      const event = verifyWorkflowEvent(workflow, request.headers, request.rawBody ?? "", now);
      const outcome = await handleWorkflowEvent(deps.store, deps.config, workflow, event, now);
      return {
        event: { id: event.id, kind: event.kind, incident: event.incident },
        granted: outcome.granted,
        refused: outcome.refused,
        revoked: outcome.revoked,
      };
    },
  );
};
